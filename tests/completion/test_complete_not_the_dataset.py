"""`python -m prixlm.complete` blames `--dataset` only for faults of the dataset.

A read-only datasets cache (HF_HOME on a read-only mount) was reported as "config 'de' is
empty or unreadable ([Errno 30] Read-only file system: '.../datasets')", and a Hub id that
cannot be reached as an unreadable config too: the error now names the cache (as
evaluate_lp's does), or says that the Hub cannot be reached and how to work without it.
"""

from __future__ import annotations

import pytest
from cache_faults import read_only_datasets_cache, unreachable_hub

from prixlm.hub.hf_cache import HINT

HUB_ID = "me/prixlm-kb"


def _no_decoding(*args: object, **kwargs: object) -> None:
    raise AssertionError("the model was loaded although the dataset could not be")


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[str]:
    """`complete.main(argv)`'s stderr lines; it must exit with status 2."""
    from prixlm.complete import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    import prixlm.complete as complete

    monkeypatch.setattr(complete, "load_command_model", _no_decoding)
    monkeypatch.setattr(complete, "run_completion", _no_decoding)


def test_a_read_only_datasets_cache_is_named_not_the_dataset(
    completion_kb, no_model, tmp_path, monkeypatch, capsys
):
    dataset, model = completion_kb
    cache = tmp_path / "hf_home" / "datasets"
    read_only_datasets_cache(monkeypatch, cache)
    output = tmp_path / "new.nt"
    argv = ["--model", str(model), "--dataset", str(dataset), "--output", str(output),
            "--target_language", "de"]  # fmt: skip
    assert _run(argv, capsys) == [f"error: {cache} ({HINT}): Read-only file system"]
    assert not output.exists() and not output.with_suffix(".tsv").exists()


@pytest.mark.parametrize("configs_read", [False, True], ids=["configs", "rows"])
def test_a_hub_id_that_cannot_be_reached_says_so(
    completion_kb, no_model, tmp_path, monkeypatch, capsys, configs_read
):
    """No connection when its configs are read, or (their names cached) when its rows are:
    the second was reported as "config 'de' is empty or unreadable"."""
    _, model = completion_kb
    unreachable_hub(monkeypatch, tmp_path, configs_read)
    argv = ["--model", str(model), "--dataset", HUB_ID, "--output", str(tmp_path / "new.nt"),
            "--target_language", "de"]  # fmt: skip
    assert _run(argv, capsys) == [
        f"error: --dataset {HUB_ID}: cannot reach the Hub ([Errno 101] Network is unreachable); "
        "check the connection, set HF_HUB_OFFLINE=1 to use the copy in the Hugging Face "
        "cache, or pass a local build folder"
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == []
