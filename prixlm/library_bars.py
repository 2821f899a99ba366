"""The progress bars that transformers, datasets and huggingface_hub draw on their own.

A command's quiet switch (`--no_progress`, `train.py --disable_tqdm true`) turns off the
bars it draws itself; the libraries it calls draw theirs regardless ("Loading weights",
"Writing model shards", "Generating train split", a `Dataset.map`), one set per model
load, save and dataset read. `library_bars(False)` turns those off too while a command
runs, and leaves each library as it found it afterwards (a Python caller's own setting,
or an `HF_*_DISABLE_PROGRESS_BARS` variable, is kept).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


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


__all__ = ["library_bars"]
