"""train.py blames `--dataset` only for faults of the dataset.

A read-only datasets cache (HF_HOME on a read-only mount) was reported as "--dataset ...:
cannot load config 'de' split 'train': [Errno 30] Read-only file system: '.../datasets'"
(also by `python -m prixlm.demo`, which has no `--dataset` option); a Hub id that cannot be
reached ended in a traceback when its configs were read, and as an unloadable config when
its rows were. The error now names the cache, or says the Hub cannot be reached.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cache_faults import read_only_datasets_cache, unreachable_hub

from prixlm.hub.hf_cache import HINT

HUB_ID = "me/prixlm-kb"
UNREACHABLE = (
    f"error: --dataset {HUB_ID}: cannot reach the Hub ([Errno 101] Network is unreachable); "
    "check the connection, set HF_HUB_OFFLINE=1 to use the copy in the Hugging Face cache, "
    "or pass a local build folder"
)


def _train(dataset: str | Path, output_dir: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """train.py's stderr lines for a tiny run on `dataset`; it must exit with status 2
    and write no run."""
    import train

    argv = ["--dataset", str(dataset), "--output_dir", str(output_dir), "--languages", "en,de",
            "--hidden_size", "32", "--num_hidden_layers", "2", "--num_attention_heads", "2",
            "--intermediate_size", "64", "--tokenizer_vocab_size", "120", "--max_steps", "4",
            "--warmup_steps", "0", "--lp_eval_queries", "0", "--report_to", "none"]  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        train.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert not (output_dir / "model").exists()
    return err.strip().splitlines()


def test_a_read_only_datasets_cache_is_named_not_the_dataset(
    tiny_dataset_dir, tmp_path, monkeypatch, capsys
):
    cache = tmp_path / "hf_home" / "datasets"
    read_only_datasets_cache(monkeypatch, cache)
    lines = _train(tiny_dataset_dir, tmp_path / "run", capsys)
    assert lines[-1] == f"error: {cache} ({HINT}): Read-only file system"


@pytest.mark.parametrize("configs_read", [False, True], ids=["configs", "rows"])
def test_a_hub_id_that_cannot_be_reached_says_so(tmp_path, monkeypatch, capsys, configs_read):
    """No connection when its configs are read (a traceback: `ConnectError` is no
    `OSError`), or, their names cached, when its rows are ("cannot load config 'de'")."""
    unreachable_hub(monkeypatch, tmp_path, configs_read)
    assert _train(HUB_ID, tmp_path / "run", capsys)[-1] == UNREACHABLE
