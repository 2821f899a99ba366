"""Dump files to record files over processes, large plain files in parts.

`convert` writes one file's (or one part's) records: by the vectorised reader
(`read_blocks.write_records`, the default) or row by row (`read_rows.write_rows`, the
reference). `convert_all` runs every job of a build in `num_proc` processes. DBpedia ships
one large file per language and dataset, so one process per file would leave most cores
idle: a plain file larger than a part (`part_bytes`) is cut into parts of whole lines (each
part starts after a line end), a multi-stream `.bz2` file (as pbzip2 and lbzip2 write
them) into parts of whole streams (`bz2_streams`: each part decompressed by Python's `bz2`
on its own, lines shared out at line ends), converted like files of their own, to one
record file each.
Their counts are added up in file order and their `file:line` messages renumbered with the
lines of the parts before them, so that the counts and messages are the whole file's (in
strict mode the first malformed line of the file is the one raised). `seq` keeps the file's
order across parts (`read_rows.SEQ_PART`). A one-stream `.bz2` (as `bzip2` writes them) and
a `.gz` are read whole, one process each: such a stream cannot be entered at a byte
offset without an index of it.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import sys
import threading
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path

from tqdm.std import TMonitor

from prixlm.data.dbpedia.bz2_streams import stream_starts
from prixlm.data.dbpedia.dumps import ReadOptions
from prixlm.data.dbpedia.read_rows import Job, write_rows
from prixlm.data.ntriples import DumpError, MalformedLineError, ReadStats
from prixlm.library_bars import progress_bar

# Below this much input a pool's start-up (~1 s) costs more than the parsing it shares.
POOL_MIN_BYTES = 16 << 20
# Parts per process: more than one, so that the last parts to finish are small.
PARTS_PER_PROCESS = 4
PART_MIN_BYTES = 8 << 20
_SEARCH_BYTES = 1 << 16


def convert(job: Job, options: ReadOptions, vectorised: bool = True) -> ReadStats:
    """Write the records of one dump file (or part) to `job.output`; returns its counts.

    `vectorised`: the common lines in Arrow compute (`read_blocks`, the default), or every
    line by `read_triples` and `record_of` (`read_rows`, the reference: whole files only;
    same records, same counts). A write error without a file name (a full disk) gets the
    record file's.
    """
    try:
        if vectorised:
            from prixlm.data.dbpedia.read_blocks import write_records

            return write_records(job, options)
        if job.stop is not None:
            raise ValueError("the row-by-row reader reads whole files only")
        return write_rows(job, options)
    except OSError as error:  # Arrow's writer names no file ("Error writing bytes to file")
        if error.filename or error.errno is None:
            raise
        raise OSError(error.errno, os.strerror(error.errno), str(job.output)) from error


def _timed_convert(job: Job, options: ReadOptions) -> tuple[ReadStats, float]:
    """`convert` and the CPU seconds it took (in a worker process)."""
    start = time.process_time()
    stats = convert(job, options)
    return stats, time.process_time() - start


def line_starts(path: Path, count: int) -> list[int]:
    """Up to `count - 1` offsets that cut plain file `path` into about `count` parts of
    whole lines: each the position after the first LF at or past `k/count` of the file
    (sorted, distinct, inside the file)."""
    size = path.stat().st_size
    cuts: list[int] = []
    with open(path, "rb") as handle:
        for k in range(1, count):
            position = max(size * k // count, cuts[-1] if cuts else 0)
            handle.seek(position)
            while chunk := handle.read(_SEARCH_BYTES):
                found = chunk.find(b"\n")
                if found >= 0:
                    position += found + 1
                    break
                position += len(chunk)
            if (not cuts or position > cuts[-1]) and position < size:
                cuts.append(position)
    return cuts


def stream_cuts(path: Path, count: int) -> list[int]:
    """Up to `count - 1` offsets that cut the `.bz2` file `path` into about `count` parts
    of whole streams: each the first stream start at or past `k/count` of the file."""
    size = path.stat().st_size
    starts = stream_starts(path)
    cuts: list[int] = []
    for k in range(1, count):
        at = bisect_left(starts, size * k // count)
        if at < len(starts) and starts[at] > (cuts[-1] if cuts else 0):
            cuts.append(starts[at])
    return cuts


def split_jobs(jobs: Sequence[Job], part_bytes: int) -> dict[Job, list[Job]]:
    """Each job's parts: a plain or multi-stream `.bz2` file larger than `part_bytes` in
    parts of about that many bytes of the file (whole lines or whole streams; outputs
    `<output stem>-part<k>.parquet`), any other one whole."""
    parts: dict[Job, list[Job]] = {}
    for job in jobs:
        size = job.path.stat().st_size
        suffix = job.path.suffix.lower()
        if suffix == ".gz" or size <= part_bytes:
            parts[job] = [job]
            continue
        count = -(-size // part_bytes)
        cuts = stream_cuts(job.path, count) if suffix == ".bz2" else line_starts(job.path, count)
        if not cuts:
            parts[job] = [job]
            continue
        bounds = [0, *cuts, size]
        stem = job.output.stem
        parts[job] = [
            replace(
                job,
                output=job.output.with_name(f"{stem}-part{k:04d}.parquet"),
                start=start,
                stop=stop,
                part=k,
            )
            for k, (start, stop) in enumerate(zip(bounds, bounds[1:], strict=False))
        ]
    return parts


def _shift_line(message: str, name: str, lines_before: int) -> str:
    """`message` (`name:line: ...`) with its line number moved on by `lines_before`."""
    prefix = re.escape(name)
    return re.sub(
        rf"^{prefix}:(\d+)", lambda m: f"{name}:{int(m.group(1)) + lines_before}", message
    )


def _whole_file_error(error: DumpError, name: str, lines_before: int) -> DumpError:
    """A part's error as the whole file's (its line number counted from the file's start)."""
    if not lines_before:
        return error
    if isinstance(error, MalformedLineError):
        return MalformedLineError(error.path, error.line_number + lines_before, error.reason)
    return DumpError(_shift_line(str(error), name, lines_before))


def merge_parts(name: str, parts: Sequence[ReadStats]) -> ReadStats:
    """The counts of a whole file from its parts' (in file order): summed, with the first
    `max_reported` messages renumbered from the file's first line."""
    total = ReadStats()
    lines_before = 0
    for stats in parts:
        total.triples += stats.triples
        total.comments += stats.comments
        total.malformed += stats.malformed
        for error in stats.errors:
            if len(total.errors) < total.max_reported:
                total.errors.append(_shift_line(error, name, lines_before))
        total.lines += stats.lines
        lines_before += stats.lines
    return total


def convert_all(
    jobs: Sequence[Job],
    options: ReadOptions,
    num_proc: int = 1,
    part_bytes: int | None = None,
) -> tuple[list[Job], float]:
    """Convert every job's file, `num_proc` processes at a time (1, or less than
    `POOL_MIN_BYTES` of input: in this one), large plain files in parts (`split_jobs`;
    `part_bytes` default: the input over `PARTS_PER_PROCESS * num_proc`, at least
    `PART_MIN_BYTES`).

    With `num_proc` > 1, `num_proc - 1` worker processes and this one convert the parts
    (this one starts at once, while the workers start). The per-file counts are stored in
    `options.stats` under each file's path, in `jobs` order whatever order the parts finish
    in. Returns the jobs as run (their outputs are the record files) and the CPU seconds of
    the worker processes' conversions (0 without).
    """
    total = sum(job.path.stat().st_size for job in jobs)
    if num_proc <= 1 or total < POOL_MIN_BYTES:
        for job in progress_bar(jobs, desc="parse", unit=" files", disable=not options.progress):
            options.stats[str(job.path)] = convert(job, options)
        return list(jobs), 0.0
    if part_bytes is None:
        part_bytes = max(PART_MIN_BYTES, -(-total // (PARTS_PER_PROCESS * num_proc)))
    parts = split_jobs(jobs, part_bytes)
    run = [part for job in jobs for part in parts[job]]
    if len(run) <= 1:
        return convert_all(jobs, options, 1)
    quiet = ReadOptions(options.strict, False, options.max_line_bytes)
    context = _worker_context()
    if context.get_start_method() == "fork":
        from prixlm.data.dbpedia.read_blocks import warm_up

        warm_up()  # once here, not in every forked worker
    cpu = 0.0
    workers = min(num_proc - 1, len(run))
    # `num_proc - 1` workers and this process: it converts parts while the workers start.
    # The workers end with this process (`_end_with_parent`), even if it is killed.
    alive, keep_alive = context.Pipe(duplex=False)
    # A forked worker holds a copy of the write end: it closes it, or it keeps itself alive.
    inherited = keep_alive.fileno() if context.get_start_method() == "fork" else None
    with (
        keep_alive,
        alive,
        ProcessPoolExecutor(
            workers,
            mp_context=context,
            initializer=_end_with_parent,
            initargs=(alive, inherited),
        ) as pool,
    ):
        dispatch = _Dispatch(pool, run, quiet, workers)
        done = progress_bar(
            total=len(run), desc="parse", unit=" parts", disable=not options.progress
        )
        try:
            dispatch.run_here()
            for job in jobs:
                name, results, lines_before = str(job.path), [], 0
                for part in parts[job]:
                    try:
                        stats, seconds = dispatch.result(part)
                    except DumpError as error:
                        raise _whole_file_error(error, name, lines_before) from None
                    results.append(stats)
                    lines_before += stats.lines
                    cpu += seconds
                    done.update()
                options.stats[name] = merge_parts(name, results)
        except BaseException:
            dispatch.stop()
            raise
        finally:
            done.close()
    return run, cpu


def _worker_context() -> multiprocessing.context.BaseContext:
    """How the reader processes start: forked (on Linux) where this process runs no Python
    thread but its main one and tqdm's monitor, so that they start in milliseconds with
    the reader already imported; else from a forkserver, which imports the reader once
    (~0.5 s of CPU, ~1 s before the first worker reads). The build reads before DuckDB
    starts its threads; the native threads that run then (numpy's BLAS pool, Arrow's
    allocator and thread pools) reset themselves in a forked child (their at-fork
    handlers), and a worker creates no tqdm bar (whose lock the monitor may hold)."""
    others = [t for t in threading.enumerate() if t is not threading.main_thread()]
    if sys.platform.startswith("linux") and all(isinstance(t, TMonitor) for t in others):
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__, f"{__package__}.read_blocks"])
    return context


def _end_with_parent(parent: Connection, inherited: int | None = None) -> None:
    """Pool initializer: end this worker as soon as the build process ends.

    `parent` is the read end of a pipe whose write end only the build holds (a forked
    worker closes its copy, the descriptor `inherited`); the kernel closes it when the
    build ends in any way (SIGKILL included), and the read returns. Without this, the
    workers of a killed build (and with them the forkserver and the resource tracker)
    stayed, blocked forever on the pool's queue. A worker still starting (importing the
    build's modules, 1-3 s) ends once it has started.
    """
    if inherited is not None:
        os.close(inherited)

    def watch() -> None:
        try:
            parent.recv_bytes()
        except (EOFError, OSError):
            pass
        os._exit(1)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


class _Dispatch:
    """The parts, largest first (the last to finish then has the least left), taken one at
    a time by whoever is free: each worker process has one part at a time (the next is
    submitted when its part is done), and this process takes the next one whenever it has
    finished its own. (Submitted all at once, the pool's queue held two parts more for its
    worker than this process could take back: on 2 cores one process read 60% of the
    bytes while the other waited.)"""

    def __init__(
        self, pool: ProcessPoolExecutor, parts: Sequence[Job], options: ReadOptions, workers: int
    ):
        self._pool, self._options = pool, options
        self._left = deque(sorted(parts, key=lambda part: -_size(part)))
        self._lock = threading.Lock()
        self._results: dict[Job, Future] = {part: Future() for part in parts}
        for _ in range(workers):
            self._submit_next()

    def _take(self) -> Job | None:
        with self._lock:
            return self._left.popleft() if self._left else None

    def _submit_next(self, _done: Future | None = None) -> None:
        """Give a free worker the next part (a done callback: the worker is free again)."""
        part = self._take()
        if part is None:
            return
        try:
            future = self._pool.submit(_timed_convert, part, self._options)
        except RuntimeError:  # the pool is shutting down (an error stopped the reading)
            return
        future.add_done_callback(lambda done, part=part: self._finish(part, done))

    def _finish(self, part: Job, done: Future) -> None:
        result = self._results[part]
        if result.done():  # cancelled by `stop`
            return
        if done.cancelled():
            result.cancel()
        elif done.exception() is not None:
            result.set_exception(done.exception())
        else:
            result.set_result(done.result())
        self._submit_next()

    def run_here(self) -> None:
        """Convert parts in this process until none is left (or an error stops this
        process's share: the workers read the rest)."""
        while (part := self._take()) is not None:
            try:
                self._results[part].set_result((convert(part, self._options), 0.0))
            except DumpError as error:
                self._results[part].set_exception(error)
                return

    def result(self, part: Job) -> tuple[ReadStats, float]:
        """A part's counts and the CPU seconds a worker spent on it (0 here: this
        process's own CPU is counted by its caller); its error, raised."""
        return self._results[part].result()

    def stop(self) -> None:
        """No further part is started."""
        with self._lock:
            self._left.clear()
        for result in self._results.values():
            result.cancel()


def _size(job: Job) -> int:
    return (job.stop if job.stop is not None else job.path.stat().st_size) - job.start


__all__ = [
    "PARTS_PER_PROCESS",
    "PART_MIN_BYTES",
    "POOL_MIN_BYTES",
    "convert",
    "convert_all",
    "line_starts",
    "merge_parts",
    "split_jobs",
    "stream_cuts",
]
