"""A run folder's cleanups (a new demo's, a Table 1 / DBP-5L job's) hold the folder's
one-writer lock: while a training writes it, a second start is refused before it removes
anything (they used to delete the running job's checkpoints, curve and job files, and only
then did `pretrain` refuse)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from lock_holder import lock_held

from prixlm.experiments.kept_runs import PROGRESS_FILE, forget_training, training_identity
from prixlm.experiments.prixlm_jobs import train_release
from prixlm.experiments.time_budget import TimeBudget
from prixlm.outputs.atomic import OutputLockedError
from prixlm.training.resume import remove_earlier_run


@pytest.fixture
def running(tmp_path) -> Iterator[tuple[Path, int]]:
    """(run folder, PID): a training's files in the folder, whose lock another process holds."""
    run = tmp_path / "run"
    for step in (2, 4):
        checkpoint = run / f"checkpoint-{step}"
        checkpoint.mkdir(parents=True)
        (checkpoint / "trainer_state.json").write_text(json.dumps({"global_step": step}))
        (checkpoint / "model.safetensors").write_bytes(b"the running job's weights")
    (run / "lp_curve.csv").write_text("step,mrr\n2,0.5\n", encoding="utf-8")
    (run / "runs").mkdir()
    with lock_held(run) as pid:
        yield run, pid


def _files(run: Path) -> list[str]:
    return sorted(path.relative_to(run).as_posix() for path in run.rglob("*"))


@pytest.mark.parametrize("cleanup", [remove_earlier_run, forget_training])
def test_a_cleanup_is_refused_before_it_removes_a_running_trainings_files(running, cleanup):
    run, pid = running
    (run / PROGRESS_FILE).write_text("{}", encoding="utf-8")
    before = _files(run)
    with pytest.raises(OutputLockedError, match=rf"--output_dir {run}: process {pid} on "):
        cleanup(run)
    assert _files(run) == before and "checkpoint-4/model.safetensors" in before
    assert (run / "checkpoint-4" / "model.safetensors").read_bytes() == b"the running job's weights"


@pytest.mark.parametrize("kept_step", [None, 2])
def test_a_second_job_into_a_training_run_folder_removes_nothing(running, kept_step):
    """The job's own progress (`kept_step`, the step its last `on_save` named, while it has
    just saved step 4) or none yet (it trains from scratch): the second job used to remove
    checkpoint-4, or everything, then `pretrain` refused it."""
    run, pid = running
    argv = ["--dataset", str(run.parent / "data"), "--output_dir", str(run), "--max_steps", "8"]
    identity = training_identity(argv, None, "wall")
    guard = TimeBudget(None, clock="wall")
    if kept_step is not None:
        progress = {"identity": identity, "step": kept_step, "budget": guard.progress(),
                    "curve": None, "train_seconds": 1.0}  # fmt: skip
        (run / PROGRESS_FILE).write_text(json.dumps(progress), encoding="utf-8")
    before = _files(run)
    with pytest.raises(OutputLockedError, match=rf"--output_dir {run}: process {pid} on "):
        train_release(str(run), identity, argv, guard)
    assert _files(run) == before and "checkpoint-4/model.safetensors" in before
