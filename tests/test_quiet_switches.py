"""A command's quiet switch silences every progress bar it shows, the libraries' included.

`python -m prixlm.complete --no_progress`, `python -m prixlm.link_prediction.evaluate_lp
--no_progress` and `train.py --disable_tqdm true`: no bar drawn, neither the command's own
nor those transformers and datasets draw (model load, model save, dataset read, the
tokenising map). Counted as the tqdm bars created live (not disabled), as a log shows them.
"""

from __future__ import annotations

import pytest
import tqdm.std


@pytest.fixture
def live_bars(monkeypatch):
    """The descriptions of the tqdm bars created not disabled, in order."""
    drawn: list[str] = []
    original = tqdm.std.tqdm.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if not self.disable:
            drawn.append(str(self.desc))

    monkeypatch.setattr(tqdm.std.tqdm, "__init__", init)
    return drawn


def _library_bars_on() -> tuple[bool, bool, bool]:
    import datasets
    import huggingface_hub.utils as hub_utils
    from transformers.utils import logging as transformers_logging

    return (
        transformers_logging.is_progress_bar_enabled(),
        not datasets.are_progress_bars_disabled(),
        not hub_utils.are_progress_bars_disabled(),
    )


def _evaluate_argv(root, output, *extra: str) -> list[str]:
    return [
        "--model", str(root / "run" / "model"), "--dataset", str(root / "dataset"),
        "--languages", "en,de", "--limit", "2", "--num_beams", "5", "--output", str(output),
        *extra,
    ]  # fmt: skip


def test_evaluate_lp_no_progress_draws_no_bar(tiny_demo_output, tmp_path, live_bars):
    from prixlm.link_prediction.evaluate_lp import main

    main(_evaluate_argv(tiny_demo_output, tmp_path / "shown.json"))
    shown = list(live_bars)
    assert any(desc.startswith("link prediction") for desc in shown)
    assert any(desc.startswith("Loading weights") for desc in shown)  # transformers' own
    live_bars.clear()
    report = main(_evaluate_argv(tiny_demo_output, tmp_path / "quiet.json", "--no_progress"))
    assert live_bars == []
    assert set(report["results"]) == {"en", "de"}
    assert _library_bars_on() == (True, True, True)  # as the command found them


def test_complete_no_progress_draws_no_bar(tiny_demo_output, tmp_path, live_bars):
    from prixlm.complete import main

    argv = [
        "--model", str(tiny_demo_output / "run" / "model"),
        "--dataset", str(tiny_demo_output / "dataset"), "--target_language", "ja",
        "--limit", "3", "--num_beams", "5", "--threshold", "0",
    ]  # fmt: skip
    shown = main([*argv, "--output", str(tmp_path / "shown.nt")])
    assert any(desc.startswith("Loading weights") for desc in live_bars)
    live_bars.clear()
    quiet = main([*argv, "--output", str(tmp_path / "quiet.nt"), "--no_progress"])
    assert live_bars == []
    assert [p.score for p in quiet] == [p.score for p in shown]
    assert _library_bars_on() == (True, True, True)


def test_train_disable_tqdm_draws_no_bar(tiny_demo_output, tmp_path, live_bars):
    from demo_output import TINY_TRAINING

    import train

    argv = {"--dataset": str(tiny_demo_output / "dataset"), **TINY_TRAINING}
    args = [item for pair in argv.items() for item in pair]
    release = train.main([*args, "--output_dir", str(tmp_path / "quiet")])
    assert (release / "model.safetensors").is_file()
    assert live_bars == []
    assert _library_bars_on() == (True, True, True)
    shown = train.main([*args, "--output_dir", str(tmp_path / "shown"), "--disable_tqdm", "false"])
    assert (shown / "model.safetensors").is_file()
    assert any(desc.startswith("Writing model shards") for desc in live_bars)
