"""Durable renames: what a rename publishes is on disk before the rename is.

A rename is atomic for readers, but not across a power cut: the file system may write the
new name before the data it points to, and after the restart a file under its final name
is empty or zero-filled (a JSON that no longer parses, a checkpoint that looks whole). So
`publish` (`prixlm.outputs.atomic`) first flushes every file and folder of the staged output
(`sync_tree`), and after the rename the folder holding the name (`sync_folder`), as git and
SQLite do. Where a file system cannot sync a folder (some network and Windows file
systems), that step is skipped: the rename stays atomic.
"""

from __future__ import annotations

import os
from pathlib import Path


def _sync_file(path: Path) -> None:
    """Flush `path`'s data to its disk (`fsync`)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def sync_folder(folder: Path) -> None:
    """Flush `folder`'s entries (the names in it) to its disk; a file system that cannot
    open or sync a folder (`OSError`: Windows, some network mounts) is left as it is."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def sync_tree(path: Path) -> None:
    """Flush `path` (a file, or a folder with every file and folder below it; links are
    not followed) to its disk before it is renamed into place."""
    if path.is_symlink():
        return
    if path.is_file():
        _sync_file(path)
        return
    for folder, subfolders, files in os.walk(path):
        for name in files:
            file = Path(folder, name)
            if not file.is_symlink() and file.is_file():  # not a FIFO or socket
                _sync_file(file)
        for name in subfolders:
            if not Path(folder, name).is_symlink():
                sync_folder(Path(folder, name))
    sync_folder(path)


__all__ = ["sync_folder", "sync_tree"]
