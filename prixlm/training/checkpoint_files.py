"""A run folder's checkpoints: listed by step, and checked whole before a resume.

A checkpoint is damaged when a file is cut short or unreadable (`checkpoint_problem`); one
of an unfinished run also needs the optimizer's, the schedule's and the random state
(`TRAINING_STATE`; `missing_training_state`): without them Adam and the warm-up would start
again. `check_checkpoint` names what is wrong and the previous complete checkpoint.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from prixlm.cli import UsageError

RUN_FILE = "prixlm_run.json"
#: What a checkpoint of an unfinished run needs besides the weights to go on where it
#: stopped (the Trainer's `save_only_model` leaves them out): the optimizer's and the
#: schedule's state; the random state is `rng_state.pth` (one per process: `_<rank>`).
TRAINING_STATE = ("optimizer.pt", "scheduler.pt")


def checkpoint_problem(checkpoint: Path) -> str | None:
    """What is damaged in a checkpoint folder (the file and why), or None."""
    from safetensors import safe_open

    for weights in sorted(checkpoint.glob("*.safetensors")):
        try:
            with safe_open(str(weights), framework="pt") as handle:
                handle.keys()
        except Exception as error:  # safetensors' own error type: cut short, bad header
            return f"{weights}: unreadable ({error})"
    for name in ("trainer_state.json", "config.json", RUN_FILE):
        path = checkpoint / name
        if path.is_file():
            try:
                json.loads(path.read_text("utf-8"))
            except (ValueError, UnicodeDecodeError) as error:
                return f"{path}: not valid JSON ({error})"
    if not (checkpoint / "trainer_state.json").is_file():
        return f"{checkpoint / 'trainer_state.json'}: missing"
    for state in sorted(checkpoint.glob("*.pt")) + sorted(checkpoint.glob("*.pth")):
        if not zipfile.is_zipfile(state):  # torch.save's format: cut short, no directory
            return f"{state}: unreadable (cut short or not a torch file)"
    return None


def missing_training_state(checkpoint: Path, world_size: int = 1) -> list[str]:
    """The files of `TRAINING_STATE`, and the random state when the checkpoint has none at
    all (`rng_state.pth`, or `rng_state_<rank>.pth` per process: a checkpoint of another
    process count is resumed as the Trainer resumes it, with its warning), that
    `checkpoint` lacks."""
    missing = [name for name in TRAINING_STATE if not (checkpoint / name).is_file()]
    if not any(checkpoint.glob("rng_state*.pth")):
        missing.append("rng_state.pth" if world_size <= 1 else "rng_state_<rank>.pth")
    return missing


def resume_problem(checkpoint: Path, world_size: int = 1) -> str | None:
    """`checkpoint_problem`, or for an unfinished run's checkpoint the training state it
    lacks (resuming without it would restart Adam and the warm-up), or None."""
    problem = checkpoint_problem(checkpoint)
    if problem is not None or finished_run(checkpoint) is not None:
        return problem
    missing = missing_training_state(checkpoint, world_size)
    if missing:
        return (
            f"{checkpoint}: {', '.join(missing)} missing (the optimizer's, the schedule's and the "
            "random state: without them Adam and the warm-up would start again)"
        )
    return None


def check_checkpoint(checkpoint: str | Path, world_size: int = 1) -> None:
    """`UsageError` naming the damaged or missing file of `checkpoint` (`resume_problem`)
    and the previous complete checkpoint of its run folder to resume from instead."""
    checkpoint = Path(checkpoint)
    problem = resume_problem(checkpoint, world_size)
    if problem is None:
        return
    earlier = [
        folder
        for folder in checkpoint_folders(checkpoint.parent)
        if checkpoint_step(folder) < checkpoint_step(checkpoint)
        and resume_problem(folder, world_size) is None
    ]
    offer = (
        f"resume from the previous complete checkpoint with --resume_from_checkpoint "
        f"{earlier[-1]} (or remove {checkpoint})"
        if earlier
        else "no earlier complete checkpoint: start again in a new --output_dir"
    )
    raise UsageError(f"--resume_from_checkpoint {checkpoint}: {problem}; {offer}")


def finished_run(checkpoint: str | Path) -> int | None:
    """The last step if `checkpoint` ends its run (step == the run's max steps), else None."""
    state = json.loads((Path(checkpoint) / "trainer_state.json").read_text("utf-8"))
    step, last = state.get("global_step", 0), state.get("max_steps", 0)
    return step if last and step >= last else None


def checkpoint_step(folder: str | Path) -> int:
    """The step of a `checkpoint-<step>` folder."""
    return int(Path(folder).name.rsplit("-", 1)[1])


def checkpoint_folders(run_dir: str | Path) -> list[Path]:
    """The `checkpoint-<step>` folders of `run_dir`, by step."""
    found = [
        p
        for p in Path(run_dir).glob(f"{PREFIX_CHECKPOINT_DIR}-*")
        if p.is_dir() and p.name.rsplit("-", 1)[1].isdigit()
    ]
    return sorted(found, key=checkpoint_step)


__all__ = [
    "RUN_FILE",
    "TRAINING_STATE",
    "check_checkpoint",
    "checkpoint_folders",
    "checkpoint_problem",
    "checkpoint_step",
    "finished_run",
    "missing_training_state",
    "resume_problem",
]
