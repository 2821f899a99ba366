"""Running an experiment's jobs: each in a worker process (or, with one worker, in this
process one after the other), each writing its record `<work_dir>/jobs/<name>.json` when it
finishes, so that a new start runs only the jobs without a record made with the same plan.
Used by `prixlm.experiments.table1` and `prixlm.experiments.dbp5l`."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prixlm.outputs.atomic import write_json

#: a job: keyword arguments in, its record (a JSON object) out
JobFunction = Callable[..., dict[str, Any]]


def execute(
    name: str, function: JobFunction, kwargs: dict[str, Any], output: str, threads: int
) -> str:
    """Worker entry point: run one job with `threads` torch threads (0: as set; the count
    before is set back after), write its record with them (`jobs.record_threads`). What
    only the record needs is imported when the job is done: a job function whose module
    does not import the model code (the runner's own tests' jobs) starts without it; the
    experiments' job modules import `prixlm.experiments.jobs` themselves."""
    import torch

    from prixlm.training.log_lines import named_job

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        with named_job(name):  # its log lines name it: several workers write one log
            record = function(**kwargs)
        used = torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
    from prixlm.experiments.jobs import job_plan, record_threads

    record["job"] = name
    record_threads(record, kwargs, used)
    record["plan"] = job_plan(kwargs, Path(output).parent.parent)  # `job_done`
    write_json(record, output)
    return name


def record_summary(record: dict[str, Any]) -> str:
    """A job record's figures on one line: test MRR and hits@1 per language (each of the
    record's `test` metrics that has them; a DBP-5L job's, kept per protocol, those of its
    first protocol), and its seconds; the full record is its file."""
    parts = []
    for language, metrics in (record.get("test") or {}).items():
        if isinstance(metrics, dict) and "mrr" not in metrics:  # {protocol: metrics}
            cells = [cell for cell in metrics.values() if isinstance(cell, dict)]
            metrics = cells[0] if cells else None
        if isinstance(metrics, dict) and isinstance(metrics.get("mrr"), int | float):
            figures = f"{language} MRR {metrics['mrr']:.4f}"
            if isinstance(metrics.get("hits_at_1"), int | float):
                figures += f" hits@1 {metrics['hits_at_1']:.4f}"
            parts.append(figures)
    if record.get("seconds") is not None:
        parts.append(f"{record['seconds']} s")
    return ", ".join(parts)


def load_records(jobs_dir: Path) -> dict[str, dict[str, Any]]:
    return {
        path.stem: json.loads(path.read_text("utf-8")) for path in sorted(jobs_dir.glob("*.json"))
    }


class JobsFailed(RuntimeError):
    """Jobs that raised: their records were not written (a new start runs them again)."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = sorted(names)
        super().__init__(
            f"jobs failed: {', '.join(self.names)}; their records were not written, "
            "a new start runs them again"
        )


def same_command() -> str:
    """The command line this process runs (`python -m <module> <arguments>`): a runner
    stopped goes on where it was when it is run again."""
    import shlex

    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name:
        program = ["python", "-m", spec.name.removesuffix(".__main__")]
    else:
        program = ["python", sys.argv[0]]
    return shlex.join([*program, *sys.argv[1:]])


def _go_on() -> str:
    """The line a stopped runner ends its notes with: the command that goes on."""
    return f"to go on, run the same command again: {same_command()}"


def _report_failure(name: str, error: BaseException, started: float) -> None:
    """The failed job and its error (a worker's traceback included) on stderr."""
    print(f"[{time.time() - started:6.0f} s] {name} FAILED: {error!r}", file=sys.stderr)
    traceback.print_exception(error, file=sys.stderr)
    sys.stderr.flush()


def _stop(pool: Any) -> None:
    """Cancel the pool's jobs not yet started and end the workers running the others (a new
    start runs them again; trainings and KGE searches go on from what they kept,
    `prixlm.experiments.kept_runs`)."""
    # the executor has no call that ends running jobs: its worker processes, ended here
    processes = list((pool._processes or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(5)
        if process.is_alive():
            process.kill()
            process.join(5)


def _exit_at_once(status: int) -> None:
    """Flush the streams, then end this process with `status` without the interpreter's
    exit hooks: the pool's would wait on workers ended (or being ended) here."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


@contextmanager
def _end_on_sigterm(pool: Any, pending: dict[Any, str]) -> Iterator[None]:
    """While the jobs run: SIGTERM (`timeout`, a scheduler) ends the workers with this
    process, exit status 143 (by default it ended this process alone)."""
    if threading.current_thread() is not threading.main_thread():  # no handler there
        yield
        return

    def end(signum: int, frame: Any) -> None:
        unfinished = sorted(pending.values())
        print(f"stopped (SIGTERM): {len(unfinished)} jobs unfinished: {unfinished}; a new "
              f"start runs them again\n{_go_on()}", file=sys.stderr, flush=True)  # fmt: skip
        _stop(pool)
        _exit_at_once(143)

    before = signal.signal(signal.SIGTERM, end)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


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
    workers); `refresh()` after each that finishes. False when the deadline left some
    unfinished: the jobs not started are not started, the workers running the others are
    ended (a new start runs them again). A job that raises is reported on stderr and the
    others go on; then `JobsFailed` names the failed jobs (at the deadline too)."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from prixlm.data.dbpedia.convert import _end_with_parent
    from prixlm.experiments.jobs import job_done, threads_note, worker_threads

    threads = threads or worker_threads({"workers": workers})
    todo = {
        name: job
        for name, job in jobs.items()
        if name in again or not job_done(jobs_dir / f"{name}.json", job[1])
    }
    done, failed = len(jobs) - len(todo), []
    print(f"[{time.time() - started:6.0f} s] {done} of {len(jobs)} jobs already done", flush=True)
    # records of other settings (a profile edited, an earlier version's work folder): said
    replanned = [n for n in todo if n not in again and (jobs_dir / f"{n}.json").is_file()]
    if replanned:
        print(f"  run again, their records having other settings: {', '.join(replanned)}")
    kept = {n: r for n, r in load_records(jobs_dir).items() if n in jobs and n not in todo}
    if note := threads_note(kept, threads):
        print(note, flush=True)
    if again:
        print(f"evaluated again (their evaluation settings changed): {', '.join(again)}")

    def finished(name: str, error: BaseException | None) -> None:
        nonlocal done
        if error is not None:
            failed.append(name)
            _report_failure(name, error, started)
            return
        done += 1
        path = jobs_dir / f"{name}.json"
        figures = record_summary(json.loads(path.read_text("utf-8"))) if path.is_file() else ""
        print(f"[{time.time() - started:6.0f} s] {done}/{len(jobs)} {name} done"
              + (f": test {figures}" if figures else "") + f" (record: {path})", flush=True)  # fmt: skip
        refresh()

    def end(complete: bool) -> bool:
        if failed:
            raise JobsFailed(failed)
        return complete

    if workers == 1:  # in this process, one after the other (tests, debugging)
        for count, (name, (function, kwargs)) in enumerate(todo.items()):
            if deadline_s is not None and time.time() - started >= deadline_s:
                unfinished = sorted(list(todo)[count:])
                print(f"deadline reached: {len(unfinished)} jobs unfinished: {unfinished}")
                return end(False)
            try:
                execute(name, function, kwargs, str(jobs_dir / f"{name}.json"), threads)
            except Exception as error:  # reported; the other jobs go on
                finished(name, error)
            else:
                finished(name, None)
        return end(True)
    context = multiprocessing.get_context("spawn")
    # The workers end with this process (`_end_with_parent`): the write end of this pipe
    # is held here only, and the kernel closes it when this process ends in any way.
    alive, keep_alive = context.Pipe(duplex=False)
    with keep_alive, alive:
        pool = ProcessPoolExecutor(
            workers, mp_context=context, initializer=_end_with_parent, initargs=(alive,)
        )
        try:
            pending = {
                pool.submit(execute, name, fn, kw, str(jobs_dir / f"{name}.json"), threads): name
                for name, (fn, kw) in todo.items()
            }
            with _end_on_sigterm(pool, pending):
                while pending:
                    remaining = None if deadline_s is None else deadline_s - (time.time() - started)  # fmt: skip
                    if remaining is not None and remaining <= 0:
                        unfinished = sorted(pending.values())
                        print(f"deadline reached: {len(unfinished)} jobs unfinished: {unfinished}")  # fmt: skip
                        _stop(pool)
                        return end(False)
                    ready, _ = wait(pending, timeout=remaining, return_when=FIRST_COMPLETED)
                    for future in ready:
                        finished(pending.pop(future), future.exception())
        except BaseException:  # Ctrl-C, an error of `refresh`: no worker goes on alone
            _stop(pool)
            raise
        pool.shutdown()
    return end(True)


def run_to_the_end(
    jobs: dict[str, tuple[JobFunction, dict[str, Any]]],
    jobs_dir: Path,
    workers: int,
    refresh: Any,
    started: float,
    deadline_s: float | None,
    again: Sequence[str] = (),
    threads: int = 0,
) -> dict[str, Any]:
    """`run_jobs`, then a runner command's ending: the table `refresh()` returns; where jobs
    failed, the others' rows written and exit status 1 naming them; past the deadline (the
    unfinished jobs stopped), exit status 3 (a new start runs them); Ctrl-C: `interrupted`,
    exit status 130 (the workers ended with it); SIGTERM with `--workers 1` (the jobs in this
    process): `terminated`, 143, the running job's outputs removed (by default it ended the
    process at once, their staging left)."""
    from prixlm.signals import Terminated, signals_raise

    try:
        with signals_raise():
            complete = run_jobs(
                jobs, jobs_dir, workers, refresh, started, deadline_s, again, threads
            )
    except JobsFailed as failed:
        refresh()
        sys.exit(f"error: {failed}")
    except KeyboardInterrupt:  # `run_jobs` ended the workers before it got here
        print(_go_on(), file=sys.stderr)
        print("interrupted; a new start runs the unfinished jobs again", file=sys.stderr)
        _exit_at_once(130)
    except Terminated:
        print(_go_on(), file=sys.stderr)
        print("terminated; a new start runs the unfinished jobs again", file=sys.stderr)
        _exit_at_once(143)
    table = refresh()
    if not complete:
        _exit_at_once(3)
    return table
