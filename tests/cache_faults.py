"""Faults of the Hugging Face side that are not the dataset's: no connection to the Hub,
a read-only datasets cache, a SIGTERM while `datasets` writes a cache file."""

from __future__ import annotations

import errno
import os
import re
import signal
from pathlib import Path
from typing import Any

import datasets
import httpx2
import pytest


def no_connection(*args: object, **kwargs: object) -> None:
    """What `datasets` raises for a Hub id with no connection: huggingface_hub's
    `ConnectError` (its socket's error as context), re-raised `from None`."""
    try:
        raise OSError(errno.ENETUNREACH, "Network is unreachable")
    except OSError:
        raise httpx2.ConnectError("[Errno 101] Network is unreachable") from None


def read_only_datasets_cache(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    """`datasets` caches under `cache`, which cannot be created (as on a read-only mount:
    `datasets.builder` makes the cache root first)."""
    real_makedirs = os.makedirs

    def makedirs(name: str | os.PathLike[str], *args: object, **kwargs: object) -> None:
        if Path(name) == cache or cache in Path(name).parents:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(name))
        real_makedirs(name, *args, **kwargs)

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(cache))
    monkeypatch.setattr(os, "makedirs", makedirs)


def unreachable_hub(monkeypatch: pytest.MonkeyPatch, folder: Path, configs_read: bool) -> None:
    """A Hub id (run from `folder`, where no folder is named like it) whose rows cannot be
    reached, and its config names neither (`configs_read` False) or cached (True)."""
    monkeypatch.chdir(folder)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(datasets, "load_dataset", no_connection)
    names = (lambda *a, **k: ["de", "en", "links"]) if configs_read else no_connection
    monkeypatch.setattr(datasets, "get_dataset_config_names", names)


#: A temporary file of the datasets cache (`tmpXXXXXXXX`): a map's or a filter's output
#: while it is written.
TEMP_CACHE_FILE = r"/tmp[a-z0-9_]{8}$"


def sigterm_at_first_temp_write(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Send this process a SIGTERM right after `datasets` first writes to a temporary
    cache file (`TEMP_CACHE_FILE`); returns the list of the files so written."""
    from datasets.arrow_writer import ArrowWriter

    written: list[Path] = []

    def signalling(write: Any) -> Any:
        def write_then_signal(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = write(self, *args, **kwargs)
            if re.search(TEMP_CACHE_FILE, str(self._path)):  # not load_dataset's own files
                written.append(Path(self._path))
                os.kill(os.getpid(), signal.SIGTERM)
            return result

        return write_then_signal

    for name in ("write_batch", "write_table"):
        monkeypatch.setattr(ArrowWriter, name, signalling(getattr(ArrowWriter, name)))
    return written
