"""Which checkpoints a run folder keeps: the newest `--save_total_limit`, counted by step.

`PrixLMTrainer` (`RotationAfterSave`) removes the older ones of a save in the training loop
only after every callback's `on_save` has run (the Trainer removed them inside its save,
before `on_save`): a Table 1 / DBP-5L job keeps its progress there
(`prixlm.experiments.kept_runs.KeepProgress`), naming the new checkpoint; a kill between the
old one's removal and that write left the progress naming a removed checkpoint, and the
next start trained from step 0.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from prixlm.training.checkpoint_files import checkpoint_folders, checkpoint_step


def rotate_checkpoints(run_dir: str | Path, limit: int | None) -> None:
    """Keep the newest `limit` checkpoints of `run_dir`; `None` or a `limit` <= 0 keeps every
    one (as the Trainer's `save_total_limit`: -1 deleted every checkpoint, the newest one
    included)."""
    if limit is None or limit <= 0:
        return
    for old in checkpoint_folders(run_dir)[:-limit]:
        shutil.rmtree(old, ignore_errors=True)


class RotationAfterSave:
    """A `Trainer` mixin: `rotate_after_save` keeps the newest `--save_total_limit`
    checkpoints at once, or, for a save of the training loop, once its `on_save` is done."""

    args: Any
    _rotation_deferred = False  # within the loop's log / save / evaluate
    _rotation_due: Path | None = None  # the run folder a save there wrote into

    def rotate_after_save(self, run_dir: Path) -> None:
        """Rotate `run_dir`'s checkpoints (after the loop's `on_save` when within it)."""
        if self._rotation_deferred:
            self._rotation_due = run_dir
        else:
            rotate_checkpoints(run_dir, self.args.save_total_limit)

    def _maybe_log_save_evaluate(self, *args: Any, **kwargs: Any) -> None:
        self._rotation_deferred, self._rotation_due = True, None
        try:
            super()._maybe_log_save_evaluate(*args, **kwargs)  # type: ignore[misc]
        finally:
            self._rotation_deferred = False
        if self._rotation_due is not None:  # a checkpoint was saved, `on_save` has run
            rotate_checkpoints(self._rotation_due, self.args.save_total_limit)


def remove_checkpoints_after(run_dir: str | Path, step: int) -> list[Path]:
    """Remove `run_dir`'s checkpoints of steps after `step` (a start killed before its
    progress named them, resumed from `step`: kept, the newer-numbered stale one would
    outlive, and rotate away, the checkpoints the resumed start saves before its step).
    Returns the folders removed."""
    later = [p for p in checkpoint_folders(run_dir) if checkpoint_step(p) > step]
    for folder in later:
        shutil.rmtree(folder)
    return later


__all__ = ["RotationAfterSave", "remove_checkpoints_after", "rotate_checkpoints"]
