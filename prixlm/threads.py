"""CPU threads that yield a busy core instead of spinning on it.

torch runs its CPU kernels on OpenMP threads (GNU libgomp in the CPU wheels). By default a
libgomp thread that waits at the end of a parallel region spins for about 300,000
iterations (milliseconds) before it sleeps. When another process holds one of the cores,
every parallel region then ends in a long spin-wait for the thread that is queued behind
that process: training on 2 cores ran at 0.3 steps/s beside one busy single-threaded job
instead of 6.4 steps/s on a quiet machine.

`configure_threads()` runs at the top of `prixlm/__init__.py` (so before any
`python -m prixlm.*` module and before `train.py` imports torch):

- `OMP_WAIT_POLICY=PASSIVE` (waiting threads sleep at once) unless the user set
  `OMP_WAIT_POLICY` or `GOMP_SPINCOUNT` (libgomp's spin count; `GOMP_SPINCOUNT=300000` is
  libgomp's own default, i.e. the old behaviour);
- `PRIXLM_NUM_THREADS=N` sets the number of threads (`OMP_NUM_THREADS`, and
  `torch.set_num_threads` if torch is already loaded); otherwise `OMP_NUM_THREADS` or
  torch's default (one thread per usable core) is kept.

libgomp reads its environment once, when it is loaded (with torch): setting the wait policy
after `import torch` has no effect in that process (measured, see `docs/benchmarks.md`),
so set it in the shell if torch is imported before prixlm. Under `torchrun` each process
gets `OMP_NUM_THREADS=1` unless it is set; DataLoader workers run one thread each.
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping

WAIT_POLICY = "PASSIVE"
THREADS_VARIABLE = "PRIXLM_NUM_THREADS"


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
        raise ValueError(f"{THREADS_VARIABLE}={value!r}: expected a positive integer")
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


__all__ = ["THREADS_VARIABLE", "WAIT_POLICY", "configure_threads", "requested_threads"]
