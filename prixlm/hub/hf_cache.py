"""Errors of the Hugging Face caches that name the variable to change.

`datasets` prepares a local Parquet folder's rows in `HF_DATASETS_CACHE` and transformers
copies a release's model code into `HF_MODULES_CACHE` (both under `HF_HOME`, by default
`~/.cache/huggingface`). Where that folder cannot be written (a read-only or full home
on a cluster), the system error names only a path such as `~/.cache`: the user is told
which variable moves it.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

#: The system errors of a folder that cannot be written (ENOTDIR: a file on its path).
UNWRITABLE = (
    errno.EROFS,
    errno.EACCES,
    errno.EPERM,
    errno.ENOTDIR,
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EFBIG,
)

HINT = "the Hugging Face cache: set HF_HOME (or HF_DATASETS_CACHE) to a writable folder"


def cache_folders() -> list[Path]:
    """The cache folders that `datasets`, `transformers` and `huggingface_hub` write (as the
    loaded libraries read them: `datasets.config`, transformers' `HF_MODULES_CACHE`). Not
    `HF_HOME` as a whole: it may be a project or scratch folder that also holds the user's
    own models and datasets (`HF_HOME=/scratch/$USER`), whose errors are theirs."""
    import datasets.config
    from huggingface_hub import constants

    folders = [constants.HF_HUB_CACHE, datasets.config.HF_DATASETS_CACHE]
    folders += [getattr(constants, name, None) for name in ("HF_XET_CACHE", "HF_ASSETS_CACHE")]
    modules = sys.modules.get("transformers.dynamic_module_utils")
    folders.append(
        getattr(modules, "HF_MODULES_CACHE", None)
        or os.environ.get("HF_MODULES_CACHE")
        or Path(constants.HF_HOME) / "modules"
    )
    return [Path(folder).expanduser().absolute() for folder in folders if folder]


def _related(path: Path, folder: Path) -> bool:
    """Whether `path` is `folder`, inside it, or a folder on the way to it."""
    return path == folder or folder in path.parents or path in folder.parents


def cache_error(error: BaseException, own: str | Path | None = None) -> OSError | None:
    """The unwritable-folder `OSError` in the chain of `error` whose path is a Hugging Face
    cache (or a folder on the way to one), its path followed by what to set; else None.
    A path inside `own` (the user's local model or dataset folder being read, even one in
    a cache) is the user's: None for it."""
    own_folder = Path(own).expanduser().absolute() if own is not None else None
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        if isinstance(link, OSError) and link.errno in UNWRITABLE and link.filename:
            path = Path(os.fsdecode(link.filename)).expanduser().absolute()
            if own_folder is not None and (path == own_folder or own_folder in path.parents):
                return None
            if any(_related(path, folder) for folder in cache_folders()):
                return OSError(link.errno, link.strerror, f"{link.filename} ({HINT})")
        link = link.__cause__ or link.__context__
    return None


__all__ = ["HINT", "cache_error", "cache_folders"]
