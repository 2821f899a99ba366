"""Checks of an output path before any work (`prixlm.outputs.atomic` makes them): that a file
can be made where the output goes (`check_writable`), and that the path is no device, pipe
or socket that the finished output would be renamed over (`check_not_special`)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from prixlm.cli import UsageError


def check_writable(final: Path, argument: str, probe: Path) -> None:
    """Before any work: a file (`probe`, e.g. `final`'s staging) can be made where the
    output of `argument` is written after the work; else the `OSError`, naming `argument`
    (a folder that cannot be written, read-only or another user's, failed only after the
    work, an hour of evaluation lost, naming a hidden staging file)."""
    try:
        descriptor = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # this process's own staging: it is replaced when written
        return
    except OSError as error:
        raise type(error)(
            error.errno,
            f"{error.strerror} (no file can be written in {probe.parent})",
            f"{argument} {final}",
        ) from error
    os.close(descriptor)
    probe.unlink()


def check_not_special(final: Path, argument: str) -> None:
    """`UsageError` where `final` (its link followed) is a device, a pipe or a socket
    (`/dev/null`, `/dev/stdout`, a FIFO): the output is written beside it and renamed over
    it, which replaced the device or pipe by a regular file (root's `/dev/null` included)."""
    try:
        mode = final.stat().st_mode
    except (OSError, ValueError):
        return
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise UsageError(
            f"{argument} {final}: not a regular file (a device, a pipe or a socket); the "
            "output is written to a file, then renamed over this path: give a file path"
        )


__all__ = ["check_not_special", "check_writable"]
