"""The shards' `COPY` statements side by side, as many at a time as DuckDB's threads and
its memory allow.

Each statement filters `rows` for one shard, sorts it and writes its Parquet file; its bytes
depend on the statement only, not on what runs beside it, so the order in which the
statements run changes no file. Measured on the 2-core VM (6.2M input lines under
`--memory_limit 4GB`, DuckDB 1.4.5; `docs/benchmarks.md`, "Spill at 16 threads"), one
statement holds 3.1-5.2 times its rows' Arrow bytes at 2 threads and 4.7-5.4 times at 8 and
16 (its sort and writer keep a state per thread); all nine shards at once at 16 threads
spilled ~1 GB to `--temp_dir` and doubled the stage's CPU time, one at a time spilled none.
So a statement starts only while the estimates of those running
(`COPY_MEMORY_PER_ARROW_BYTE` x Arrow bytes) fit in what the memory limit leaves beside
DuckDB's tables (`admissible`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager

import duckdb

#: The share of DuckDB's memory limit that `COPY` statements side by side run under. Memory
#: the limit does not count grows with them: under a 4GB limit (3.73 GiB) the process
#: peaked at 4.9 GiB at 8 and 16 threads on 16 cores; on 2 cores at 8 threads, 3.9-4.0 GiB
#: with the whole limit, 3.2 GiB with 3/4 of it (`docs/benchmarks.md`, "The build on many
#: cores").
SIDE_BY_SIDE_MEMORY_SHARE = 0.75
#: DuckDB memory a shard's `COPY` holds per Arrow byte of its rows (the largest measured: 5.4).
COPY_MEMORY_PER_ARROW_BYTE = 5.5


def admissible(pending: Sequence[int], running: int, budget: int, slots: int) -> list[int]:
    """Which of the `pending` statements (their memory estimates in bytes, largest first) to
    start now: first fit, in order, while the estimates of the running ones (`running`, their
    sum) and of those chosen stay within `budget` and at most `slots` are chosen. With
    nothing running, the first always starts, even over the budget (it runs alone)."""
    chosen: list[int] = []
    for index, need in enumerate(pending):
        if len(chosen) == slots:
            break
        if running + need <= budget or (running == 0 and not chosen):
            chosen.append(index)
            running += need
    return chosen


def copy_shards(
    con: duckdb.DuckDBPyConnection,
    statements: Sequence[str],
    progress: bool = False,
    memory_limit: str | None = None,
    arrow_bytes: Sequence[int] | None = None,
) -> None:
    """Run the `COPY` `statements` (largest first), at most as many at a time as DuckDB has
    threads, each on its own cursor of `con` (a connection to the same database) in a thread
    of this process (DuckDB runs without the GIL).

    One `COPY` kept 4.4 of 16 cores busy (its filter, sort and Parquet writer do not all
    spread over the threads), hence several at a time. With more than one at a time they run
    under `SIDE_BY_SIDE_MEMORY_SHARE` of DuckDB's memory limit (`memory_limit`: the build's
    `--memory_limit`; `memory_limit_share`). `arrow_bytes`, each statement's rows' Arrow
    bytes, bound them further: a statement starts only while the estimates of the running
    ones fit in that limit minus the memory DuckDB holds before the first starts (its
    tables; `admissible`). On an error the statements not started are dropped, the running
    ones interrupted, and the first error raised.
    """
    (threads,) = con.execute("SELECT current_setting('threads')").fetchone()
    width = max(1, min(int(threads), len(statements)))
    share = SIDE_BY_SIDE_MEMORY_SHARE if width > 1 else 1.0
    with memory_limit_share(con, share, memory_limit):
        needs, budget = [0] * len(statements), 0  # without sizes: `width` at a time
        if arrow_bytes is not None and width > 1:
            needs = [int(COPY_MEMORY_PER_ARROW_BYTE * n) for n in arrow_bytes]
            budget = memory_left(con)
        _run_side_by_side(con, statements, needs, budget, width, progress)


def memory_left(con: duckdb.DuckDBPyConnection) -> int:
    """Bytes of DuckDB's memory limit not held now (by its tables, mostly); may be negative."""
    (limit,) = con.execute("SELECT current_setting('memory_limit')").fetchone()
    (held,) = con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()
    return size_bytes(limit) - int(held or 0)


def _run_side_by_side(
    con: duckdb.DuckDBPyConnection,
    statements: Sequence[str],
    needs: Sequence[int],
    budget: int,
    width: int,
    progress: bool,
) -> None:
    """`copy_shards`' pool: `width` cursors, each running one statement at a time, started
    as `admissible` allows."""
    from prixlm.library_bars import progress_bar

    cursors = [con.cursor() for _ in range(width)]
    free = list(cursors)
    lock = threading.Lock()

    def run(statement: str) -> None:
        with lock:
            cursor = free.pop()
        try:
            cursor.execute(statement)
        finally:
            with lock:
                free.append(cursor)

    pending = list(zip(needs, statements, strict=True))
    running: dict[Future, int] = {}
    bar = progress_bar(total=len(statements), desc="parquet", disable=not progress)
    try:
        with ThreadPoolExecutor(width, thread_name_prefix="copy") as pool:
            try:
                while pending or running:
                    chosen = admissible(
                        [need for need, _ in pending], sum(running.values()), budget,
                        width - len(running),
                    )  # fmt: skip
                    for index in reversed(chosen):
                        need, statement = pending.pop(index)
                        running[pool.submit(run, statement)] = need
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        del running[future]
                        future.result()
                        bar.update()
            except BaseException:
                pending.clear()
                for cursor in cursors:
                    cursor.interrupt()
                raise
    finally:
        bar.close()
        for cursor in cursors:
            cursor.close()


_SIZE = re.compile(r"^\s*([0-9.]+)\s*((?:[KMGTP]i?)?B|bytes)?\s*$", re.IGNORECASE)
_UNIT = {"": 1, "b": 1, "bytes": 1}
for _power, _letter in enumerate("kmgtp", start=1):
    _UNIT[f"{_letter}b"] = 1000**_power
    _UNIT[f"{_letter}ib"] = 1024**_power


def size_bytes(text: str | None) -> int:
    """Bytes of a DuckDB size setting (`"4GB"`, `"512MiB"`, or as `current_setting` prints
    it: `"3.7 GiB"`, `"500.0 MiB"`)."""
    found = _SIZE.match(text) if isinstance(text, str) else None
    if found is None:
        raise ValueError(f"not a size: {text!r}")
    return int(float(found.group(1)) * _UNIT[(found.group(2) or "").lower()])


@contextmanager
def memory_limit_share(
    con: duckdb.DuckDBPyConnection, share: float, limit: str | None = None
) -> Iterator[None]:
    """Run the block with DuckDB's `memory_limit` at `share` of `limit` (the build's
    `--memory_limit`, which it is set back to), or of the limit `current_setting` prints
    when `limit` is None or not a size it reads (`4GB` prints as `3.7 GiB`)."""
    if share >= 1.0:
        yield
        return
    (setting,) = con.execute("SELECT current_setting('memory_limit')").fetchone()
    try:
        whole, setting = size_bytes(limit), limit
    except ValueError:
        whole = size_bytes(setting)
    con.execute(f"SET memory_limit = '{int(whole * share)}B'")
    try:
        yield
    finally:
        con.execute(f"SET memory_limit = '{setting}'")
