"""The dataset build at 1, 2, 4, ... cores: the same dumps, one build per thread count.

Run::

    python bench/bench_build_cores.py                          # 2 x 1.5M entities, 9.3M lines
    python bench/bench_build_cores.py --entities 487013 --threads 1,2   # 3M lines, 2 cores
    python bench/bench_build_cores.py --threads 1,2 --entities 300000   # a quick look

Generates synthetic DBpedia 2016-10 dumps (`synthetic_dumps.py`, plain `.ttl`; kept in
`--work_dir` for the next run) and builds them with
`python -m prixlm.data.dbpedia.build --threads N --num_proc N --memory_limit M --profile`
for each N of `--threads` (default: 1, 2, 4, ... up to the machine's cores), each in its own
process: the first and the largest N first, then the others from the largest down; with
`--budget_s`, a build whose time (predicted from those before it) would end past the budget
is not started. The dumps are written by every core (`synthetic_dumps.write_dumps`).
Per run: wall seconds, CPU seconds of the whole process tree (the build and its reader
processes, `process_usage.py`), peak RSS of the tree (MiB), the peak size of the build's
`--temp_dir` (MiB: the reader's record files and DuckDB's spill), input lines per second,
and the build's own profile (wall, CPU and CPU/wall per stage: reading, each SQL statement,
the card). Every run's shards and card must be byte-identical to the first run's and hold
the rows the generator expects; a run that is not stops the benchmark with an error.

Writes `--output` (default `bench_build_cores.json` in `--work_dir`; the committed
`results/bench_build_cores.json` only when `--output` names it) after every build:
`{"machine", "lines", "runs": {threads: {"wall_s", "cpu_s", "peak_rss_mib", "peak_temp_mib",
"lines_per_s"}}, "profiles": {threads: {stage: {...}}}, "command", ...}`. The baseline is
the first thread count; the last line prints the speed-up of the largest over it.
Needs only the build's packages (duckdb, pyarrow, numpy, psutil, tqdm, pyyaml,
huggingface_hub); no torch.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import process_usage  # noqa: E402
from process_usage import FolderPeak, measured  # noqa: E402
from synthetic_dumps import INFO_FILE, expected_row_counts, read_counts, write_dumps  # noqa: E402

from prixlm.outputs.atomic import write_json  # noqa: E402

MIB = 1 << 20


def thread_counts(text: str | None) -> list[int]:
    """`1,2,4` -> [1, 2, 4]; None: 1, 2, 4, ... up to the cores (and the cores)."""
    if text:
        counts = [int(t) for t in text.split(",") if t.strip()]
        if not counts or min(counts) < 1:
            raise ValueError(f"--threads: {text!r} is not a list like 1,2,4")
        return counts
    cores = os.cpu_count() or 1
    counts = [1]
    while counts[-1] * 2 <= cores:
        counts.append(counts[-1] * 2)
    return counts if counts[-1] == cores else [*counts, cores]


def run_order(counts: list[int]) -> list[int]:
    """The first and the largest count first (the speed-up's two ends), then the others
    from the largest down (the shortest builds first: with `--budget_s`, the most of them)."""
    rest = sorted(set(counts) - {counts[0], max(counts)}, reverse=True)
    return [*dict.fromkeys([counts[0], max(counts)]), *rest]


def predicted_wall(runs: dict[str, dict[str, float]], threads: int) -> float | None:
    """The wall seconds of a build at `threads` from the runs so far: `a + b / threads`
    through the runs at the fewest and the most threads (the time of the one run if one;
    None without)."""
    if not runs:
        return None
    measured = sorted((int(k), v["wall_s"]) for k, v in runs.items())
    (low, wall_low), (high, wall_high) = measured[0], measured[-1]
    if high == low:
        return wall_low
    b = (wall_low - wall_high) / (1 / low - 1 / high)
    return max(wall_low - b / low + b / threads, 0.0)


def dumps(work_dir: Path, languages: int, entities: int, seed: int) -> tuple[Path, object]:
    """The synthetic dumps under `work_dir`, written unless already there."""
    folder = work_dir / f"dumps_{languages}x{entities}_seed{seed}"
    if (folder / INFO_FILE).is_file():
        return folder, read_counts(folder)
    counts = write_dumps(folder, languages, entities, seed)
    print(f"generated {counts.total_lines:,} lines in {counts.seconds:.1f} s", flush=True)
    return folder, counts


def digests(folder: Path) -> dict[str, str]:
    """sha256 of every file of a built dataset folder (shards and card)."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def row_counts(folder: Path) -> dict[str, int]:
    """Rows per config of a built dataset folder (Parquet metadata)."""
    import pyarrow.parquet as pq

    totals: dict[str, int] = {}
    for path in folder.rglob("*.parquet"):
        config = path.relative_to(folder).parts[0]
        totals[config] = totals.get(config, 0) + pq.ParquetFile(path).metadata.num_rows
    return totals


def amdahl_wall(wall_1: float, wall_n: float, n: int, cores: int) -> float:
    """A stage's wall time on `cores` from its times on 1 and `n` cores (Amdahl: the serial
    share `f` solves `wall_n = wall_1 * (f + (1 - f) / n)`, clipped to [0, 1])."""
    if n <= 1 or wall_1 <= 0:
        return wall_1
    serial = min(max((wall_n / wall_1 - 1 / n) / (1 - 1 / n), 0.0), 1.0)
    return wall_1 * (serial + (1 - serial) / cores)


def extrapolate(result: dict, records: float, cores: tuple[int, ...] = (16, 64)) -> dict:
    """Wall seconds of a build of `records` input lines on each of `cores`, from the
    per-stage profiles at 1 and the largest thread count measured (each stage scaled
    linearly with the lines, its serial share by `amdahl_wall`), plus the time outside the
    stages (start-up, Python between them) as measured at the largest count, scaled too."""
    profiles = result["profiles"]
    largest = max(profiles, key=int)
    one, top = profiles["1"], profiles[largest]
    scale = records / result["lines"]
    outside = result["runs"][largest]["wall_s"] - sum(s["wall_s"] for s in top.values())
    found = {}
    for count in cores:
        stages = sum(
            amdahl_wall(one[name]["wall_s"], top[name]["wall_s"], int(largest), count)
            for name in one
            if name in top
        )
        found[count] = round((stages + max(outside, 0.0)) * scale, 1)
    return found


def _can_reap() -> bool:
    """Whether this process can be its builds' subreaper (the readers' CPU then counts in
    `cpu_s`); where it cannot (a sandbox without the prctl), `cpu_s` is the build process's
    own and `profile_cpu_s` (the stages' CPU, the readers' included) is the one to read."""
    try:
        process_usage._become_subreaper()
    except OSError:
        process_usage._become_subreaper = lambda: None
        print("no subreaper here: cpu_s without the reader processes", flush=True)
        return False
    return True


def output_path(output: Path | None, work_dir: Path) -> Path:
    """Where the JSON goes: `--output`, else `bench_build_cores.json` in `--work_dir` (never
    the committed `results/` file unless `--output` names it)."""
    return output if output is not None else work_dir / "bench_build_cores.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--languages", type=int, default=2)
    parser.add_argument(
        "--entities",
        type=int,
        default=1_500_000,
        help="concepts per language (1.5M: 9.3M lines)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", help="comma-separated thread counts; none: 1, 2, 4, ...")
    parser.add_argument("--memory_limit", default="4GB", help="the build's --memory_limit")
    parser.add_argument("--work_dir", type=Path, default=Path("/tmp/prixlm_bench_cores"))
    parser.add_argument(
        "--output",
        type=Path,
        help="JSON of the runs (default: bench_build_cores.json in --work_dir; the committed "
        "results/bench_build_cores.json is written only when named here)",
    )
    parser.add_argument(
        "--extrapolate",
        type=Path,
        metavar="JSON",
        help="print the wall time of a build of --records lines on 16 and 64 cores from "
        "the per-stage profiles in a result file of this benchmark, and stop; none: measure",
    )
    parser.add_argument(
        "--records",
        type=float,
        default=220e6,
        help="input lines of the extrapolated build (the paper's 87 languages with "
        "--link_languages en: 180-260M)",
    )
    parser.add_argument(
        "--budget_s",
        type=float,
        default=None,
        help="start no further build once this many seconds have passed (none: no limit)",
    )
    args = parser.parse_args(argv)
    args.output = output_path(args.output, args.work_dir)
    if args.extrapolate is not None:
        result = json.loads(args.extrapolate.read_text())
        for count, wall in extrapolate(result, args.records).items():
            print(f"{args.records / 1e6:.0f}M lines on {count} cores: {wall / 60:.1f} min")
        return 0
    counts_of_threads = thread_counts(args.threads)
    started = time.perf_counter()
    import duckdb
    import pyarrow

    machine = (
        f"{platform.node()}: {os.cpu_count()} CPU cores visible, "
        f"{psutil.virtual_memory().total / (1 << 30):.1f} GiB RAM, Python "
        f"{platform.python_version()}, duckdb {duckdb.__version__}, pyarrow {pyarrow.__version__}"
    )
    print(machine, flush=True)
    generated_s = time.perf_counter()
    folder, counts = dumps(args.work_dir, args.languages, args.entities, args.seed)
    generated_s = time.perf_counter() - generated_s
    lines = counts.total_lines
    expected = expected_row_counts(counts, None)
    runs: dict[str, dict[str, float]] = {}
    profiles: dict[str, dict] = {}
    reference: dict[str, str] | None = None
    print(f"{'threads':>7} {'wall s':>8} {'CPU s':>8} {'peak MiB':>9} {'lines/s':>10}", flush=True)
    subreaper = _can_reap()
    command_line = "python bench/bench_build_cores.py " + " ".join(argv or sys.argv[1:])
    for threads in run_order(counts_of_threads):
        elapsed = time.perf_counter() - started
        expected_s = predicted_wall(runs, threads) or 0.0
        if args.budget_s is not None and elapsed + expected_s > args.budget_s:
            print(
                f"budget of {args.budget_s:.0f} s: {elapsed:.0f} s spent, a build at {threads} "
                f"threads would take ~{expected_s:.0f} s; no run at {threads} threads or fewer",
                flush=True,
            )
            break
        output = args.work_dir / f"kb_{threads}"
        profile = args.work_dir / f"profile_{threads}.json"
        shutil.rmtree(output, ignore_errors=True)
        spill = args.work_dir / "spill"
        spill.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "prixlm.data.dbpedia.build",
            "--dump_dir", str(folder), "--output_dir", str(output), "--no_progress",
            "--threads", str(threads), "--num_proc", str(threads),
            "--memory_limit", args.memory_limit, "--temp_dir", str(spill),
            "--profile", str(profile),
        ]  # fmt: skip
        path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONPATH": path, "PYTHONFAULTHANDLER": "1"}
        with FolderPeak(spill) as temp:
            code, wall, cpu, peak, _, tail = measured(command, REPO, env)
        if code != 0:
            raise SystemExit(f"build at {threads} threads failed (exit {code}):\n{tail}")
        found = row_counts(output)
        if found != expected:
            raise SystemExit(f"{threads} threads: rows {found} != expected {expected}")
        files = digests(output)
        if reference is None:
            reference = files
        elif files != reference:
            differ = sorted(
                k for k in reference.keys() | files.keys() if reference.get(k) != files.get(k)
            )
            raise SystemExit(f"{threads} threads: files differ from the first run's: {differ}")
        shutil.rmtree(output, ignore_errors=True)
        runs[str(threads)] = {
            "wall_s": round(wall, 2),
            "cpu_s": round(cpu, 2),
            "peak_rss_mib": round(peak / MIB, 1),
            "peak_temp_mib": round(temp.peak / MIB, 1),
            "lines_per_s": round(lines / wall),
        }
        profiles[str(threads)] = json.loads(profile.read_text())
        run = runs[str(threads)]
        run["profile_cpu_s"] = round(sum(s["cpu_s"] for s in profiles[str(threads)].values()), 2)
        print(
            f"{threads:>7} {wall:8.1f} {cpu:8.1f} {run['peak_rss_mib']:9.0f} "
            f"{run['lines_per_s']:>10,}",
            flush=True,
        )
        runs = {k: runs[k] for k in sorted(runs, key=int)}
        profiles = {k: profiles[k] for k in sorted(profiles, key=int)}
        result = {
            "machine": machine,
            "lines": lines,
            "runs": runs,
            "profiles": profiles,
            "cpu_s_includes_reader_processes": subreaper,
            "identical_files": True,
            "memory_limit": args.memory_limit,
            "dumps": f"synthetic_dumps: {args.languages} languages x {args.entities} entities, "
            f"seed {args.seed}, plain .ttl",
            "generation_s": round(generated_s, 1),
            "command": command_line,
            "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
            "total_s": round(time.perf_counter() - started, 1),
        }
        # after every run, so that a run cut short keeps what it measured (atomically)
        write_json(result, args.output, "--output")
    first, last = next(iter(runs)), list(runs)[-1]
    for threads, profile_of in profiles.items():
        top = sorted(profile_of.items(), key=lambda kv: -kv[1]["wall_s"])[:6]
        print(
            f"profile at {threads} threads (wall s, CPU/wall): "
            + "; ".join(f"{name} {s['wall_s']:.1f} ({s['parallelism']:.1f})" for name, s in top)
        )
    speed = runs[first]["wall_s"] / runs[last]["wall_s"]
    print(
        f"speed-up {first} -> {last} threads: {speed:.2f}x "
        f"({runs[last]['lines_per_s']:,} lines/s at {last}; files identical at every count)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
