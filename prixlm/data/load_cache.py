"""Names of a build folder's config in `datasets`' cache, and the removal of superseded ones.

`prixlm.data.loading.load_kb` loads a folder's Parquet files with the `parquet` builder
under the config name `cache_names` gives: `files-<key>-<state>`, the key a digest of the
folder's path and the config, the state one of every file's path, size, mtime, inode and
ctime (`files_state`, `file_state`), so that any rewrite gets its own cache entry. Once the
rows are prepared, the entries of that folder and config in an earlier state can never be
used again and are removed (`remove_superseded`), at best.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import time
from pathlib import Path

import datasets


def escaped_root(files: dict[str, list[str]], dataset: str | Path) -> dict[str, list[str]]:
    """`files` (absolute paths under `dataset`) as glob patterns: the folder's path literally
    (`[` or `*` in it are no patterns: `runs[1]/data`), the card's paths as the card gives
    them (`de/train*.parquet` is one, as on the Hub)."""
    root = str(Path(dataset).absolute())
    return {
        name: [glob.escape(root) + path[len(root) :] for path in paths]
        for name, paths in files.items()
    }


def cache_names(files: dict[str, list[str]], dataset: str | Path, config: str) -> tuple[str, str]:
    """`(prefix, name)`: the config name for `datasets`' cache, `files-<key>-<state>`, and
    its part shared by every state of `dataset`'s `config`, `files-<key>-`. The key is a
    digest of the folder's path (as the data files name it) and `config`, the state one of
    `files_state`; both hexadecimal (`datasets` allows no `/`, `:` and the like in it)."""
    where = repr((str(Path(dataset).absolute()), config)).encode()
    prefix = f"files-{hashlib.sha256(where).hexdigest()[:16]}-"
    return prefix, prefix + files_state(files, dataset)


def files_state(files: dict[str, list[str]], dataset: str | Path) -> str:
    """A digest of the state of every file that `files` match: path, size, mtime, inode and
    ctime (`os.stat`), so that a rewritten file is loaded again even when its mtime was
    restored."""
    digest = hashlib.sha256()
    for name, patterns in sorted(escaped_root(files, dataset).items()):
        for pattern in patterns:
            for file in sorted(glob.glob(pattern, recursive=True)):
                digest.update(repr((name, file, *file_state(file))).encode())
    return digest.hexdigest()[:16]


#: A superseded cache entry written to within this many seconds may be another process's,
#: still in use (a `.map` writing its cache file there): it is left to a later load.
IN_USE_SECONDS = 3600


def _recently_written(path: str) -> bool:
    """Whether `path` (a file, or a folder and its files) was written within
    `IN_USE_SECONDS`."""
    newest = os.stat(path).st_mtime
    for root, _, files in os.walk(path):
        for file in files:
            with contextlib.suppress(OSError):
                newest = max(newest, os.stat(os.path.join(root, file)).st_mtime)
    return newest > time.time() - IN_USE_SECONDS


def remove_superseded(prefix: str, name: str) -> None:
    """Remove the `parquet` entries of `datasets`' cache whose config name begins with
    `prefix` but not with `name` (the entry just prepared), and their `.lock` files, at
    best: what another process removes first, what cannot be removed, and what was written
    within `IN_USE_SECONDS` (another process may still use it) are left alone.

    An entry is the folder `<root>/parquet/<name>-<data files digest>`; `datasets` leaves
    the file `<that folder's path, "/" as "_">_<version>_<digest>.lock` in `<root>`.
    """
    import shutil

    entries = Path(os.path.expanduser(str(datasets.config.HF_DATASETS_CACHE))) / "parquet"
    for folder, path in (
        (entries, ""),
        (entries.parent, entries.as_posix().replace("/", "_") + "_"),
    ):
        try:
            found = list(os.scandir(folder))
        except OSError:  # no such folder
            continue
        for entry in found:
            if entry.name.startswith(path + prefix) and not entry.name.startswith(path + name):
                with contextlib.suppress(OSError):
                    if _recently_written(entry.path):
                        continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)


def file_state(path: str | os.PathLike[str]) -> tuple[int, int, int, int]:
    """What tells a rewritten file from the one before (`os.stat`): size, mtime, inode and
    ctime. The mtime alone misses a rewrite with the old mtime restored (`cp -p`, `rsync -a`,
    `tar x`); the ctime cannot be set back, and a file written anew and moved in place has
    another inode."""
    info = os.stat(path)
    return (info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns)
