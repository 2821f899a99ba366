"""A checkpoint written by an earlier version is resumed only where it continues the same
run: a `group_by_length` or `batch_rebalance` run stopped mid-epoch under another batch order
rule is refused (the rest of its epoch would train some facts twice and skip others), one
stopped at an epoch's end goes on with a warning; the link prediction curve leaves out the
restored points that were ranked among other candidates, and says so."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
import torch
from test_train_runs import _args, _weights

from prixlm.cli import UsageError
from prixlm.training.arguments import parse_training_arguments
from prixlm.training.pretrain import pretrain
from prixlm.training.run_settings import SAMPLER_RULES, SamplerRuleWarning

#: 4 updates of 8 facts per epoch: checkpoint-4 ends the first epoch, checkpoint-6 is in
#: the middle of the second.
STEPS = ["--max_steps", "8", "--save_steps", "2"]
LP = {"lp_eval_queries": "2", "lp_eval_beams": "2", "lp_eval_split": "train"}
RESUME = ["--resume_from_checkpoint", "true"]


def _strategy(strategy: str, seed: str = "7") -> list[str]:
    return ["--train_sampling_strategy", strategy, "--seed", seed]


def _train(dataset: Path, output: Path, *extra: str, **overrides: str) -> Path:
    return pretrain(parse_training_arguments(_args(dataset, output, *STEPS, *extra, **overrides)))


def _record(checkpoint: Path) -> dict:
    return json.loads((checkpoint / "prixlm_run.json").read_text("utf-8"))


def _earlier_checkpoint(run: Path, step: int, output: Path, drop: str | None = None) -> Path:
    """`output` holding `run`'s checkpoint-`step` alone (a run stopped there), its record
    without `drop` (as an earlier version wrote it)."""
    checkpoint = output / f"checkpoint-{step}"
    shutil.copytree(run / checkpoint.name, checkpoint)
    if drop is not None:
        record = _record(checkpoint)
        del record[drop]
        (checkpoint / "prixlm_run.json").write_text(json.dumps(record), "utf-8")
    return checkpoint


def _same_weights(a: Path, b: Path) -> bool:
    first, second = _weights(a), _weights(b)
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


@pytest.fixture(scope="module")
def uninterrupted(tiny_dataset_dir, tmp_path_factory) -> dict[str, Path]:
    """Uninterrupted 8-step runs: `group_by_length`, `batch_rebalance` (seed 7) and
    `batch_rebalance` with the seed 42."""
    root = tmp_path_factory.mktemp("uninterrupted")
    runs = {
        "group_by_length": _strategy("group_by_length"),
        "batch_rebalance": _strategy("batch_rebalance"),
        "batch_rebalance_42": _strategy("batch_rebalance", seed="42"),
    }
    for name, options in runs.items():
        _train(tiny_dataset_dir, root / name, *options)
    return {name: root / name for name in runs}


@pytest.mark.parametrize("strategy", ["group_by_length", "batch_rebalance"])
def test_an_earlier_versions_checkpoint_stopped_mid_epoch_is_refused(
    strategy, uninterrupted, tiny_dataset_dir, tmp_path
):
    """Stopped at step 6 (1.5 epochs) by a version that recorded no batch order rule: the
    resume went on silently, and cut the rest of epoch 2 from another order (facts trained
    twice, others skipped)."""
    run = uninterrupted[strategy]
    assert _record(run / "checkpoint-6")["sampler"] == SAMPLER_RULES[strategy]
    checkpoint = _earlier_checkpoint(run, 6, tmp_path / "earlier", drop="sampler")
    with pytest.raises(UsageError) as refused:
        _train(tiny_dataset_dir, tmp_path / "earlier", *_strategy(strategy), *RESUME)
    message = str(refused.value)
    assert message.startswith(f"--resume_from_checkpoint {checkpoint}: ")
    rule = SAMPLER_RULES[strategy]
    assert f"--train_sampling_strategy {strategy} orders the facts by '{rule}'" in message
    assert "(none recorded: an earlier version's)" in message
    assert "stopped in the middle of epoch 2 (at 1.50 epochs)" in message
    assert "resume it with the version that made it" in message
    assert "\n" not in message
    assert not (tmp_path / "earlier" / "model").exists()  # nothing trained
    # a record naming another rule (a later version's): refused as well
    record = _record(checkpoint)
    record["sampler"] = f"{SAMPLER_RULES[strategy]}/other"
    (checkpoint / "prixlm_run.json").write_text(json.dumps(record), "utf-8")
    with pytest.raises(UsageError, match=re.escape(f"another rule ('{record['sampler']}')")):
        _train(tiny_dataset_dir, tmp_path / "earlier", *_strategy(strategy), *RESUME)


def test_an_earlier_versions_checkpoint_at_an_epochs_end_goes_on_with_a_warning(
    uninterrupted, tiny_dataset_dir, tmp_path
):
    """At step 4 (the end of epoch 1) nothing of an epoch is left to cut: the run goes on,
    and the next epoch is this version's order (here: the uninterrupted run's)."""
    run = uninterrupted["group_by_length"]
    _earlier_checkpoint(run, 4, tmp_path / "earlier", drop="sampler")
    with pytest.warns(SamplerRuleWarning, match="stopped at the end of epoch 1: the next epochs"):
        _train(tiny_dataset_dir, tmp_path / "earlier", *_strategy("group_by_length"), *RESUME)
    assert _same_weights(tmp_path / "earlier", run)


@pytest.mark.parametrize(
    ("run_name", "drop"),
    [("group_by_length", None), ("batch_rebalance", None), ("batch_rebalance_42", "sampler")],
)
def test_a_mid_epoch_checkpoint_of_the_same_order_resumes_exactly(
    run_name, drop, uninterrupted, tiny_dataset_dir, tmp_path
):
    """This version's checkpoints go on mid-epoch; so does an earlier `batch_rebalance`
    run's with the seed 42, the fixed seed its rule drew every order with."""
    run = uninterrupted[run_name]
    _earlier_checkpoint(run, 6, tmp_path / "resumed", drop=drop)
    strategy, seed = run_name.removesuffix("_42"), "42" if run_name.endswith("_42") else "7"
    _train(tiny_dataset_dir, tmp_path / "resumed", *_strategy(strategy, seed), *RESUME)
    assert _same_weights(tmp_path / "resumed", run)


@pytest.fixture(scope="module")
def lp_run(tiny_dataset_dir, tmp_path_factory) -> Path:
    """An uninterrupted 8-step run with link prediction at steps 0, 2, 4, 6 and 8."""
    output = tmp_path_factory.mktemp("lp") / "run"
    _train(tiny_dataset_dir, output, **LP)
    return output


def _curve(run: Path) -> tuple[list[dict], dict, list[int]]:
    results = json.loads((run / "model" / "train_results.json").read_text("utf-8"))
    with open(run / "lp_curve.csv", encoding="utf-8") as handle:
        curve_steps = [int(row["step"]) for row in csv.DictReader(handle)]
    points = results["checkpoint_link_prediction"]
    return points, results["checkpoint_link_prediction_settings"], curve_steps


@pytest.mark.parametrize("recorded", ["none", "other", "same"])
def test_restored_curve_points_of_other_candidates_are_left_out_and_said(
    recorded, lp_run, tiny_dataset_dir, tmp_path, capsys
):
    """An earlier version's checkpoint ranked its points among other candidates (12 labels
    where this version ranks 15): they were restored beside the new ones, and the curve
    showed a drop the weights did not make. Left out, on stderr and in the record; a
    second resume leaves them out too. The same candidates: every point kept."""
    points, settings, _ = _curve(lp_run)
    candidates = settings["candidates"]
    assert [point["step"] for point in points] == [0, 2, 4, 6, 8]
    assert {lang: value["count"] for lang, value in candidates.items()} == {"de": 10, "en": 10}
    assert _record(lp_run / "checkpoint-4")["lp_candidates"] == candidates
    first = tmp_path / "first"
    checkpoint = _earlier_checkpoint(lp_run, 4, first, drop="lp_candidates")
    if recorded != "none":
        record = _record(checkpoint)
        record["lp_candidates"] = json.loads(json.dumps(candidates))
        if recorded == "other":
            record["lp_candidates"]["en"]["count"] = 8
        (checkpoint / "prixlm_run.json").write_text(json.dumps(record), "utf-8")
    capsys.readouterr()
    _train(tiny_dataset_dir, first, *RESUME, **LP)
    stderr = capsys.readouterr().err
    resumed_points, resumed_settings, curve_steps = _curve(first)
    if recorded == "same":
        assert resumed_points == points
        assert "points_left_out" not in resumed_settings
        assert "left out" not in stderr
        return
    why = (
        f"ranked among candidates that {checkpoint}'s record does not name (an earlier "
        "version's), the next points among de 10, en 10 labels"
        if recorded == "none"
        else "ranked among other candidates than the next points: en 8 labels (now 10)"
    )
    assert [point["step"] for point in resumed_points] == curve_steps == [6, 8]
    assert resumed_points == points[3:]  # the same weights: the same new points
    assert resumed_settings["points_left_out"] == {"steps": [0, 2, 4], "why": why}
    assert resumed_settings["candidates"] == candidates
    assert (
        f"link prediction curve: the points of steps 0, 2, 4 restored from the checkpoint are "
        f"left out ({why})"
    ) in stderr
    # stopped again at step 6 of the resumed start: its record carries the left-out steps
    second = tmp_path / "second"
    _earlier_checkpoint(first, 6, second)
    _train(tiny_dataset_dir, second, *RESUME, **LP)
    again_points, again_settings, _ = _curve(second)
    assert [point["step"] for point in again_points] == [6, 8]
    assert again_settings["points_left_out"] == {"steps": [0, 2, 4], "why": why}
