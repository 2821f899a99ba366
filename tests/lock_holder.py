"""Another process holding a folder's one-writer lock (`prixlm.outputs.lock.writer_lock`), as a
second command finds it while a first one writes there."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOLD = """
import sys
from prixlm.outputs.atomic import writer_lock

with writer_lock(sys.argv[1], argument="--output_dir"):
    print("held", flush=True)
    sys.stdin.read()  # until the test closes it
"""


@contextmanager
def lock_held(folder: str | Path) -> Iterator[int]:
    """A subprocess holds `folder`'s lock inside the block; yields its PID."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder.pid
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
