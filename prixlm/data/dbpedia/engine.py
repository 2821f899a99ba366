"""The engine of the build: dump files to Parquet records, then DuckDB.

`construct` parses the dumps into record files (`convert`, `EngineOptions.num_proc`
processes, large plain files in parts) and builds the tables of `tables` in an in-memory DuckDB database that spills
to `<work>/spill` beyond `memory_limit`; `lengths` adds the tokenised lengths of the
length filter. `build.build_dataset` runs the rest (`splits`, `output`).
"""

from __future__ import annotations

import errno
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from prixlm.data.dbpedia.convert import convert_all
from prixlm.data.dbpedia.dumps import DumpIndex, ReadOptions, find_dump_files
from prixlm.data.dbpedia.output import DEFAULT_MAX_SHARD_BYTES, DEFAULT_MAX_SHARD_ROWS
from prixlm.data.dbpedia.profile import BuildProfile, ProfiledConnection
from prixlm.data.dbpedia.read_rows import Job
from prixlm.data.dbpedia.schema import RECORD_KINDS, Row, link_row, triple_row
from prixlm.data.dbpedia.tables import build_tables, quote


@dataclass(frozen=True)
class EngineOptions:
    """How the build runs: worker processes for parsing, DuckDB threads, its memory limit
    (`"4GB"`; None: DuckDB's default, 80% of the RAM) and spill folder, the shard bounds."""

    num_proc: int = 1
    threads: int | None = None
    memory_limit: str | None = None
    temp_dir: str | Path | None = None
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES
    max_shard_rows: int = DEFAULT_MAX_SHARD_ROWS


class EngineMemoryError(MemoryError):
    """DuckDB ran out of memory under the build's `--memory_limit` (`memory_errors`)."""


#: An I/O error of DuckDB: `IO Error: Could not write file "<path>": <reason>`.
_IO_ERROR = re.compile(r'file "(?P<path>[^"]+)"(?::\s*(?P<reason>[^\n]+))?', re.IGNORECASE)
_REASONS = {
    "no space left on device": errno.ENOSPC,
    "file too large": errno.EFBIG,
    "disk quota exceeded": errno.EDQUOT,
    "too many open files in system": errno.ENFILE,  # before EMFILE's words, which it holds
    "too many open files": errno.EMFILE,
}


@contextmanager
def memory_errors(engine: EngineOptions) -> Iterator[None]:
    """Turn DuckDB's out-of-memory error into an `EngineMemoryError` that names the
    arguments to change (DuckDB's own message names its `SET` statements; a "bad
    allocation" is the process's limit, not DuckDB's: a lower `--memory_limit`), its I/O errors
    into an `OSError` naming the file, and a full spill disk (DuckDB stops spilling at 90%
    of the spill disk's free space, and says "out of memory") into an `OSError` naming
    `--temp_dir`."""
    try:
        yield
    except duckdb.OutOfMemoryException as error:
        reason = str(error).splitlines()[0]
        if "max_temp_directory_size" in str(error):
            reason = reason.removeprefix("Out of Memory Error: ").rstrip(".")
            spill = engine.temp_dir or "(none: the staging folder beside --output_dir)"
            raise OSError(
                errno.ENOSPC,
                f"the SQL engine's spill files filled it ({reason}); free space there or "
                "choose a larger disk with --temp_dir; nothing was written",
                f"--temp_dir {spill}",
            ) from None
        limit = engine.memory_limit or "(default: 80% of the RAM)"
        threads = engine.threads or "(default: every core)"
        if "bad allocation" in reason:  # refused by the system (`ulimit -v`, a cgroup)
            raise EngineMemoryError(
                f"--memory_limit {limit}, --threads {threads}: the process's memory limit "
                f"was reached before the SQL engine's ({reason}: the operating system refused "
                "memory, as under `ulimit -v` or a container's limit); lower --memory_limit "
                "well below the process's limit, or raise that limit; nothing was written"
            ) from None
        raise EngineMemoryError(
            f"--memory_limit {limit}, --threads {threads}: the SQL engine ran out of memory "
            f"({reason}); raise --memory_limit or lower --threads; nothing was written"
        ) from None
    except duckdb.IOException as error:
        raise duckdb_os_error(error) from None


def duckdb_os_error(error: duckdb.Error) -> OSError:
    """The `OSError` (errno, reason, the file) of a DuckDB I/O error."""
    text = str(error).removeprefix("IO Error: ")
    found = _IO_ERROR.search(text)
    if found is None:
        return OSError(errno.EIO, text.splitlines()[0] if text else "I/O error")
    reason = (found.group("reason") or text.splitlines()[0]).strip()
    code = next((c for key, c in _REASONS.items() if key in reason.lower()), errno.EIO)
    return OSError(code, reason, found.group("path"))


def connect(work: Path, engine: EngineOptions) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB database that spills to `work/spill`, with `engine`'s limits.

    Its tables, too, leave the memory for `work/spill` when the limit is reached (measured
    with DuckDB 1.4.5: a 1.9 GB table under a 500 MB limit, 1.3 GB of it in the spill folder,
    RSS 0.55 GB); a database file instead would compress and write every table it creates,
    which took half the SQL stages' time. Insertion order is not kept (less memory)."""
    config: dict[str, Any] = {
        "temp_directory": str(work / "spill"),
        "preserve_insertion_order": False,
    }
    if engine.threads is not None:
        config["threads"] = engine.threads
    if engine.memory_limit is not None:
        config["memory_limit"] = engine.memory_limit
    try:
        work.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(":memory:", config=config)
    except duckdb.Error as error:
        raise ValueError(f"--memory_limit / --threads: {error}") from None


def construct(
    index: DumpIndex,
    languages: list[str],
    work: Path,
    options: ReadOptions,
    engine: EngineOptions | None = None,
    *,
    pivots: Sequence[str] | None = None,
    ontology: str | Path | None = None,
    profile: BuildProfile | None = None,
) -> duckdb.DuckDBPyConnection:
    """Parse the dumps of `languages` into record files under `work` and build the tables
    of `tables` in a new DuckDB connection (returned; the caller closes it). With
    `profile`, the reading and every statement are timed."""
    engine = engine or EngineOptions()
    jobs = _jobs(index, languages, list(pivots) if pivots else None, ontology, work / "records")
    with (profile or BuildProfile()).stage("read: dumps -> record files") as workers:
        jobs, cpu = convert_all(jobs, options, engine.num_proc)
        workers.append(cpu)
    con = connect(work, engine)
    if profile is not None:  # every statement timed
        con = ProfiledConnection(con, profile)
    try:
        build_tables(con, record_files(jobs), pivots=pivots)
    except BaseException:
        con.close()
        raise
    return con


def record_files(jobs: Sequence[Job]) -> dict[str, list[Path]]:
    """`{kind: [record file, ...]}` of every kind of `schema.RECORD_KINDS`, in `jobs`' order."""
    files: dict[str, list[Path]] = {kind: [] for kind in RECORD_KINDS}
    for job in jobs:
        files[job.kind].append(job.output)
    return files


def _jobs(
    index: DumpIndex,
    languages: list[str],
    pivots: list[str] | None,
    ontology: str | Path | None,
    folder: Path,
) -> list[Job]:
    """The dump files to convert (`convert`), each to its own Parquet file in `folder`."""
    built = tuple(languages)
    jobs = []
    for language in languages:
        files = find_dump_files(index, language)
        for kind, path in (
            ("labels", files.labels),
            ("objects", files.objects),
            ("links", files.links),
        ):
            if path is not None:
                output = folder / f"{kind}-{language}.parquet"
                jobs.append(
                    Job(kind, path, output, language, built, tuple(pivots) if pivots else None)
                )
    for number, path in enumerate(index.hub_files):
        jobs.append(Job("hub", path, folder / f"hub-{number}.parquet", None, built))
    if ontology is not None:
        jobs.append(Job("ontology", Path(ontology), folder / "ontology.parquet"))
    return jobs


def lengths(con: duckdb.DuckDBPyConnection, length: Callable[[Row], int], work: Path) -> None:
    """Tables `text_lengths` and `link_lengths`: the tokenised length of every distinct text
    row and link direction, computed a batch at a time (memory: one batch)."""
    queries = {
        "text_lengths": (
            "SELECT DISTINCT language, subject, relation, object FROM texts",
            lambda lang, s, r, o: triple_row(lang, (s, r, o), ("", "", "")),
        ),
        "link_lengths": (
            """SELECT DISTINCT subject_language, subject, object_language, object
            FROM link_ends""",
            lambda sl, s, ol, o: link_row((sl, "", s), (ol, "", o)),
        ),
    }
    for table, (query, make_row) in queries.items():
        path = work / f"{table}.parquet"
        reader = con.execute(query).fetch_record_batch(50_000)
        with pq.ParquetWriter(path, reader.schema.append(pa.field("n", pa.int64()))) as writer:
            for batch in reader:
                keys = batch.to_pydict().values()
                counts = [length(make_row(*key)) for key in zip(*keys, strict=True)]
                writer.write_batch(batch.append_column("n", pa.array(counts, pa.int64())))
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet({quote(str(path))})")


__all__ = [
    "EngineMemoryError",
    "EngineOptions",
    "connect",
    "construct",
    "duckdb_os_error",
    "lengths",
    "memory_errors",
    "record_files",
]
