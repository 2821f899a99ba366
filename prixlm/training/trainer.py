"""The Trainer with crash-safe checkpoints and release folders (`prixlm.atomic_output`)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import torch.distributed as dist
from transformers import Trainer
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from prixlm.atomic_output import check_parent, partial_path, publish, recover_interrupted


def _barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


class PrixLMTrainer(Trainer):
    """`Trainer` whose checkpoints and release folder appear only when complete.

    A checkpoint `<output_dir>/checkpoint-<step>` is written by the Trainer inside
    `<output_dir>/.checkpoint-<step>.partial/` (every process writes its RNG state there)
    and published under its final name when all processes are done, so a run killed
    mid-save never leaves a checkpoint that looks whole (`get_last_checkpoint` ignores the
    partial folder, and the next save of that step removes it).
    """

    def _save_checkpoint(self, model, trial) -> None:
        run_dir = Path(self._get_output_dir(trial=trial))
        final = run_dir / f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
        staging = partial_path(final, shared=True)  # every process writes into it
        if self.args.should_save:
            check_parent(final, "--output_dir")
            recover_interrupted(final)
            staging.mkdir()
        _barrier()  # the partial folder exists before any process writes into it
        original = self._get_output_dir
        # The Trainer writes `<run dir>/checkpoint-<step>`: here `<staging>/checkpoint-<step>`.
        self._get_output_dir = lambda trial=None: str(staging)  # type: ignore[method-assign]
        try:
            super()._save_checkpoint(model, trial)
        finally:
            self._get_output_dir = original  # type: ignore[method-assign]
        _barrier()  # every process has written its files
        if self.args.should_save:
            publish(staging / final.name, final)
            shutil.rmtree(staging)
            _rotate(run_dir, self.args.save_total_limit)
        _barrier()

    def save_release(
        self,
        destination: str | Path,
        extra_files: dict[str, dict] | None = None,
        finalize: Callable[[Path], object] | None = None,
    ) -> Path:
        """Write the final model folder atomically: weights, tokenizer, arguments, metrics.

        Written in `.<name>.partial` beside `destination`, then renamed. The Trainer's
        pickled `training_args.bin` is replaced by `training_args.json`; `extra_files`
        `{name: JSON content}` are added. `finalize(staging_folder)` runs last, on the saving
        process, before the rename (e.g. `prixlm.release.folder.complete_release_folder` and
        the model card), so the folder appears complete.
        """
        destination = Path(destination)
        staging = partial_path(destination, shared=True)
        if self.args.should_save:
            check_parent(destination, "--output_dir")
            recover_interrupted(destination)
        _barrier()
        self.save_model(str(staging))  # collective: every process takes part
        if self.args.should_save:
            (staging / "training_args.bin").unlink(missing_ok=True)
            (staging / "training_args.json").write_text(
                self.args.to_json_string(), encoding="utf-8"
            )
            for file_name, content in (extra_files or {}).items():
                (staging / file_name).write_text(
                    json.dumps(content, indent=2, sort_keys=True), encoding="utf-8"
                )
            if finalize is not None:
                finalize(staging)
            publish(staging, destination)
        _barrier()
        return destination


def _rotate(run_dir: Path, limit: int | None) -> None:
    """Keep the newest `limit` checkpoints."""
    if not limit:
        return
    pattern = re.compile(rf"{PREFIX_CHECKPOINT_DIR}-(\d+)")
    checkpoints = sorted(
        (p for p in run_dir.iterdir() if p.is_dir() and pattern.fullmatch(p.name)),
        key=lambda p: int(pattern.fullmatch(p.name).group(1)),
    )
    for old in checkpoints[:-limit]:
        shutil.rmtree(old, ignore_errors=True)


__all__ = ["PrixLMTrainer"]
