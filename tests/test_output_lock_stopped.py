"""A writer that holds an output's lock while stopped (Ctrl-Z, SIGSTOP) never ends by itself:
the second writer is told that it is stopped and how to resume or end it, not to wait."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from lock_holder import lock_held

from prixlm.outputs.atomic import OutputLockedError, writer_lock
from prixlm.outputs.lock import process_stopped

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs /proc")


@contextmanager
def stopped(pid: int) -> Iterator[None]:
    """Process `pid` is stopped (SIGSTOP) inside the block, and resumed after it."""
    os.kill(pid, signal.SIGSTOP)
    try:
        for _ in range(1000):  # the state changes once the kernel has stopped it
            if process_stopped(pid):
                break
            time.sleep(0.01)
        assert process_stopped(pid)
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def test_a_stopped_lock_holder_is_named_as_stopped_with_how_to_resume_it(tmp_path):
    out = tmp_path / "out"
    with lock_held(out) as pid:
        with pytest.raises(OutputLockedError) as running:
            with writer_lock(out, argument="--output_dir"):
                pass
        assert f"process {pid} on {socket.gethostname()}" in str(running.value)
        assert "is writing it; wait until it ends" in str(running.value)
        with stopped(pid), pytest.raises(OutputLockedError) as refused:
            with writer_lock(out, argument="--output_dir"):
                pass
        message = str(refused.value)
        assert message.startswith(f"--output_dir {out.resolve()}: process {pid} on ")
        assert "is stopped (suspended by Ctrl-Z or SIGSTOP) while writing it" in message
        assert f"`kill -CONT {pid}`" in message and "wait until it ends" not in message
        assert message.endswith("or choose another --output_dir")
        assert not process_stopped(pid)  # resumed: it ends as it would have


def test_a_stopped_writer_known_by_its_marker_only_is_named_as_stopped(tmp_path):
    """A writer of this host whose file lock is elsewhere (another /tmp namespace): its
    marker beside the output refuses, and it too is said to be stopped."""
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        marker = tmp_path / f".out.{socket.gethostname()}-{sleeper.pid}.writing"
        owner = {"host": socket.gethostname(), "pid": sleeper.pid, "command": ["build.py"]}
        marker.write_text(json.dumps(owner))
        with stopped(sleeper.pid), pytest.raises(OutputLockedError) as refused:
            with writer_lock(tmp_path / "out"):
                pass
        assert f"process {sleeper.pid} on " in str(refused.value)
        assert (
            f"is stopped (suspended by Ctrl-Z or SIGSTOP) while writing it; resume it with `kill -CONT {sleeper.pid}`"
            in str(refused.value)
        )
        assert marker.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_process_that_runs_or_is_gone_is_not_stopped():
    assert not process_stopped(os.getpid())
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert not process_stopped(gone.pid)
