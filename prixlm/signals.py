"""Ctrl-C and SIGTERM in a command (`prixlm.cli.user_errors`).

Meanwhile (`signals_raise`) Ctrl-C raises `KeyboardInterrupt` and SIGTERM (`timeout`, `kill`,
a scheduler's time limit) raises `Terminated` where the main thread is, so that the writers
remove their staging (by default SIGTERM ended the process at once, leaving it). Each is
remembered: an output is not given its name after a library dropped the exception (DuckDB
drops it when the signal comes as a query ends: `raise_if_signalled`), and an error raised
over it (DuckDB's `RuntimeError('Query interrupted')`) ends the command as the signal
(`received_signal`). A forked child (a reader process) acts as by default.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

#: What a command prints, and its exit status, when a signal ends it (as a shell reports it)
ENDINGS = {signal.SIGINT: ("interrupted", 130), signal.SIGTERM: ("terminated", 143)}


def received_signal() -> int | None:
    """The last Ctrl-C or SIGTERM the running command received, or None: an error raised
    over it (DuckDB turns the exception a signal raised during a query into
    `RuntimeError('Query interrupted')`; a module whose import it stopped fails later in its
    own way) ends the command as the signal."""
    return _RECEIVED[-1] if _RECEIVED else None


#: what the work that a signal stopped said of where it stopped (`said_at_signal`)
_NOTES: list[str] = []


@contextmanager
def said_at_signal(note: Callable[[], str | None]) -> Iterator[None]:
    """Meanwhile a Ctrl-C or SIGTERM that stops the work keeps `note()` (where it stopped,
    how to go on: train.py's step, last checkpoint and resume command), which
    `end_by_signal` prints above its line; a note that fails is left out."""
    try:
        yield
    except (KeyboardInterrupt, Terminated):
        try:
            text = note()
        except Exception:  # the signal's ending goes on without it
            text = None
        if text:
            _NOTES.append(text)
        raise


def end_by_signal(number: int, cause: BaseException) -> NoReturn:
    """Print the notes of the work stopped (`said_at_signal`), then the signal's line
    (`ENDINGS`) on a line of its own, and exit with its status."""
    line, status = ENDINGS[number]
    close_progress_bars()
    for note in _NOTES:
        print(note, file=sys.stderr)
    _NOTES.clear()
    print(line, file=sys.stderr)
    raise SystemExit(status) from cause


def close_progress_bars() -> None:
    """Close the tqdm progress bars still drawn (the Trainer's, which a signal leaves open):
    each ends its line as it closes. The ending line was written after a bar, on its line
    (`... 22.85it/s]interrupted`), and the bar drawn again below it at exit."""
    tqdm_std = sys.modules.get("tqdm.std")  # none drawn where tqdm is not loaded
    if tqdm_std is None:
        return
    for bar in list(getattr(tqdm_std.tqdm, "_instances", ())):
        try:
            bar.close()
        except Exception:  # a bar whose stream is closed: nothing to end
            pass


class Terminated(BaseException):
    """SIGTERM in a command (`user_errors`), raised as Ctrl-C raises `KeyboardInterrupt`."""


#: The signals (SIGINT, SIGTERM) the running command received, and its process: a forked
#: child (a reader process) inherits the handler and then acts as the default would.
_RECEIVED: list[int] = []
_COMMAND_PID: list[int] = []


def _on_signal(signum: int, frame: Any) -> None:
    if _COMMAND_PID and os.getpid() != _COMMAND_PID[-1]:  # a forked child: the default
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    _RECEIVED.append(signum)
    raise KeyboardInterrupt if signum == signal.SIGINT else Terminated(signum)


def raise_if_signalled() -> None:
    """Raise the Ctrl-C (`KeyboardInterrupt`) or SIGTERM (`Terminated`) this command has
    received, if any: a library that catches it (DuckDB drops the exception of a signal
    that comes as a query ends) would let the work go on and its output be published.
    Called before each output is given its name (`prixlm.outputs.atomic.publish`)."""
    if _RECEIVED:
        raise KeyboardInterrupt if _RECEIVED[-1] == signal.SIGINT else Terminated(_RECEIVED[-1])


@contextmanager
def signals_raise() -> Iterator[None]:
    """Meanwhile Ctrl-C and SIGTERM raise `KeyboardInterrupt` / `Terminated` and are
    remembered (`raise_if_signalled`), each where its default action held (a handler of the
    command's own, the Trainer's `--enable_jit_checkpoint`, say, is kept); only the main
    thread can set them."""
    defaults = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    ours = [n for n, default in defaults.items() if signal.getsignal(n) is default]
    _RECEIVED.clear()
    _COMMAND_PID.append(os.getpid())
    for number in ours:
        signal.signal(number, _on_signal)
    try:
        yield
    finally:
        for number in ours:
            signal.signal(number, defaults[number])
        _COMMAND_PID.pop()


def forget_answered() -> None:
    """Forget the signals of a command that has ended (outside any command now): a later
    output in this process is not refused."""
    if not _COMMAND_PID:
        _RECEIVED.clear()


__all__ = [
    "ENDINGS",
    "Terminated",
    "close_progress_bars",
    "end_by_signal",
    "forget_answered",
    "raise_if_signalled",
    "received_signal",
    "said_at_signal",
    "signals_raise",
]
