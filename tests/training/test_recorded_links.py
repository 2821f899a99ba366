"""What a run records of its data: `links` as trained (true only where link rows were among
its facts, in `train_results.json` and in the run record a resume is compared with), and a
`--dataset_id` only when it is a Hub id (the model card links it)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from test_train_runs import _args

from prixlm.training.arguments import parse_training_arguments
from prixlm.training.data import training_rows
from prixlm.training.pretrain import pretrain

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "completion"))

from completion_kb import dataset_rows, write_dataset  # noqa: E402

STEPS = ["--max_steps", "3", "--save_steps", "3"]


def test_links_are_added_only_between_several_languages(tiny_dataset_dir: Path, tmp_path) -> None:
    """`--links` (true by default) adds nothing to one language's facts, nor from a dataset
    without a links config."""
    both, added = training_rows(tiny_dataset_dir, ["de", "en"], "all")
    assert added and "link" in set(both.unique("kind"))
    for languages, variant in ((["en"], "single"), (["en"], "all")):
        rows, added = training_rows(tiny_dataset_dir, languages, variant)
        assert added is False
        assert len(rows) == len(training_rows(tiny_dataset_dir, languages, variant, False)[0])
    assert training_rows(tiny_dataset_dir, ["de", "en"], "all", links=False)[1] is False
    configs = dataset_rows()
    del configs["links"]
    rows, added = training_rows(write_dataset(tmp_path / "no_links", configs), ["de", "en"], "all")
    assert added is False and "link" not in set(rows.unique("kind"))


def test_a_single_run_records_no_links_and_resumes_with_either_spelling(
    tiny_dataset_dir: Path, tmp_path, capsys
) -> None:
    """`--variant single` with `--links` true (the default) trained the same facts as with
    `--links false` but recorded links true, and a resume spelled `--links false` was
    refused as another run."""
    run = tmp_path / "run"
    single = {"languages": "en", "variant": "single"}
    release = pretrain(parse_training_arguments(_args(tiny_dataset_dir, run, *STEPS, **single)))
    results = json.loads((release / "train_results.json").read_text("utf-8"))
    assert results["links"] is False
    record = json.loads((run / "checkpoint-3" / "prixlm_run.json").read_text("utf-8"))
    assert record["arguments"]["links"] is False
    resume = ["--resume_from_checkpoint", "true", "--links", "false"]
    again = parse_training_arguments(_args(tiny_dataset_dir, run, *STEPS, *resume, **single))
    assert pretrain(again) == release
    assert "is finished (step 3)" in capsys.readouterr().err
    # a checkpoint of earlier code recorded `--links` as given (true): the same run
    stored = run / "checkpoint-3" / "prixlm_run.json"
    record["arguments"]["links"] = True
    stored.write_text(json.dumps(record), "utf-8")
    resume = ["--resume_from_checkpoint", "true"]
    again = parse_training_arguments(_args(tiny_dataset_dir, run, *STEPS, *resume, **single))
    assert pretrain(again) == release
    assert "is finished (step 3)" in capsys.readouterr().err


def test_a_run_that_trained_links_is_not_resumed_without_them(
    tiny_dataset_dir: Path, tmp_path
) -> None:
    """The earlier spelling is taken as the same run only where these data train no link:
    a checkpoint that trained links is not resumed with `--links false`."""
    from prixlm.cli import UsageError

    run = tmp_path / "run"
    both = {"languages": "de,en", "variant": "all"}
    pretrain(parse_training_arguments(_args(tiny_dataset_dir, run, *STEPS, **both)))
    record = json.loads((run / "checkpoint-3" / "prixlm_run.json").read_text("utf-8"))
    assert record["arguments"]["links"] is True
    resume = ["--resume_from_checkpoint", "true", "--links", "false"]
    again = parse_training_arguments(_args(tiny_dataset_dir, run, *STEPS, *resume, **both))
    with pytest.raises(UsageError, match=r"--links False \(the checkpoint's: True\)"):
        pretrain(again)


def test_a_dataset_id_that_is_no_hub_id_is_refused_before_any_work(
    tiny_dataset_dir: Path, tmp_path, capsys
) -> None:
    """A folder path went into the model card as a Hub dataset id (a broken link)."""
    import train

    run = tmp_path / "run"
    argv = _args(tiny_dataset_dir, run, *STEPS, "--dataset_id", "/data/my kb")
    with pytest.raises(SystemExit) as stopped:
        train.main(argv)
    assert stopped.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert "error: --dataset_id '/data/my kb': not a Hub repo id" in error[-1]
    assert not run.exists()
    parsed = parse_training_arguments(_args(tiny_dataset_dir, run, "--dataset_id", "me/kb"))
    assert parsed.data.dataset_id == "me/kb"
