"""The progress bars the project draws, redrawn less often when their stream is a log file.

tqdm redraws a bar at most every 0.1 s: on a terminal the frames overwrite each other, but in
a file (`nohup ... > run.log`, a CI or Slurm log) each frame stays, ~60 bytes each, up to
~2 MB an hour per bar. `progress_bar` is tqdm's bar, redrawn at most every
`LOG_REFRESH_S` seconds where its stream (stderr unless `file=` names one) is not a
terminal; on a terminal it is tqdm's as it is. `disable=True` (a command's `--no_progress`)
still draws nothing.
"""

from __future__ import annotations

import sys
from typing import Any

#: Seconds between two redraws of a bar written to a file, not a terminal.
LOG_REFRESH_S = 30.0


def is_terminal(stream: Any) -> bool:
    """Whether `stream` is an interactive terminal (a closed or odd stream is not)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def progress_bar(*args: Any, **kwargs: Any) -> Any:
    """`tqdm.auto.tqdm(*args, **kwargs)`, with `mininterval=LOG_REFRESH_S` where its stream
    is not a terminal and the caller set none (and a `maxinterval` no shorter: tqdm's
    monitor would otherwise redraw a slow bar every 10 s)."""
    from tqdm.auto import tqdm

    stream = kwargs.get("file") or sys.stderr
    if "mininterval" not in kwargs and not is_terminal(stream):
        kwargs["mininterval"] = LOG_REFRESH_S
        kwargs["maxinterval"] = max(kwargs.get("maxinterval", 10.0), LOG_REFRESH_S)
    return tqdm(*args, **kwargs)


__all__ = ["LOG_REFRESH_S", "is_terminal", "progress_bar"]
