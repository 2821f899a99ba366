"""The training's progress as log lines when stderr is not a terminal (a `nohup ... > run.log`,
a CI job, a Slurm job).

The Trainer's progress bar redraws itself with a carriage return at every step (tqdm's 0.1 s
refresh is shorter than a step at scale): in a file that is one frame of ~60 bytes a step,
~60 MB for a million steps, on a handful of lines that a pager shows as one. Off a terminal,
`LogLines` takes its place: one line per log of the Trainer (every `--logging_steps`, each
checkpoint's and the last), stamped with the time and the step, with the run's elapsed time,
an estimate of the time left and the logged values. A terminal keeps the bar; `--disable_tqdm
true` keeps the Trainer's own plain printing, except in an experiment's job (`named_job`: the
runners' profiles train with `disable_tqdm`), whose lines, bare dicts without step, time or
job before, are these lines named after the job (`[single-lr1e3-en] 2026-... step 30/100 ...`):
several workers write one log.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TextIO

from transformers import TrainerCallback
from transformers.trainer_callback import PrinterCallback, ProgressCallback

from prixlm.library_bars import is_terminal

#: the name of the experiment job running in this process (`named_job`), if any
_JOB: list[str] = []


@contextmanager
def named_job(name: str) -> Iterator[None]:
    """Meanwhile this process runs the experiment job `name` (`prixlm.experiments.job_runner`):
    its training's log lines, its validation curve's and its one line of results name it
    (`job_prefix`)."""
    _JOB.append(name)
    try:
        yield
    finally:
        _JOB.pop()


def job_prefix() -> str:
    """`[<job>] ` inside an experiment job (`named_job`), else the empty string."""
    return f"[{_JOB[-1]}] " if _JOB else ""


def _duration(seconds: float) -> str:
    return str(timedelta(seconds=round(max(seconds, 0.0))))


def _value(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


class LogLines(TrainerCallback):
    """One stamped line per Trainer log on the main process, written to `stream` (stdout
    at the time of writing, where none is given: where the Trainer prints its logs, so that
    `> run.log 2> err.log` keeps the values in run.log, and `2> /dev/null` keeps them):

        2026-12-07 20:48:09 step 350/1000 (35.0%), 0:01:02 elapsed, ~0:01:55 left: loss=6.396 ...

    The time left is this start's pace (steps since its first, over its elapsed time)."""

    def __init__(
        self,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        prefix: str = "",
    ) -> None:
        self.stream = stream
        self.prefix = prefix
        self.clock = clock
        self.started: float | None = None
        self.first_step = 0
        self.begun = False  # a training on this callback began

    def _start(self, state: Any) -> None:
        """The run's clock starts at its first event: the training's start, or a log made
        before it (the validation curve's step-0 point, logged as the training begins: the
        clock's zero, the machine's uptime, was shown as the elapsed time)."""
        if self.started is None:
            self.started = self.clock()
            self.first_step = state.global_step

    def on_train_begin(self, args, state, control, **kwargs):
        if self.begun:  # `trainer.train()` again, after its end or an error: its own clock
            self.started = None
        self._start(state)
        self.begun = True

    def line(self, state: Any, logs: dict[str, Any]) -> str:
        """The line of a log `logs` at `state`'s step."""
        self._start(state)
        step, total = state.global_step, state.max_steps
        elapsed = self.clock() - self.started
        head = f"{self.prefix}{datetime.now():%Y-%m-%d %H:%M:%S} step {step}/{total}"
        if total:
            head += f" ({100 * step / total:.1f}%)"
        head += f", {_duration(elapsed)} elapsed"
        done = step - self.first_step
        if 0 < done and step < total and elapsed > 0:
            head += f", ~{_duration((total - step) * elapsed / done)} left"
        values = " ".join(f"{k}={_value(v)}" for k, v in logs.items() if k != "total_flos")
        return f"{head}: {values}" if values else head

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            print(self.line(state, logs), file=self.stream or sys.stdout, flush=True)


def lines_off_terminal(callbacks: list[Any], stream: Any = None) -> None:
    """Replace the Trainer's `ProgressCallback` in `callbacks` with `LogLines` when `stream`
    (stderr where none is given) is not a terminal; a terminal, or no bar, is left as it is.
    In an experiment job (`named_job`) the Trainer's `PrinterCallback` (`--disable_tqdm
    true`: bare dicts) is replaced too, and the lines name the job."""
    in_job = bool(_JOB)
    off_terminal = not is_terminal(stream if stream is not None else sys.stderr)
    for index, callback in enumerate(callbacks):
        kind = type(callback)
        if (kind is ProgressCallback and off_terminal) or (kind is PrinterCallback and in_job):
            callbacks[index] = LogLines(prefix=job_prefix())


__all__ = ["LogLines", "job_prefix", "lines_off_terminal", "named_job"]
