"""Running an experiment's jobs: each in a worker process (or, with one worker, in this
process one after the other), each writing its record `<work_dir>/jobs/<name>.json` when it
finishes, so that a new start runs only the jobs without a record made with the same plan.
Used by `prixlm.experiments.table1` and `prixlm.experiments.dbp5l`."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from prixlm.atomic_output import write_json

#: a job: keyword arguments in, its record (a JSON object) out
JobFunction = Callable[..., dict[str, Any]]


def execute(
    name: str, function: JobFunction, kwargs: dict[str, Any], output: str, threads: int
) -> str:
    """Worker entry point: run one job with `threads` torch threads (0: as set; the count
    before is set back after), write its record with them (`jobs.record_threads`)."""
    import torch

    from prixlm.experiments.jobs import job_plan, record_threads

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        record = function(**kwargs)
        used = torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
    record["job"] = name
    record_threads(record, kwargs, used)
    record["plan"] = job_plan(kwargs, Path(output).parent.parent)  # `job_done`
    write_json(record, output)
    return name


def load_records(jobs_dir: Path) -> dict[str, dict[str, Any]]:
    return {
        path.stem: json.loads(path.read_text("utf-8")) for path in sorted(jobs_dir.glob("*.json"))
    }


def run_jobs(
    jobs: dict[str, tuple[JobFunction, dict[str, Any]]],
    jobs_dir: Path,
    workers: int,
    refresh: Any,
    started: float,
    deadline_s: float | None,
    again: Sequence[str] = (),
    threads: int = 0,
) -> bool:
    """Run the jobs without a record in `jobs_dir`, and those named in `again` (their
    record is replaced when they finish), each with `threads` torch threads (0: cores //
    workers); `refresh()` after each. False when the deadline left some unfinished (their
    workers are left behind; a re-run finishes them)."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from prixlm.experiments.jobs import job_done, threads_note, worker_threads

    threads = threads or worker_threads({"workers": workers})
    todo = {
        name: job
        for name, job in jobs.items()
        if name in again or not job_done(jobs_dir / f"{name}.json", job[1])
    }
    done = len(jobs) - len(todo)
    print(f"[{time.time() - started:6.0f} s] {done} of {len(jobs)} jobs already done", flush=True)
    kept = {n: r for n, r in load_records(jobs_dir).items() if n in jobs and n not in todo}
    if note := threads_note(kept, threads):
        print(note, flush=True)
    if again:
        print(f"evaluated again (their evaluation settings changed): {', '.join(again)}")
    if workers == 1:  # in this process, one after the other (tests, debugging)
        for count, (name, (function, kwargs)) in enumerate(todo.items()):
            if deadline_s is not None and time.time() - started >= deadline_s:
                unfinished = sorted(list(todo)[count:])
                print(f"deadline reached: {len(unfinished)} jobs unfinished: {unfinished}")
                return False
            execute(name, function, kwargs, str(jobs_dir / f"{name}.json"), threads)
            done += 1
            print(f"[{time.time() - started:6.0f} s] {done}/{len(jobs)} {name} done", flush=True)
            refresh()
        return True
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    pending = {
        pool.submit(execute, name, fn, kw, str(jobs_dir / f"{name}.json"), threads): name
        for name, (fn, kw) in todo.items()
    }
    while pending:
        remaining = None if deadline_s is None else deadline_s - (time.time() - started)
        if remaining is not None and remaining <= 0:
            print(f"deadline reached: {len(pending)} jobs unfinished: {sorted(pending.values())}")
            return False
        finished, _ = wait(pending, timeout=remaining, return_when=FIRST_COMPLETED)
        for future in finished:
            name, error = pending.pop(future), future.exception()
            done += 1
            status = f"FAILED: {error!r}" if error else "done"
            print(f"[{time.time() - started:6.0f} s] {done}/{len(jobs)} {name} {status}", flush=True)  # fmt: skip
            refresh()
    pool.shutdown()
    return True
