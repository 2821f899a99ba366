"""CPU threads that yield a busy core instead of spinning on it.

torch runs its CPU kernels on OpenMP threads (GNU libgomp in the CPU wheels). By default a
libgomp thread that waits at the end of a parallel region spins for about 300,000
iterations (milliseconds) before it sleeps. When another process holds one of the cores,
every parallel region then ends in a long spin-wait for the thread that is queued behind
that process: training on 2 cores ran at 0.3 steps/s beside one busy single-threaded job
instead of 6.4 steps/s on a quiet machine.

`configure_process()` runs at the top of `prixlm/__init__.py` (so before any
`python -m prixlm.*` module and before `train.py` imports torch):

- `OMP_WAIT_POLICY=PASSIVE` (waiting threads sleep at once) unless the user set
  `OMP_WAIT_POLICY` or `GOMP_SPINCOUNT` (libgomp's spin count; `GOMP_SPINCOUNT=300000` is
  libgomp's own default, i.e. the old behaviour);
- `PRIXLM_NUM_THREADS=N` sets the number of threads (`OMP_NUM_THREADS`, and
  `torch.set_num_threads` if torch is already loaded); otherwise `OMP_NUM_THREADS` or
  torch's default (one thread per usable core) is kept. A value that is no positive integer
  ends a command (`python -m prixlm.*`, `train.py`) with one `error:` line and exit status
  2; `import prixlm` in a program of its own raises `ThreadsSettingError` (a `ValueError`).

libgomp reads its environment once, when it is loaded (with torch): setting the wait policy
after `import torch` has no effect in that process (measured, see `docs/benchmarks.md`),
so set it in the shell if torch is imported before prixlm. Under `torchrun` each process
gets `OMP_NUM_THREADS=1` unless it is set; DataLoader workers run one thread each.
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping, Sequence
from pathlib import Path

WAIT_POLICY = "PASSIVE"
THREADS_VARIABLE = "PRIXLM_NUM_THREADS"

#: The folder holding the `prixlm` package (the repository, in an editable install): its
#: scripts (`train.py`) are the package's commands besides `python -m prixlm.*`.
_ROOT = Path(__file__).resolve().parents[1]


class ThreadsSettingError(ValueError):
    """`PRIXLM_NUM_THREADS` is set to something other than a positive integer."""


def requested_threads(environ: MutableMapping[str, str]) -> int | None:
    """The thread count of `PRIXLM_NUM_THREADS`, or None when it is unset or empty."""
    value = environ.get(THREADS_VARIABLE, "").strip()
    if not value:
        return None
    try:
        threads = int(value)
    except ValueError:
        threads = 0
    if threads < 1:
        raise ThreadsSettingError(f"{THREADS_VARIABLE}={value!r}: expected a positive integer")
    return threads


def configure_threads(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Set the OpenMP wait policy and thread count in `environ` (default: `os.environ`).

    Returns the variables it set (nothing that the user had set is changed, except that
    `PRIXLM_NUM_THREADS` takes precedence over `OMP_NUM_THREADS`).
    """
    environ = os.environ if environ is None else environ
    changed: dict[str, str] = {}
    if "OMP_WAIT_POLICY" not in environ and "GOMP_SPINCOUNT" not in environ:
        changed["OMP_WAIT_POLICY"] = WAIT_POLICY
    threads = requested_threads(environ)
    if threads is not None:
        changed["OMP_NUM_THREADS"] = str(threads)
    environ.update(changed)
    torch = sys.modules.get("torch")
    if threads is not None and torch is not None and hasattr(torch, "set_num_threads"):
        torch.set_num_threads(threads)  # torch is loaded already: the variable is too late
    return changed


def runs_a_command(argv: Sequence[str], orig_argv: Sequence[str]) -> bool:
    """Whether this process runs one of the package's commands: `python -m prixlm[.…]`
    (while `-m` imports the package to find its module, `sys.argv[0]` is `-m`) or a script
    beside the package (`train.py`). A program or `python -c` of a user's own is none."""
    if argv and argv[0] == "-m":
        for index, item in enumerate(orig_argv[1:], start=1):
            if item.startswith("-m"):
                module = item[2:] or (orig_argv[index + 1] if index + 1 < len(orig_argv) else "")
                return module == "prixlm" or module.startswith("prixlm.")
        return False
    if not argv or argv[0] in ("", "-c"):
        return False
    try:
        return Path(argv[0]).resolve().parent == _ROOT
    except (OSError, RuntimeError):
        return False


def configure_process() -> None:
    """`configure_threads()` for this process, as `import prixlm` runs it: a bad
    `PRIXLM_NUM_THREADS` ends a command with `error: <message>` and exit status 2 (it comes
    before the commands' `prixlm.cli.user_errors`, when a traceback helped nobody), and is
    raised (`ThreadsSettingError`) in a program of the user's own."""
    try:
        configure_threads()
    except ThreadsSettingError as error:
        if not runs_a_command(sys.argv, getattr(sys, "orig_argv", sys.argv)):
            raise
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


__all__ = [
    "THREADS_VARIABLE",
    "ThreadsSettingError",
    "WAIT_POLICY",
    "configure_process",
    "configure_threads",
    "requested_threads",
    "runs_a_command",
]
