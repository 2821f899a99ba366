"""The Trainer with crash-safe checkpoints and release folders."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

import torch.distributed as dist
from transformers import Trainer
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

STAGING = ".staging"


class PrixLMTrainer(Trainer):
    """`Trainer` whose checkpoints appear only when complete.

    Each checkpoint is written under `<output_dir>/.staging/` and renamed to
    `checkpoint-<step>` at the end, so a run killed mid-save never leaves a checkpoint that
    looks whole (`get_last_checkpoint` ignores the staging folder).
    """

    def _save_checkpoint(self, model, trial) -> None:
        run_dir = self._get_output_dir(trial=trial)
        name = f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
        staging_root = os.path.join(run_dir, STAGING)
        if self.args.should_save:
            shutil.rmtree(os.path.join(staging_root, name), ignore_errors=True)
        original = self._get_output_dir
        self._get_output_dir = lambda trial=None: staging_root  # type: ignore[method-assign]
        try:
            super()._save_checkpoint(model, trial)
        finally:
            self._get_output_dir = original  # type: ignore[method-assign]
        if dist.is_available() and dist.is_initialized():
            dist.barrier()
        if self.args.should_save:
            final = os.path.join(run_dir, name)
            shutil.rmtree(final, ignore_errors=True)
            os.replace(os.path.join(staging_root, name), final)
            with contextlib.suppress(OSError):
                os.rmdir(staging_root)
            _rotate(run_dir, self.args.save_total_limit)
        if dist.is_available() and dist.is_initialized():
            dist.barrier()

    def save_release(
        self,
        destination: str | Path,
        extra_files: dict[str, dict] | None = None,
        model_card: str | None = None,
    ) -> Path:
        """Write the final model folder atomically: weights, code, tokenizer, arguments, metrics.

        The Trainer's pickled `training_args.bin` is replaced by `training_args.json`;
        `model_card` (markdown) becomes the folder's `README.md`.
        """
        destination = Path(destination)
        staging = destination.with_name(f".{destination.name}.partial")
        if self.args.should_save:
            shutil.rmtree(staging, ignore_errors=True)
        self.save_model(str(staging))
        if self.args.should_save:
            (staging / "training_args.bin").unlink(missing_ok=True)
            (staging / "training_args.json").write_text(
                self.args.to_json_string(), encoding="utf-8"
            )
            if model_card is not None:
                (staging / "README.md").write_text(model_card, encoding="utf-8")
            for file_name, content in (extra_files or {}).items():
                (staging / file_name).write_text(
                    json.dumps(content, indent=2, sort_keys=True), encoding="utf-8"
                )
            shutil.rmtree(destination, ignore_errors=True)
            os.replace(staging, destination)
        return destination


def _rotate(run_dir: str, limit: int | None) -> None:
    """Keep the newest `limit` checkpoints."""
    if not limit:
        return
    checkpoints = sorted(
        (p for p in Path(run_dir).glob(f"{PREFIX_CHECKPOINT_DIR}-*") if p.is_dir()),
        key=lambda p: int(p.name.rsplit("-", 1)[1]),
    )
    for old in checkpoints[:-limit]:
        shutil.rmtree(old, ignore_errors=True)
