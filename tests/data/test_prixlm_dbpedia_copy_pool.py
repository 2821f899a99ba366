"""The shards' `COPY` statements start as DuckDB's threads and memory allow (`copy_pool`)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from prixlm.data.dbpedia import copy_pool
from prixlm.data.dbpedia.copy_pool import COPY_MEMORY_PER_ARROW_BYTE, admissible, copy_shards


@pytest.mark.parametrize(
    "pending, running, budget, slots, expected",
    [
        ([5, 4, 3], 0, 100, 8, [0, 1, 2]),  # all fit
        ([5, 4, 3], 0, 100, 2, [0, 1]),  # no more than the free threads
        ([6, 5, 3, 1], 0, 10, 8, [0, 2, 3]),  # first fit: 6, not 5 (11), then 3 and 1
        ([6, 5, 3], 4, 10, 8, [0]),  # beside 4 running: 6 fits, then nothing
        ([6, 5], 5, 10, 8, [1]),  # the largest waits, a smaller one goes
        ([50, 1], 0, 10, 8, [0]),  # nothing running: the first starts over the budget, alone
        ([50, 1], 3, 10, 8, [1]),  # something running: it waits
        ([0, 0, 0], 0, 0, 2, [0, 1]),  # no estimates: only the threads bound
        ([4, 4], 0, -5, 8, [0]),  # the tables exceed the limit: one at a time
    ],
)
def test_admissible_is_first_fit_within_budget_and_slots(
    pending: list[int], running: int, budget: int, slots: int, expected: list[int]
) -> None:
    assert admissible(pending, running, budget, slots) == expected


class _Result:
    def __init__(self, row: tuple) -> None:
        self.row = row

    def fetchone(self) -> tuple:
        return self.row


class _Connection:
    """Answers `copy_shards`' settings queries; its cursors record how many statements run
    at once (each takes 50 ms)."""

    def __init__(self, threads: int) -> None:
        self.threads, self.now, self.most, self.order = threads, 0, 0, []
        self.lock = threading.Lock()

    def execute(self, sql: str) -> _Result:
        if "'threads'" in sql:
            return _Result((str(self.threads),))
        if "'memory_limit'" in sql:
            return _Result(("4GB",))
        return _Result((None,))  # SET memory_limit

    def cursor(self) -> _Cursor:
        return _Cursor(self)


class _Cursor:
    def __init__(self, con: _Connection) -> None:
        self.con = con

    def execute(self, statement: str) -> None:
        with self.con.lock:
            self.con.now += 1
            self.con.most = max(self.con.most, self.con.now)
            self.con.order.append(statement)
        time.sleep(0.05)
        with self.con.lock:
            self.con.now -= 1

    def interrupt(self) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    "budget_shards, arrow_bytes, most",
    [
        (1.0, [100, 100, 100, 100], 1),  # room for one shard's estimate: one at a time
        (2.0, [100, 100, 100, 100], 2),
        (10.0, [100, 100, 100, 100], 3),  # room for all: the 3 threads bound
        (1.0, None, 3),  # no sizes given: as many as the threads
    ],
)
def test_statements_run_as_memory_allows(
    monkeypatch: pytest.MonkeyPatch, budget_shards: float, arrow_bytes, most: int
) -> None:
    """`memory_left` is what DuckDB's limit leaves beside its tables; each statement is
    estimated at `COPY_MEMORY_PER_ARROW_BYTE` x its Arrow bytes."""
    monkeypatch.setattr(
        copy_pool, "memory_left", lambda con: int(budget_shards * COPY_MEMORY_PER_ARROW_BYTE * 100)
    )
    con = _Connection(threads=3)
    statements = [f"COPY {k}" for k in range(4)]
    copy_shards(con, statements, memory_limit="4GB", arrow_bytes=arrow_bytes)  # type: ignore[arg-type]
    assert con.most == most
    assert sorted(con.order) == statements


def test_memory_left_is_the_limit_minus_what_the_tables_hold(tmp_path: Path) -> None:
    import duckdb

    con = duckdb.connect(":memory:", config={"threads": 2, "memory_limit": "1GB"})
    empty = copy_pool.memory_left(con)
    con.execute("CREATE TABLE t AS SELECT range AS i, repeat('x', 100) AS s FROM range(500000)")
    held = empty - copy_pool.memory_left(con)
    assert 500000 * 100 <= held <= 4 * 500000 * 100 + (16 << 20)
    assert empty <= 1_000_000_000
    # with sizes, the files are as without: every shard's rows, in order
    statements = [
        f"COPY (SELECT * FROM t WHERE i % 3 = {k} ORDER BY i) TO '{tmp_path / f'{k}.parquet'}' "
        "(FORMAT parquet)"
        for k in range(3)
    ]
    copy_shards(con, statements, memory_limit="1GB", arrow_bytes=[20_000_000] * 3)
    for k in range(3):
        assert pq.read_table(tmp_path / f"{k}.parquet").column("i").to_pylist() == list(
            range(k, 500000, 3)
        )
    con.close()
