"""Two processes that finish writing the same file at once, in a set order.

Process A runs until the point it is to write (`pause_before`), says so (`a_ready`) and
waits until process B has reached the shared file: B read it, wrote it (`signal_after`), or
waits for another writer's lock on it (`signal_on_lock_wait`: only a writer that waits for
the lock, as a read-modify-write does). A then goes on. Without a lock, B read the file
before A wrote it (a lost update); with one, B waits until A has published. No timing is
asserted: each process waits for a file the other makes.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SIGNALS = "TWO_WRITERS_SIGNALS"  # the folder of the signal files (environment variable)


def signal(name: str) -> None:
    """Make the signal file `name`."""
    (Path(os.environ[SIGNALS]) / name).touch()


def wait_for(name: str, limit_s: float = 120.0) -> None:
    """Wait until the signal file `name` exists (`TimeoutError` after `limit_s`: a hang)."""
    path = Path(os.environ[SIGNALS]) / name
    deadline = time.monotonic() + limit_s
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no signal {name}")
        time.sleep(0.02)


def _wrap(owner: Any, name: str, before: Callable[[], None], after: Callable[[], None]) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        before()
        result = original(*args, **kwargs)
        after()
        return result

    setattr(owner, name, wrapped)


def pause_before(owner: Any, name: str, when: Callable[..., bool] | None = None) -> None:
    """A's pause: before `owner.name` runs (when `when(*args)` holds), say `a_ready` and wait
    for `b_reached`; once only."""
    original = getattr(owner, name)
    done: list[bool] = []

    @functools.wraps(original)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not done and (when is None or when(*args, **kwargs)):
            done.append(True)
            signal("a_ready")
            wait_for("b_reached")
        return original(*args, **kwargs)

    setattr(owner, name, wrapped)


def signal_after(owner: Any, name: str) -> None:
    """B: say `b_reached` once `owner.name` has run (it read or wrote the shared file)."""
    _wrap(owner, name, lambda: None, lambda: signal("b_reached"))


def signal_on_lock_wait() -> None:
    """B: say `b_reached` when it starts waiting for a writer lock (`writer_lock` with a
    `wait_s`); a lock refused or taken at once (`wait_s` 0) says nothing."""
    from prixlm.outputs import lock

    class SignallingLock(lock.FileLock):
        def acquire(self, timeout: float | None = None, *args: Any, **kwargs: Any) -> Any:
            if timeout:
                signal("b_reached")
            return super().acquire(timeout, *args, **kwargs)

    lock.FileLock = SignallingLock


def run_two(script_a: str, script_b: str, signals: Path) -> list[subprocess.CompletedProcess]:
    """Run A (`python -c script_a`) and B (after A's `a_ready`) side by side; both results."""
    signals.mkdir(parents=True, exist_ok=True)
    path = os.pathsep.join([str(ROOT), str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": path, SIGNALS: str(signals)}
    b_script = f"from two_writers import wait_for\nwait_for('a_ready')\n{script_b}"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        for script in (script_a, b_script)
    ]
    done = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return done
