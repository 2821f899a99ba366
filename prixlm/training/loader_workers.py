"""DataLoader worker processes (`--dataloader_num_workers`) leave SIGTERM to the training
process.

A SIGTERM sent to the whole process group (`kill -- -PGID`, `timeout`, a scheduler's time
limit) reached the workers too: torch's worker handler ends a worker that a process other
than its parent signals, and the training process then failed at its next batch
(`RuntimeError: DataLoader worker ... exited unexpectedly`, a traceback) before the
Trainer's `--enable_jit_checkpoint` could save; without it, that error came over the
`terminated` ending. Now a worker drops a SIGTERM from anyone but its parent: the training
process decides (checkpoint and stop, or end as `terminated`) and its DataLoader ends the
workers as usual; the parent's SIGTERM (how `multiprocessing` ends its workers at exit,
and torch a worker that does not stop) still ends one at once.

A worker has SIGTERM blocked from its start and answered by one thread: it is forked with
it blocked (`_sigterm_blocked`) and the thread starts right after the fork
(`_after_fork`), so that a SIGTERM that came meanwhile is not merged with its parent's
(two SIGTERMs pending are one, with the first sender: the parent's would be lost and the
training process wait for the worker forever). A worker started otherwise (a `spawn` or
`forkserver` `--dataloader_multiprocessing_context`) does so in its `worker_init_fn`: a
SIGTERM before that ends it as before.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

#: Set in the training process while its DataLoader forks workers (`_sigterm_blocked`);
#: in a worker, its pid once SIGTERM is answered there (`_answer_sigterm`)
_FORKING_WORKERS: list[bool] = []
_ANSWERED_IN: list[int] = []


def _answer_the_parent_only(parent: int) -> None:
    """SIGTERM (blocked in every thread) ends this worker only when its parent sent it
    (exit status 0, as torch's worker handler answers its parent); any other is dropped."""
    while True:
        info = signal.sigwaitinfo({signal.SIGTERM})
        if info.si_pid == parent:
            os._exit(0)


def _answer_sigterm() -> None:
    """In a worker: block SIGTERM (the threads it starts later inherit it) and answer it in
    one thread (`_answer_the_parent_only`); once."""
    if _ANSWERED_IN and _ANSWERED_IN[-1] == os.getpid():
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    _ANSWERED_IN.append(os.getpid())
    threading.Thread(
        target=_answer_the_parent_only, args=(os.getppid(),), name="sigterm", daemon=True
    ).start()


def _after_fork() -> None:
    if _FORKING_WORKERS:  # a worker forked by `_sigterm_blocked`
        _FORKING_WORKERS.clear()
        _answer_sigterm()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def leave_sigterm_to_the_parent(worker_id: int, then: Callable[[int], Any] | None) -> None:
    """A DataLoader's `worker_init_fn`: SIGTERM answered in this worker (`_answer_sigterm`,
    done at the fork where the worker was forked), then the loader's own `worker_init_fn`
    (`then`: the Trainer's seeding)."""
    _answer_sigterm()
    if then is not None:
        then(worker_id)


def _sigterm_blocked(start: Callable[[], Any], forks: bool) -> Any:
    """`start()` (a DataLoader's `_get_iterator`, which starts its workers) with a SIGTERM
    to this process answered after it: its handler raised inside torch's iterator, half
    made, whose clean-up then failed too (`AttributeError` in `__del__`, a traceback after
    the `terminated` line). Where it forks the workers (`forks`), SIGTERM is blocked in
    this thread meanwhile: a worker is born with it blocked (`_after_fork`)."""
    deferred: list[int] = []
    main = threading.current_thread() is threading.main_thread()
    handler = signal.signal(signal.SIGTERM, lambda n, _: deferred.append(n)) if main else None
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM}) if forks else None
    if forks:
        _FORKING_WORKERS.append(True)
    try:
        return start()
    finally:
        _FORKING_WORKERS.clear()
        if before is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, before)
        if main:
            signal.signal(signal.SIGTERM, handler)
            if deferred:
                signal.raise_signal(signal.SIGTERM)


def workers_leave_sigterm(loader: Any) -> Any:
    """`loader` (a torch DataLoader, accelerate's included), whose worker processes leave
    SIGTERM to this process; a loader without workers, or on a platform without
    `sigwaitinfo` (Windows, macOS), is returned as it is."""
    torch_loader = getattr(loader, "base_dataloader", loader)  # accelerate's wraps one
    if not getattr(torch_loader, "num_workers", 0) or not hasattr(signal, "sigwaitinfo"):
        return loader
    started = vars(torch_loader).get("_get_iterator")
    if isinstance(started, partial) and started.func is _sigterm_blocked:
        return loader
    before = torch_loader.worker_init_fn
    # a loader made from one already done (accelerate's `skip_first_batches`, the resumed
    # epoch's) has its `worker_init_fn` but not its `_get_iterator`
    if not (isinstance(before, partial) and before.func is leave_sigterm_to_the_parent):
        torch_loader.worker_init_fn = partial(leave_sigterm_to_the_parent, then=before)
    context = torch_loader.multiprocessing_context
    if context is not None:
        method = context.get_start_method()
    else:  # the default's (without fixing it, as `multiprocessing.get_start_method()` would)
        method = multiprocessing.get_start_method(allow_none=True)
        method = method or multiprocessing.get_all_start_methods()[0]
    forks = method == "fork"
    torch_loader._get_iterator = partial(_sigterm_blocked, torch_loader._get_iterator, forks)
    return loader


class WorkersLeaveSigterm:
    """Trainer mixin: its DataLoaders' workers leave SIGTERM to the training process
    (`workers_leave_sigterm`)."""

    def get_train_dataloader(self, *args: Any, **kwargs: Any) -> Any:
        return workers_leave_sigterm(super().get_train_dataloader(*args, **kwargs))  # type: ignore[misc]

    def get_eval_dataloader(self, *args: Any, **kwargs: Any) -> Any:
        return workers_leave_sigterm(super().get_eval_dataloader(*args, **kwargs))  # type: ignore[misc]

    def get_resumed_dataloader(self, *args: Any, **kwargs: Any) -> Any:
        return workers_leave_sigterm(super().get_resumed_dataloader(*args, **kwargs))  # type: ignore[misc]


__all__ = ["WorkersLeaveSigterm", "leave_sigterm_to_the_parent", "workers_leave_sigterm"]
