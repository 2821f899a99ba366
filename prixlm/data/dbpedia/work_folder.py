"""The build's work folder (record files, DuckDB's spill), and what killed builds left.

A build works in `<temp_dir>/prixlm_build_<random>/` and removes it when it ends, in error
or not. A build that is killed (SIGKILL, out of memory, power) cannot: its folder, many GB
of records and spill at scale, would stay for good. So each work folder holds `owner.json`
(host name and process id), and every build first removes the work folders under its
`temp_dir` whose owner was a process of this host that no longer runs. A folder without a
readable owner file (not ours, or one being created) and one of another host (a shared
disk) are left alone.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prixlm.outputs.atomic import process_running

PREFIX = "prixlm_build_"
OWNER_FILE = "owner.json"
logger = logging.getLogger(__name__)


def remove_stale_work(temp_dir: str | Path) -> list[Path]:
    """Remove the work folders under `temp_dir` whose owner process (this host) is gone.

    Returns the folders removed (each also logged with its size).
    """
    removed = []
    for folder in sorted(Path(temp_dir).glob(PREFIX + "*")):
        try:
            owner = json.loads((folder / OWNER_FILE).read_text(encoding="utf-8"))
            pid = int(owner["pid"])
            if process_running(owner["host"], pid):
                continue
        except (OSError, ValueError, KeyError, TypeError):
            continue
        size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        shutil.rmtree(folder, ignore_errors=True)
        logger.warning(
            "removed %s (%.1f MB) of a build that died (pid %d)", folder, size / 1e6, pid
        )
        removed.append(folder)
    return removed


@contextmanager
def work_folder(temp_dir: str | Path | None) -> Iterator[Path]:
    """A new work folder under `temp_dir` (default: the system's), with its owner file,
    removed at the end; the work folders of dead builds there are removed first."""
    parent = Path(temp_dir) if temp_dir is not None else Path(tempfile.gettempdir())
    parent.mkdir(parents=True, exist_ok=True)
    remove_stale_work(parent)
    folder = Path(tempfile.mkdtemp(prefix=PREFIX, dir=parent))
    try:
        owner = {"host": socket.gethostname(), "pid": os.getpid()}
        (folder / OWNER_FILE).write_text(json.dumps(owner), encoding="utf-8")
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


__all__ = ["OWNER_FILE", "PREFIX", "remove_stale_work", "work_folder"]
