"""prixlm.training.resume.remove_earlier_run also removes the Trainer's TensorBoard logs.

The Trainer logs to `<output_dir>/runs/<date>_<host>` (`--report_to tensorboard`, as the demo
trains): the logs of every earlier run stayed, and TensorBoard showed their curves beside
the new run's.
"""

from __future__ import annotations

from pathlib import Path

from prixlm.training.resume import remove_earlier_run, resume_checkpoint


def _earlier_run(run: Path) -> None:
    """A run folder with a checkpoint and the Trainer's TensorBoard logs in it."""
    (run / "checkpoint-2").mkdir(parents=True)
    (run / "checkpoint-2" / "model.safetensors").write_bytes(b"weights")
    logs = run / "runs" / "Jan01_00-00-00_host"
    logs.mkdir(parents=True)
    (logs / "events.out.tfevents.1.host.1.0").write_bytes(b"curves")


def test_the_trainers_logs_go_with_the_earlier_run(tmp_path):
    work = tmp_path / "work" / "runs"  # run folders in a folder named `runs` (experiments)
    run, other = work / "all-en", work / "all-de"
    _earlier_run(run)
    _earlier_run(other)
    (run / "notes.txt").write_text("not the run's")
    remove_earlier_run(run)
    assert not (run / "runs").exists()
    assert not list(run.glob("checkpoint-*"))
    assert (run / "notes.txt").is_file()
    assert (other / "runs").is_dir() and (other / "checkpoint-2").is_dir()  # another run's
    assert resume_checkpoint(str(run), None) is None  # a new run may start there
    remove_earlier_run(run)  # nothing left to remove: no error
