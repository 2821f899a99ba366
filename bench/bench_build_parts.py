"""One large dump file to records: 1 process vs N processes reading it in parts.

Run::

    python bench/bench_build_parts.py                      # ~3M lines, 1 vs 2 processes
    python bench/bench_build_parts.py --processes 4 --compress bz2

DBpedia ships one large file per language and dataset (English mapping-based objects:
~18M lines), so the build reads a large file in parts (`prixlm.data.dbpedia.convert`):
byte ranges of whole lines of a plain file, whole streams of a multi-stream `.bz2`. The
file here is the mapping-based objects of synthetic dumps (`synthetic_dumps.py`, one
language; `--entities 2000000` gives ~3M lines), plain or, with `--compress bz2`, written
as pbzip2 writes it (independent streams of 900 kB of input). Each run converts it with
`convert_all(..., num_proc=P)`: P = 1 reads it whole in this process (the build's path
for one process), P > 1 in parts in this process and P - 1 worker processes (their
start-up included), after one untimed 1-process conversion (the cold start). Wall seconds
(best of `--repeats`, alternating), CPU seconds (this process plus the workers' whole
lives), and the CPU seconds of the busiest process: on free cores a run takes at least those, so the 1-process CPU over the busiest process's
CPU is the speed-up where the cores are free, a figure that holds on a loaded machine
where the wall times do not. The same records and counts are checked. The last line
prints the speed-up of the wall times.
"""

from __future__ import annotations

import argparse
import bz2
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_dumps import INFO_FILE, write_dumps  # noqa: E402

from prixlm.data.dbpedia.convert import convert_all  # noqa: E402
from prixlm.data.dbpedia.dumps import ReadOptions  # noqa: E402
from prixlm.data.dbpedia.read_rows import Job  # noqa: E402
from prixlm.outputs.atomic import write_json  # noqa: E402

STREAM_INPUT_BYTES = 900_000  # pbzip2's default block: one stream per 900 kB of input


def dump_file(work_dir: Path, entities: int, compress: str | None) -> Path:
    """The objects file of one synthetic language (written unless there), plain or as a
    multi-stream `.bz2`."""
    folder = work_dir / f"dumps_1x{entities}"
    if not (folder / INFO_FILE).is_file():
        counts = write_dumps(folder, 1, entities, 0)
        print(f"generated {counts.total_lines:,} lines in {counts.seconds:.1f} s", flush=True)
    plain = next(folder.glob("mappingbased_objects_*.ttl"))
    if compress is None:
        return plain
    packed = work_dir / f"{plain.name}.bz2"
    if not packed.is_file():
        with open(plain, "rb") as source, open(packed.with_suffix(".partial"), "wb") as out:
            while block := source.read(STREAM_INPUT_BYTES):
                out.write(bz2.compress(block, 9))
        packed.with_suffix(".partial").rename(packed)
    return packed


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(path: Path, processes: int, folder: Path) -> tuple[float, float, float, pa.Table, object]:
    """(wall s, CPU s, CPU s of the busiest process, records, counts) of converting `path`
    with `processes`. CPU: this process's and its worker processes' whole lives (start-up
    included; forked workers are joined before `convert_all` returns)."""
    shutil.rmtree(folder, ignore_errors=True)
    job = Job("objects", path, folder / "objects.parquet", "xx", ("xx",))
    options = ReadOptions()
    wall, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
    ran, workers = convert_all([job], options, processes)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    children = max(_children_cpu() - children, workers)  # a forkserver's are not reaped
    busiest = max(cpu, children / max(processes - 1, 1))
    table = pa.concat_tables(pq.read_table(part.output) for part in ran)
    return wall, cpu + children, busiest, table, options.stats[str(path)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, default=2_000_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--compress", choices=["bz2"], help="none: the plain .ttl file")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--work_dir", type=Path, default=Path("/tmp/prixlm_bench_parts"))
    parser.add_argument("--output", type=Path, help="JSON of the runs; none: printed only")
    args = parser.parse_args(argv)
    path = dump_file(args.work_dir, args.entities, args.compress)
    best: dict[int, tuple[float, float, float]] = {}
    runs: list[dict] = []
    # One untimed conversion first: the first run in a process pays the cold start (imports,
    # the file's first read), which would otherwise fall on the first 1-process run only.
    _, _, _, table, stats = run(path, 1, args.work_dir / "out1")
    reference = (table, stats)
    print("warm-up: one untimed 1-process conversion", flush=True)
    for _ in range(args.repeats):
        for processes in (1, args.processes):
            wall, cpu, busiest, table, stats = run(
                path, processes, args.work_dir / f"out{processes}"
            )
            if not (table.equals(reference[0]) and stats == reference[1]):
                raise SystemExit(f"{processes} processes: records or counts differ")
            runs.append(
                {
                    "processes": processes,
                    "wall_s": round(wall, 3),
                    "cpu_s": round(cpu, 3),
                    "busiest_process_cpu_s": round(busiest, 3),
                }
            )
            if processes not in best or wall < best[processes][0]:
                best[processes] = (wall, cpu, busiest)
            print(
                f"{processes} process(es): {wall:.2f} s wall, {cpu:.2f} s CPU, "
                f"{busiest:.2f} s CPU in the busiest process",
                flush=True,
            )
    lines = reference[1].lines
    print(f"{path.name}: {lines:,} lines, {path.stat().st_size / 1e6:.0f} MB")
    for processes, (wall, cpu, busiest) in best.items():
        print(
            f"  {processes}: {wall:.2f} s ({lines / wall:,.0f} lines/s), CPU {cpu:.2f} s, "
            f"busiest process {busiest:.2f} s"
        )
    # On free cores a run takes at least its busiest process's CPU time: the ratio of the
    # busiest processes' CPU is the speed-up where the cores are free (no other load). Taken
    # per alternated pair (1 process, then N) and the median: the minima of different runs
    # were divided before. Above N it is CPU-time noise of a loaded machine, not a speed-up
    # (the busiest of N processes takes at least 1/N of their CPU): flagged, not reported.
    pairs = list(zip(runs[0::2], runs[1::2], strict=False))
    ratios = sorted(one["cpu_s"] / many["busiest_process_cpu_s"] for one, many in pairs)
    cpu_speed = statistics.median(ratios)
    cpu_share = sorted(many["cpu_s"] / one["cpu_s"] for one, many in pairs)
    valid = all(ratio <= args.processes for ratio in ratios)
    print(
        f"busiest process's CPU, 1 / {args.processes} processes, median of {len(ratios)} "
        f"pairs: {cpu_speed:.2f}x{'' if valid else ' (INVALID: a pair above the process count: CPU-time noise)'}; "
        f"{args.processes} processes' CPU / 1 process's: {cpu_share[0]:.2f}-{cpu_share[-1]:.2f}"
    )  # fmt: skip
    speed = best[1][0] / best[args.processes][0]
    if args.output is not None:
        write_json(
            {
                "file": path.name,
                "lines": lines,
                "bytes": path.stat().st_size,
                "runs": runs,
                "untimed_warm_up_runs": 1,
                "speedup": round(speed, 3),
                "busiest_process_cpu_speedup": round(cpu_speed, 3),
                "busiest_process_cpu_speedup_per_pair": [round(r, 3) for r in ratios],
                "busiest_process_cpu_speedup_valid": valid,
                "cpu_share_range": [round(cpu_share[0], 3), round(cpu_share[-1], 3)],
                "command": "python bench/bench_build_parts.py " + " ".join(argv or sys.argv[1:]),
                "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
            },
            args.output,
            "--output",
        )
    print(f"one file, {args.processes} processes / 1 (wall, same records): {speed:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
