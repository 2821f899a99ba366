"""Progress bars: the project's own (`progress_bar`) and those that transformers, datasets
and huggingface_hub draw on their own (`library_bars`).

tqdm redraws a bar at most every 0.1 s: on a terminal the frames overwrite each other, but in
a file (`nohup ... > run.log`, a CI or Slurm log) each frame stays, ~60 bytes each, up to
~2 MB an hour per bar. `progress_bar` is tqdm's bar, redrawn at most every
`LOG_REFRESH_S` seconds where its stream (stderr unless `file=` names one) is not a
terminal; on a terminal it is tqdm's as it is. `disable=True` (a command's `--no_progress`)
still draws nothing.

A command's quiet switch (`--no_progress`, `train.py --disable_tqdm true`) turns off the
bars it draws itself; the libraries it calls draw theirs regardless ("Loading weights",
"Writing model shards", "Generating train split", a `Dataset.map`), one set per model
load, save and dataset read. `library_bars(False)` turns those off too while a command
runs, and leaves each library as it found it afterwards (a Python caller's own setting,
or an `HF_*_DISABLE_PROGRESS_BARS` variable, is kept).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def library_bars(enabled: bool) -> Iterator[None]:
    """Within the block, the libraries' progress bars are on (unchanged) or off."""
    if enabled:
        yield
        return
    import datasets
    import huggingface_hub.utils as hub_utils
    from transformers.utils import logging as transformers_logging

    hub_was_on = not hub_utils.are_progress_bars_disabled()
    datasets_was_on = not datasets.are_progress_bars_disabled()
    transformers_was_on = transformers_logging.is_progress_bar_enabled()
    if transformers_was_on:
        transformers_logging.disable_progress_bar()  # turns off the hub's bars, too
    if hub_was_on:
        hub_utils.disable_progress_bars()
    if datasets_was_on:
        datasets.disable_progress_bars()
    try:
        yield
    finally:
        if datasets_was_on:
            datasets.enable_progress_bars()
        if transformers_was_on:
            transformers_logging.enable_progress_bar()
        if hub_was_on:
            hub_utils.enable_progress_bars()
        elif transformers_was_on:  # enable_progress_bar turned the hub's back on
            hub_utils.disable_progress_bars()


__all__ = ["LOG_REFRESH_S", "is_terminal", "library_bars", "progress_bar"]
