"""A training run fitted to a time budget (`TimeBudget`, a Trainer callback) and the clocks
it reads (`CLOCKS`: wall time or this process's CPU time): the Table 1 and DBP-5L jobs."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from transformers import TrainerCallback

CLOCKS: dict[str, Callable[[], float]] = {
    "wall": lambda: time.time(),
    "cpu": lambda: time.process_time(),
}


def _clock(name: str) -> Callable[[], float]:
    if name not in CLOCKS:
        raise ValueError(f"budget_clock={name!r}: expected one of {sorted(CLOCKS)}")
    return CLOCKS[name]


def _linear_lambda(step: int, warmup: int, total: int) -> float:
    """Linear warm-up over `warmup` steps, then linear decay to 0 at `total` (transformers')."""
    if step < warmup:
        return step / max(1, warmup)
    return max(0.0, (total - step) / max(1, total - warmup))


def set_schedule(lr_scheduler: Any, schedule: Callable[[int], float]) -> None:
    """Make `schedule` (step -> factor of the base rate) the `LambdaLR`'s for every param
    group, from the next optimizer step on: the groups' rates are set to it at once."""
    lr_scheduler.lr_lambdas = [schedule] * len(lr_scheduler.lr_lambdas)
    groups = lr_scheduler.optimizer.param_groups
    for group, base in zip(groups, lr_scheduler.base_lrs, strict=True):
        group["lr"] = base * schedule(lr_scheduler.last_epoch)


class TimeBudget(TrainerCallback):
    """Fit the run to `seconds` of training: after `calibrate_at` steps, measure the step rate,
    set the last step to what the budget allows (at most `max_steps`) and re-aim the linear
    decay to 0 at it. Without `seconds`: a no-op.

    The warm-up is `warmup_steps` (default `calibrate_at`), fixed when training begins: a
    warm-up given as a share of `max_steps` (transformers' `warmup_steps` < 1) would be a
    share of the placeholder upper bound, not of the steps the budget allows, and the
    learning rate would jump at calibration from that long warm-up's value to its peak
    (quick profile: 6% of 20,000 steps, 5e-5 at step 60, then 1e-3 one step later; Prix-LM
    All never left a loss plateau of 5.9 and ranked at chance). Taking the schedule over at
    `on_train_begin` keeps it continuous: calibration only moves where the decay ends.
    Time is read from `clock` (`CLOCKS`: `wall` or this process's `cpu` time).
    """

    def __init__(
        self,
        seconds: float | None,
        calibrate_at: int = 60,
        warmup_steps: int = 0,
        clock: str = "wall",
    ):
        self.seconds, self.calibrate_at = seconds, calibrate_at
        self.warmup = warmup_steps or calibrate_at
        self.clock = _clock(clock)
        self.started = self.marked = self.clock()
        self.steps, self.target = 0, None
        self.bound = False  # whether the budget, not max_steps, set `target`
        self.spent_before = 0.0  # budget seconds of an earlier start (`resume`)

    def progress(self) -> dict[str, Any]:
        """What a later start needs to go on (`resume`): budget seconds spent, last step."""
        return {"spent": self.clock() - self.started, "target": self.target,
                "bound": self.bound, "steps": self.steps}  # fmt: skip

    def resume(self, progress: dict[str, Any]) -> None:
        """Go on from `progress` (an earlier start's): its seconds count against the budget
        and its last step stays the last step (the schedule decays to 0 there); the steps
        already taken count (a start that only writes the release takes none)."""
        self.spent_before, self.target = float(progress["spent"]), progress["target"]
        self.bound = bool(progress.get("bound", self.target is not None))
        self.steps = int(progress.get("steps", self.steps))

    @property
    def stopped_at(self) -> int | None:
        """The step the budget stopped training at; None when max_steps, or a callback such
        as the validation curve's flat rule, stopped it first (it was the budget's target
        step whenever the budget set one, even when training had ended before it)."""
        return self.target if self.bound and self.steps >= self.target else None

    def trained_schedule(self, last_step: int) -> dict[str, Any]:
        """The schedule this budget trained, for the release's `train_results.json`
        (`prixlm.training.trainer.trained_schedule`): its warm-up steps, the step its decay
        reached 0 at (once calibrated) and, when it ended the run at `last_step`,
        `stopped_by`; `{}` without a budget (the arguments' schedule was trained)."""
        if not self.seconds:
            return {}
        record: dict[str, Any] = {"warmup_steps": self.warmup}
        if self.target is not None:
            record["decay_to_zero_at"] = self.target
        if self.stopped_at is not None and last_step >= self.stopped_at:
            record["stopped_by"] = "time budget"
        return record

    def _aim(self, lr_scheduler: Any, total: int) -> None:
        """Warm up over `self.warmup` steps, then decay linearly to 0 at step `total`; the
        next optimizer step already uses the new schedule's rate."""
        if lr_scheduler is None:
            return
        set_schedule(
            lr_scheduler, functools.partial(_linear_lambda, warmup=self.warmup, total=total)
        )

    def on_train_begin(self, args, state, control, lr_scheduler=None, **kwargs):
        self.started = self.clock() - self.spent_before
        if self.target is not None:  # resumed after calibration
            # never past the run's max_steps (an earlier version aimed one step further)
            self.target = state.max_steps = min(self.target, state.max_steps)
        if self.seconds:
            self._aim(lr_scheduler, state.max_steps)

    def on_step_end(self, args, state, control, lr_scheduler=None, **kwargs):
        self.steps = state.global_step
        if not self.seconds:
            return control
        if state.global_step == 10:  # the first steps carry start-up costs
            self.marked = self.clock()
        if state.global_step == self.calibrate_at and self.target is None:
            rate = (self.calibrate_at - 10) / max(1e-6, self.clock() - self.marked)
            left = self.seconds - (self.clock() - self.started)
            affordable = state.global_step + max(0.0, left) * rate
            self.bound = affordable < state.max_steps
            # at least one step more, at most max_steps: calibrated at max_steps, it ends here
            self.target = min(state.max_steps, max(int(affordable), state.global_step + 1))
            state.max_steps = self.target
            self._aim(lr_scheduler, self.target)
        if self.target is not None and state.global_step >= self.target:
            # the budget's last step is the run's (a flat curve's anneal may have aimed
            # further): a finished run, with its last checkpoint saved here
            state.max_steps = state.global_step
            control.should_training_stop = True
            control.should_save = saves_checkpoints(args)  # no checkpoints asked: none
        return control


def saves_checkpoints(args: Any) -> bool:
    """Whether the run's arguments ask for checkpoints (`--save_strategy` other than `no`):
    a callback that stops the run saves its last step only then."""
    strategy = getattr(args, "save_strategy", "steps")
    return str(getattr(strategy, "value", strategy)) != "no"
