"""The build's first stage, dump files to record files: row by row (before) vs vectorised.

Run::

    .venv/bin/python bench/bench_records.py [--dump_dir DIR] [--languages 2]
        [--entities 100000] [--repeats 2]

Input: the `.ttl` files of a synthetic dump folder (`bench/synthetic_dumps.py`), written to
`--dump_dir` first if it holds none (default: `/tmp/prixlm_bench_records/dumps_<L>x<N>`);
e.g. `--dump_dir /tmp/prixlm_build_scale/dumps_2x162338_seed0` reuses the scale benchmark's
1M lines. Each file is converted as the build converts it (`prixlm.data.dbpedia.convert.
convert`, its kind and language from its name, all the folder's languages built), in one
process, `--repeats` times each way (best kept), alternating:

- **row by row**: `convert(job, options, vectorised=False)` (`read_triples` and `_records`,
  the code before this benchmark's change);
- **vectorised**: `convert(job, options)` (`read_blocks`).

Both must write the same records (`pq.read_table`) and return the same `ReadStats`
(checked). The table gives per kind of file the lines, the seconds, µs per line and lines
per second of each path; the last line is the ratio of per-line speeds, all files together.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import pyarrow
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synthetic_dumps import write_dumps  # noqa: E402

from prixlm.data.dbpedia.convert import convert  # noqa: E402
from prixlm.data.dbpedia.dumps import ReadOptions  # noqa: E402
from prixlm.data.dbpedia.read_rows import Job  # noqa: E402

KINDS = {"labels": "labels", "mappingbased": "objects", "interlanguage": "links"}
PATHS = {False: "row by row", True: "vectorised"}


def jobs_of(folder: Path, output: Path) -> list[Job]:
    """One job per `.ttl` file of `folder`: kind and language from its name."""
    files = sorted(folder.glob("*.ttl"))
    languages = tuple(sorted({path.stem.rsplit("_", 1)[-1] for path in files}))
    jobs = []
    for path in files:
        kind = KINDS.get(path.name.split("_", 1)[0])
        if kind is not None:
            language = path.stem.rsplit("_", 1)[-1]
            jobs.append(Job(kind, path, output / f"{path.stem}.parquet", language, languages))
    return jobs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dump_dir", type=Path, default=None)
    parser.add_argument("--languages", type=int, default=2)
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--work_dir", type=Path, default=Path("/tmp/prixlm_bench_records"))
    args = parser.parse_args(argv)
    folder = args.dump_dir or args.work_dir / f"dumps_{args.languages}x{args.entities}"
    if not any(folder.glob("*.ttl")):
        print(f"writing synthetic dumps to {folder} ...", flush=True)
        write_dumps(folder, args.languages, args.entities, seed=0)
    jobs = jobs_of(folder, args.work_dir / "records")
    print(
        f"machine: {os.cpu_count()} CPU cores visible, load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; pyarrow {pyarrow.__version__}; "
        f"{len(jobs)} files in {folder}"
    )
    options = ReadOptions()
    convert(jobs[0], options)  # imports and first calls out of the timings
    seconds: dict[tuple[str, bool], float] = defaultdict(float)
    lines: dict[str, int] = defaultdict(int)
    for job in jobs:
        results = {}
        best = {False: float("inf"), True: float("inf")}
        for _ in range(args.repeats):
            for vectorised in (False, True):
                output = job.output.with_name(f"{job.output.stem}-{vectorised}.parquet")
                run = Job(job.kind, job.path, output, job.language, job.languages)
                start = time.perf_counter()
                stats = convert(run, options, vectorised=vectorised)
                best[vectorised] = min(best[vectorised], time.perf_counter() - start)
                results[vectorised] = stats, output
        (old_stats, old_output), (new_stats, new_output) = results[False], results[True]
        if old_stats != new_stats or not pq.read_table(old_output).equals(
            pq.read_table(new_output)
        ):
            print(f"ERROR: {job.path.name}: the vectorised records or counts differ")
            return 1
        lines[job.kind] += old_stats.lines
        for vectorised, value in best.items():
            seconds[(job.kind, vectorised)] += value
    print("same records and counts for every file")
    print("| files | path | lines | s | µs/line | lines/s |")
    print("|---|---|---:|---:|---:|---:|")
    kinds = list(lines)
    for kind in [*kinds, "all"]:
        count = sum(lines.values()) if kind == "all" else lines[kind]
        for vectorised, name in PATHS.items():
            if kind == "all":
                value = sum(seconds[(k, vectorised)] for k in kinds)
            else:
                value = seconds[(kind, vectorised)]
            print(
                f"| {kind} | {name} | {count:,} | {value:.2f} | {value / count * 1e6:.2f} "
                f"| {count / value:,.0f} |"
            )
    old = sum(seconds[(k, False)] for k in kinds)
    new = sum(seconds[(k, True)] for k in kinds)
    print(f"records per-line speed new/old: {old / new:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
