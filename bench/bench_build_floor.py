"""The build's SQL vs its floor: how much of the SQL time the construction itself adds.

Run::

    .venv/bin/python bench/bench_build_floor.py [--size 3M] [--languages 2] [--threads 2]
        [--repeats 3] [--json results.json]

The dumps are `bench_build_scale.py`'s synthetic ones (reused from `--work_dir`). They are
parsed into record files once (`convert.convert_all`, `--threads` processes, timed), then
each repeat runs, each in a new DuckDB connection with the build's settings (4 GB limit,
`--threads` threads), on the same record files:

- **floor**: the least SQL that any build from the records must run: read the labels, join
  each fact's and each link's two ends with their labels, and write every row (the
  dataset's columns, `all_objects` a one-item list) to zstd Parquet. No deduplication, no
  entity ids, no splits, filters, lists or sorting;
- **build**: the build's own SQL (`tables.build_tables`, `splits.build_rows`,
  `output.write_shards`) with the default `SplitSettings`.

It prints the parse time, both SQL times (the least of the repeats) and their CPU times,
and, as the last line, build/floor SQL wall time. Parse + floor is the least wall time
that this design (records, then DuckDB) can reach at this size on these cores.

Also timed, once a repeat: **reading inside DuckDB**, the lower bound of any reader that
DuckDB could replace ours with: each plain dump file's lines by `read_csv` (one column;
comment lines dropped by a filter: with `comment = '#'`, DuckDB 1.4.5's parallel reader cut
a few lines at their `#`), cut into the record files' columns by string functions, into
tables. It does less than our reader (no N-Triples escapes, canonical IRIs, line checks or
`file:line` of a malformed line; the language from the file name), and DuckDB cannot read
DBpedia's `.bz2` files at all.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_build_scale import dumps_for, parse_size  # noqa: E402

from prixlm.data.dbpedia import engine  # noqa: E402
from prixlm.data.dbpedia.convert import convert_all  # noqa: E402
from prixlm.data.dbpedia.dumps import DumpIndex, ReadOptions, select_languages  # noqa: E402
from prixlm.data.dbpedia.output import write_shards  # noqa: E402
from prixlm.data.dbpedia.schema import SplitSettings  # noqa: E402
from prixlm.data.dbpedia.splits import build_rows  # noqa: E402
from prixlm.data.dbpedia.tables import build_tables, quote, sql_list  # noqa: E402
from prixlm.outputs.atomic import atomic_file  # noqa: E402

ENDS = {  # record file kind: (language of the object end, relation, row kind)
    "objects": ("f.language", "f.relation", "triple"),
    "links": ("f.other_language", "''", "link"),
}


def floor_sql(con, records: dict[str, list[Path]], out: Path) -> None:
    """The floor (module doc): labels, two label joins per row, every row written."""
    con.execute(
        f"CREATE TABLE labels AS SELECT language, iri, label "
        f"FROM read_parquet({sql_list(records['labels'])})"
    )
    for kind, (object_language, relation, row_kind) in ENDS.items():
        con.execute(
            f"""COPY (SELECT '{row_kind}' AS kind, s.label AS subject, {relation} AS relation,
                o.label AS object, f.language AS subject_language,
                {object_language} AS object_language, f.subject AS subject_id,
                {relation} AS relation_id, f.object AS object_id, [o.label] AS all_objects
            FROM read_parquet({sql_list(records[kind])}) f
            JOIN labels s ON s.language = f.language AND s.iri = f.subject
            JOIN labels o ON o.language = {object_language} AND o.iri = f.object)
            TO {quote(str(out / f"{kind}.parquet"))} (FORMAT parquet, COMPRESSION zstd)"""
        )


# How `duckdb_read` cuts a line of each kind (the synthetic dumps' shapes, no escapes).
_CUTS = {
    "labels": """substr(line, 2, strpos(line, '> ') - 2) AS iri,
        substr(line, strpos(line, '"') + 1,
            length(line) - strpos(line, '"') - length(split_part(line, '"@', -1)) - 2) AS label""",
    "objects": """substr(split_part(line, '> <', 1), 2) AS subject,
        split_part(line, '> <', 2) AS relation, rtrim(split_part(line, '> <', 3), '> .') AS object""",
    "links": """substr(split_part(line, '> <', 1), 2) AS subject,
        rtrim(split_part(line, '> <', 3), '> .') AS object""",
}


def duckdb_read(con, jobs: list) -> None:
    """Reading inside DuckDB (module doc): a table per kind of dump file."""
    for kind, cut in _CUTS.items():
        files = [job for job in jobs if job.kind == kind]
        lines = " UNION ALL ".join(
            f"""SELECT {quote(job.language)} AS language, line FROM read_csv(
                {quote(str(job.path))}, columns = {{'line': 'VARCHAR'}}, delim = '\t',
                quote = '', escape = '', header = false, auto_detect = false)
            WHERE NOT starts_with(line, '#')"""
            for job in files
        )
        con.execute(f"CREATE TABLE {kind} AS SELECT language, {cut} FROM ({lines})")


def check_same_records(con, records: dict[str, list[Path]]) -> None:
    """`duckdb_read`'s tables hold our reader's records (as multisets), or AssertionError."""
    for kind in _CUTS:
        columns = ", ".join(name for name, *_ in con.execute(f"DESCRIBE {kind}").fetchall())
        ours = f"SELECT {columns} FROM read_parquet({sql_list(records[kind])})"
        (differ,) = con.execute(
            f"""SELECT count(*) FROM ((FROM {kind} EXCEPT ALL {ours})
            UNION ALL ({ours} EXCEPT ALL FROM {kind}))"""
        ).fetchone()
        assert differ == 0, f"{kind}: {differ} rows differ from our reader's records"


def build_sql(con, records: dict[str, list[Path]], out: Path, languages: list[str]) -> None:
    """The build's own SQL, from the record files to the shards."""
    build_tables(con, records)
    build_rows(con, languages, SplitSettings())
    write_shards(con, out, progress=False)


def timed(run: Callable[[], None]) -> tuple[float, float]:
    """(wall, CPU) seconds of `run` (CPU of this process: DuckDB's threads are in it)."""
    start, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - start, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="3M", help="input lines, e.g. 1M or 3M")
    parser.add_argument("--languages", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic dumps")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work_dir", type=Path, default=Path("/tmp/prixlm_build_scale"))
    parser.add_argument("--json", type=Path, help="also write the figures here (JSON)")
    args = parser.parse_args(argv)

    dumps, counts = dumps_for(args.work_dir, parse_size(args.size), args.languages, args.seed)
    work = args.work_dir / f"floor_{dumps.name}"
    shutil.rmtree(work, ignore_errors=True)
    index = DumpIndex.scan(dumps)
    languages = select_languages(index, None)
    jobs = engine._jobs(index, languages, None, None, work / "records")
    converted: list = []
    parse_s, _ = timed(lambda: converted.extend(convert_all(jobs, ReadOptions(), args.threads)[0]))
    records = engine.record_files(converted)
    options = engine.EngineOptions(threads=args.threads, memory_limit="4GB")
    times: dict[str, list[tuple[float, float]]] = {"floor": [], "build": [], "read": []}
    for _ in range(args.repeats):
        for name in times:
            out = work / name
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            with engine.connect(work / f"db_{name}", options) as con:
                run = {
                    "floor": partial(floor_sql, con, records, out),
                    "build": partial(build_sql, con, records, out, languages),
                    "read": partial(duckdb_read, con, jobs),
                }[name]
                times[name].append(timed(run))
                if name == "read":
                    check_same_records(con, records)
    shutil.rmtree(work, ignore_errors=True)
    best = {name: min(runs) for name, runs in times.items()}
    print(f"{dumps.name}: {counts.total_lines:,} input lines, {args.threads} threads")
    print(f"parse (records, {args.threads} processes): {parse_s:.2f} s")
    for name, (wall, cpu) in best.items():
        walls = ", ".join(f"{w:.2f}" for w, _ in times[name])
        print(f"{name:5s} SQL: {wall:.2f} s wall, {cpu:.2f} s CPU (runs: {walls})")
    print(f"parse + floor SQL: {parse_s + best['floor'][0]:.2f} s")
    print(f"reading inside DuckDB instead of parse: {best['read'][0]:.2f} s (plain files only)")
    if args.json:
        result = {
            "command": "bench/bench_build_floor.py " + " ".join(argv or sys.argv[1:]),
            "dumps": dumps.name,
            "input_lines": counts.total_lines,
            "threads": args.threads,
            "parse_s": parse_s,
            "runs": {name: [list(run) for run in runs] for name, runs in times.items()},
        }
        with atomic_file(args.json) as staging:
            staging.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"build/floor SQL wall: {best['build'][0] / best['floor'][0]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
