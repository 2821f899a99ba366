"""A failed encoding of the training facts leaves no file in the `datasets` cache.

`datasets.Dataset.map` writes its cache file as a `tmp*` file in the cache folder of the rows
and renames it when complete. When a write fails (a full disk), `datasets` 5.2 finalizes the
writer once more in its error path; that write fails too, before the `tmp*` file is removed
(`arrow_dataset.py`, `_map_single`). The partial encoding then stayed, kept the disk full,
and a successful rerun wrote its own file beside it. `encoding_cache_errors` removes it and
names the folder. A Ctrl-C or SIGTERM that stops the encoding leaves no file either:
`datasets` removes it for `KeyboardInterrupt` only, not for SIGTERM's `prixlm.signals.Terminated`
(a partial encoding of every training fact, GBs at scale, stayed in the cache).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import datasets
from datasets.fingerprint import get_temporary_cache_files_directory

from prixlm.outputs.atomic import disk_errors

#: How `tempfile` names the file `datasets` writes a map's cache file in.
TEMP_PATTERN = "tmp*"


def map_cache_folder(rows: datasets.Dataset) -> Path | None:
    """The folder where `rows.map` writes its cache file, as `datasets` 5.2 chooses it
    (`Dataset._get_cache_file_path`): the folder of the rows' first cache file, or the
    process's temporary folder with caching disabled; None for rows in memory (no file)."""
    if not rows.cache_files:
        return None
    if not datasets.is_caching_enabled():
        return Path(get_temporary_cache_files_directory())
    return Path(rows.cache_files[0]["filename"]).parent


def _temp_files(folder: Path) -> set[Path]:
    if not folder.is_dir():
        return set()
    return {path for path in folder.glob(TEMP_PATTERN) if path.is_file()}


@contextmanager
def encoding_cache_errors(rows: datasets.Dataset) -> Iterator[None]:
    """Around `rows.map(...)`: on an `OSError` (or a Ctrl-C or SIGTERM that stops it), the
    `tmp*` files that appeared in the map's cache folder (`map_cache_folder`) since the block
    started are removed, and an error that names no file (a full disk) is raised again
    naming that folder (one `error:` line in the commands, `prixlm.cli.user_errors`); an
    error that names its file passes unchanged.

    A `tmp*` file that another process writes in that folder at that moment (an encoding of
    the same rows) is removed too: that encoding then fails naming its file."""
    folder = map_cache_folder(rows)
    if folder is None:  # rows in memory: no cache file
        yield
        return
    before = _temp_files(folder)
    try:
        with disk_errors(f"{folder} (HF_DATASETS_CACHE)", "the datasets cache"):
            yield
    except BaseException:  # also SIGTERM's `Terminated`, which `datasets` does not clean up
        for leftover in _temp_files(folder) - before:
            leftover.unlink(missing_ok=True)
        raise


__all__ = ["encoding_cache_errors", "map_cache_folder"]
