"""A Table 1 / DBP-5L job killed between a checkpoint's save and the write of its progress
(`job_progress.json`, kept in the callbacks' `on_save`) goes on from a checkpoint that
exists. With `--save_total_limit 1` the Trainer removed the checkpoint the progress named
before `on_save`: a kill there left the progress naming a removed checkpoint, and the next
start trained from step 0."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_train_runs import _args
from transformers import TrainerCallback

from prixlm.experiments.kept_runs import PROGRESS_FILE, kept_progress, training_identity
from prixlm.experiments.prixlm_jobs import train_release
from prixlm.experiments.time_budget import TimeBudget


class _KilledInOnSave(TrainerCallback):
    """Ends the process's training in `on_save` at `step`, before the callbacks after it
    (the job's `KeepProgress`) keep that checkpoint's progress."""

    def __init__(self, step: int):
        self.step = step

    def on_save(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise KeyboardInterrupt
        return control


def _checkpoints(run: Path) -> list[str]:
    return sorted(p.name for p in run.glob("checkpoint-*"))


def test_a_job_killed_before_keeping_its_progress_goes_on_from_a_kept_checkpoint(
    tiny_dataset_dir, tmp_path, monkeypatch
):
    import prixlm.training.pretrain as pretrain_module

    run = tmp_path / "run"
    argv = _args(tiny_dataset_dir, run, "--max_steps", "16", "--save_steps", "4",
                 "--save_total_limit", "1")  # fmt: skip
    identity = training_identity(argv, 1000, "wall")
    real, starts, found = pretrain_module.pretrain, [], []

    def pretrain(training_run, callbacks):
        starts.append(training_run.training.resume_from_checkpoint)
        found.append(_checkpoints(run))
        killer = [_KilledInOnSave(8)] if len(starts) == 1 else []
        return real(training_run, killer + list(callbacks))  # before `KeepProgress`

    monkeypatch.setattr(pretrain_module, "pretrain", pretrain)
    with pytest.raises(KeyboardInterrupt):
        train_release(str(run), identity, argv, TimeBudget(1000, calibrate_at=12))
    # the progress names step 4, whose checkpoint is still there beside step 8's
    kept = kept_progress(run, identity)
    assert kept is not None and kept["step"] == 4, _checkpoints(run)
    assert _checkpoints(run) == ["checkpoint-4", "checkpoint-8"]

    trained = train_release(str(run), identity, argv, TimeBudget(1000, calibrate_at=12))
    assert starts == [None, str(run / "checkpoint-4")]
    # step 8's, which no progress describes, went before the start resumed (kept, it would
    # outlive and rotate away the checkpoints of a start stopping before step 8)
    assert found == [[], ["checkpoint-4"]]
    assert trained["resumed_from_step"] == 4
    assert _checkpoints(run) == ["checkpoint-16"] and (run / "model").is_dir()
    assert kept_progress(run, identity)["step"] == 16


def test_a_budget_calibrated_at_max_steps_ends_at_max_steps(tiny_dataset_dir, tmp_path):
    """`calibrate_at` equal to `--max_steps` (a quick profile, a test): calibration aimed the
    run one step past max_steps (13 of 12), and the job stopped with `training stopped at
    step 12 of 13 ... no release folder written` though it trained every step. A job whose
    kept progress holds such a target goes on to its release."""
    run = tmp_path / "run"
    argv = _args(tiny_dataset_dir, run, "--max_steps", "12", "--save_steps", "4",
                 lp_eval_queries="0")  # fmt: skip
    identity = training_identity(argv, 1000, "wall")
    guard = TimeBudget(1000, calibrate_at=12)
    train_release(str(run), identity, argv, guard)
    assert (guard.target, guard.stopped_at) == (12, None)
    results = json.loads((run / "model" / "train_results.json").read_text(encoding="utf-8"))
    schedule = results["trained_schedule"]
    assert (schedule["decay_to_zero_at"], schedule["last_step"]) == (12, 12)
    assert schedule["stopped_by"] == "max_steps"

    # as a start that aimed at step 13 left it: checkpoint-12 and its progress say 13
    shutil.rmtree(run / "model")
    progress = json.loads((run / PROGRESS_FILE).read_text(encoding="utf-8"))
    progress["budget"]["target"] = 13
    (run / PROGRESS_FILE).write_text(json.dumps(progress), encoding="utf-8")
    state_path = run / "checkpoint-12" / "trainer_state.json"
    state = json.loads(state_path.read_text(encoding="utf-8"))
    state_path.write_text(json.dumps({**state, "max_steps": 13}), encoding="utf-8")
    guard = TimeBudget(1000, calibrate_at=12)
    trained = train_release(str(run), identity, argv, guard)
    assert trained["resumed_from_step"] == 12 and guard.target == 12
    results = json.loads((run / "model" / "train_results.json").read_text(encoding="utf-8"))
    assert results["trained_schedule"]["decay_to_zero_at"] == 12
