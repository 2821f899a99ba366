"""How far a training start got, and the metrics of the whole run over every start.

- `LogAtSaves`: the loss is logged at every checkpoint and at the last step, so a resumed
  run's loss over every start is exact (`whole_run`);
- `check_reached_end`: a start the Trainer ended before its last step (a SIGTERM with
  `--enable_jit_checkpoint`, a callback) is refused before a release is written. Our own
  early stops (`prixlm.experiments.time_budget`, `prixlm.experiments.curve`) first make
  the step they stop at the run's last (`state.max_steps`), so they end a finished run.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from transformers import TrainerCallback
from transformers.trainer_utils import get_last_checkpoint

from prixlm.cli import UsageError
from prixlm.signals import said_at_signal
from prixlm.training.log_lines import job_prefix


class LogAtSaves(TrainerCallback):
    """Log the loss whenever a checkpoint is saved and at the last step (added after every
    other callback: a time budget or a flat curve may end the run or save at this step).

    A checkpoint's log history then covers every step up to it, and a run resumed from it
    adds the losses of the steps after it: the whole run's `train_loss` is theirs (with logs
    only every `--logging_steps`, the steps between the last log and the checkpoint were
    in no start's logs)."""

    def on_step_end(self, args, state, control, **kwargs):
        if control.should_save or state.global_step >= state.max_steps:
            control.should_log = True
        return control

    def on_epoch_end(self, args, state, control, **kwargs):
        if control.should_save:
            control.should_log = True
        return control


def check_reached_end(state: Any, output_dir: str) -> None:
    """`UsageError` when the Trainer stopped at a step before its last (`state.max_steps`):
    the model is not the finished run's, and no release folder is written for it."""
    if state.global_step < state.max_steps:
        raise UsageError(
            f"--output_dir {output_dir}: training stopped at step {state.global_step} of "
            f"{state.max_steps} (a signal or a callback ended it), no release folder written; "
            "resume with --resume_from_checkpoint true"
        )


def measured_speed(trained: dict[str, Any], steps: int, facts: int) -> dict[str, float]:
    """`train_samples_per_second` and `train_steps_per_second` from the steps this start
    ran and the `facts` its batches held (`PrixLMTrainer.facts_trained`, every process):
    the Trainer scales them by its planned `max_steps`, which a time budget or a flat curve
    lowers (a run stopped at step 6 of 400 reported 67 times its speed), and by its planned
    batch, larger than an update that is a whole epoch or than a batch that
    `--auto_find_batch_size` lowered."""
    runtime = trained.get("train_runtime") or 0.0
    if runtime <= 0 or steps <= 0:
        return {}
    return {
        "train_samples_per_second": round(facts / runtime, 3),
        "train_steps_per_second": round(steps / runtime, 3),
    }


def whole_run(trained: dict[str, Any], state: Any, first_step: int) -> dict[str, Any]:
    """`trained` (the Trainer's metrics of this start) for a run resumed at `first_step`:
    `train_loss` over every start (the step-weighted mean of the logged losses, each the
    mean since the one before: exact with `LogAtSaves`; the Trainer's is this start's steps
    only), and this start's runtime as `last_start_runtime` (the run's whole wall time is
    not known here)."""
    total = steps = 0.0
    previous = 0
    for entry in state.log_history:
        if "loss" in entry and "step" in entry and entry["step"] > previous:
            total += entry["loss"] * (entry["step"] - previous)
            steps += entry["step"] - previous
            previous = entry["step"]
    whole = {k: v for k, v in trained.items() if k not in ("train_loss", "train_runtime")}
    if steps:
        whole["train_loss"] = total / steps
    if "train_runtime" in trained:
        whole["last_start_runtime"] = trained["train_runtime"]
    return {**whole, "resumed_from_step": first_step, "epoch": state.epoch}


def trained_line(metrics: Mapping[str, Any], step: int) -> str:
    """A finished training's figures on one line (an experiment job's; the full record is
    its `train_results.json`): the steps, `train_loss` and the runtime."""
    line = f"trained {step} steps"
    if isinstance(metrics.get("train_loss"), float):
        line += f", train_loss {metrics['train_loss']:.4f}"
    runtime = metrics.get("train_runtime", metrics.get("last_start_runtime"))
    if isinstance(runtime, int | float):
        line += f", {runtime:.1f} s"
    return line


def resume_command(argv: Sequence[str], processes: int = 1) -> str:
    """`python train.py <argv>` with `--resume_from_checkpoint true` (in place of one given);
    for a data-parallel run of `processes` (> 1), `train.py <argv> ...` launched as it was
    (`torchrun`, `accelerate launch`) with that many processes: one process would resume
    with another global batch, refused by the checkpoint's check."""
    kept, skip = [], False
    for argument in argv:
        if skip:
            skip = False
        elif argument == "--resume_from_checkpoint":
            skip = True
        elif not argument.startswith("--resume_from_checkpoint="):
            kept.append(argument)
    script = shlex.join(["train.py", *kept, "--resume_from_checkpoint", "true"])
    if processes > 1:
        return (
            f"{processes} processes of {script}, launched as before (torchrun, accelerate launch)"
        )
    return f"python {script}"


def stop_note(state: Any, output_dir: str, argv: Sequence[str], processes: int = 1) -> str:
    """Where a signal stopped a training (`prixlm.signals.said_at_signal`): the step
    reached, the last checkpoint kept in `output_dir`, and the command that goes on from it
    (or, without one, that the same command starts again)."""
    line = f"stopped at step {state.global_step} of {state.max_steps}"
    checkpoint = get_last_checkpoint(output_dir) if state.global_step else None
    if checkpoint is None:
        return f"{line}; no checkpoint kept: the same command starts the run again"
    return (f"{line}; last checkpoint kept: {checkpoint}; "
            f"to go on from it: {resume_command(argv, processes)}")  # fmt: skip


def stop_said(
    trainer: Any, training_args: Any, command: Sequence[str] | None
) -> AbstractContextManager[None]:
    """Around `trainer.train()`: a Ctrl-C or SIGTERM that stops it says, on the main process
    and when train.py's arguments `command` are known, the step reached, the last
    checkpoint kept and the command that goes on from it (`stop_note`)."""
    if command is None or training_args.process_index != 0:
        return said_at_signal(lambda: None)
    processes = training_args.world_size
    return said_at_signal(
        lambda: stop_note(trainer.state, training_args.output_dir, command, processes)
    )


def print_results(metrics: Mapping[str, Any], step: int, release: Path) -> None:
    """The run's results on stdout: in an experiment's job (`job_prefix`) one line for the
    runner's log (`trained_line`), else the metrics as JSON (without the checkpoint
    evaluations); then the release folder."""
    prefix = job_prefix()
    if prefix:
        line = trained_line(metrics, step)
        print(f"{prefix}{line}; results: {release / 'train_results.json'}")
    else:
        shown = {k: v for k, v in metrics.items() if k != "checkpoint_link_prediction"}
        print(json.dumps(shown, indent=2))
    print(f"{prefix}release folder: {release}")


__all__ = [
    "LogAtSaves",
    "check_reached_end",
    "measured_speed",
    "print_results",
    "resume_command",
    "stop_note",
    "stop_said",
    "trained_line",
    "whole_run",
]
