"""Dataset build at increasing sizes: the old in-memory builder vs the working tree's.

Run::

    .venv/bin/python bench/bench_build_scale.py [--sizes 0.3M,1M,3M] [--languages 2]
        [--only old|new] [--memory_limit 4GB] [--threads N] [--cores N] [--link_languages en]
        [--compress bz2|gz] [--json results.json]

For each size (input lines, all files together) it writes synthetic DBpedia 2016-10 dumps
(`bench/synthetic_dumps.py`, `--languages` languages, entities chosen to give that many
lines; reused from `--work_dir` when already there; with `--compress`, a copy of them as
`.ttl.bz2` or `.ttl.gz` files, as DBpedia publishes its dumps), then builds them with

- **old**: `python -m prixlm.data.dbpedia.build` of commit `--old_commit` (9349082, the
  last in-memory builder), from a git worktree at `--old_worktree` (added when missing);
- **new**: the same CLI from the working tree (`--new_source` to point elsewhere), with
  `--memory_limit`, `--threads` and `--temp_dir` when its `--help` offers them;

each in its own subprocess (`--no_progress`), timed by wall clock, with the peak RSS of the
process tree (psutil, polled every 50 ms: the builder and any worker processes it starts,
summed) and the largest single process's max RSS and the CPU time (`os.wait4`, the build's
reader processes included: `process_usage.py`). Both
builds' row counts per config are checked against what the generator expects (and the
splits against each other). The table goes to stdout; the last line is the throughput
ratio new/old (input lines per second of wall time, and old/new CPU seconds: steadier when
other jobs share the cores) at each size where both ran. The default ladder
takes a few minutes on 2 cores; `--sizes 10M,30M --only new` is for sizes the old builder
cannot hold (0.5-0.8 KB of RAM per input line: docs/benchmarks.md, "Build at increasing
sizes").
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil  # a dependency of accelerate, hence installed with prixlm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from process_usage import measured  # noqa: E402
from synthetic_dumps import (  # noqa: E402
    INFO_FILE,
    DumpCounts,
    dataset_row_counts,
    expected_row_counts,
    read_counts,
    write_dumps,
)

from prixlm.outputs.atomic import atomic_file, atomic_folder, partial_path  # noqa: E402

OLD_COMMIT = "9349082"
GIB = 1024**3


@dataclass
class Run:
    """One build: sizes, time, memory and whether its rows are the expected ones."""

    builder: str
    size: str
    languages: int
    entities: int
    input_lines: int
    wall_s: float
    cpu_s: float
    peak_tree_rss_gib: float
    max_process_rss_gib: float
    rows: dict[str, dict[str, int]]
    rows_ok: bool
    returncode: int
    flags: list[str]
    error: str = ""

    @property
    def lines_per_s(self) -> float:
        return self.input_lines / self.wall_s if self.wall_s else 0.0


def parse_size(text: str) -> int:
    """`300k`, `1M`, `1.5M`, `30000000` -> a number of input lines."""
    text = text.strip().lower()
    factor = {"k": 1e3, "m": 1e6}.get(text[-1:], 1)
    try:
        value = float(text[:-1] if factor != 1 else text) * factor
    except ValueError:
        raise ValueError(f"--sizes: {text!r} is not a size like 300k or 3M") from None
    if value < 1000:
        raise ValueError(f"--sizes: {text!r} is below 1k lines")
    return int(value)


def entities_for(lines: int, languages: int) -> int:
    """Concepts per language that give about `lines` input lines (`synthetic_dumps` shape:
    per concept and language 1 label, ~1.48 facts and 0.6 links per other language)."""
    return max(1, round(lines / (languages * (2.48 + 0.6 * (languages - 1)))))


def dumps_for(work_dir: Path, lines: int, languages: int, seed: int) -> tuple[Path, DumpCounts]:
    """The dumps of one size under `work_dir`, written unless already there."""
    entities = entities_for(lines, languages)
    folder = work_dir / f"dumps_{languages}x{entities}_seed{seed}"
    if (folder / INFO_FILE).is_file():
        return folder, read_counts(folder)
    counts = write_dumps(folder, languages, entities, seed)
    print(
        f"  generated {folder.name}: {counts.total_lines:,} lines in {counts.seconds:.1f} s",
        flush=True,
    )
    return folder, counts


COMPRESSORS = {"bz2": bz2.open, "gz": gzip.open}


def compressed_copy(folder: Path, suffix: str) -> Path:
    """`folder`'s dumps as `.ttl.<suffix>` files in the sibling `<folder>_<suffix>`, written
    unless already there (level 9 for bz2, as DBpedia's files; the generator's counts beside)."""
    target = folder.with_name(f"{folder.name}_{suffix}")
    if (target / INFO_FILE).is_file():
        return target
    with atomic_folder(target, argument="--compress") as staging:
        for dump in sorted(folder.glob("*.ttl")):
            with (
                dump.open("rb") as source,
                COMPRESSORS[suffix](staging / f"{dump.name}.{suffix}", "wb") as sink,
            ):
                shutil.copyfileobj(source, sink, 1 << 20)
        shutil.copy2(folder / INFO_FILE, staging / INFO_FILE)
    return target


def ensure_old_worktree(worktree: Path, commit: str) -> Path:
    """A detached git worktree of `commit` at `worktree` (added if missing)."""
    if not (worktree / "prixlm" / "data" / "dbpedia" / "build.py").is_file():
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree), commit],
            check=True,
            capture_output=True,
        )
    return worktree


def cli_flags(source: Path) -> str:
    """The `--help` text of the builder in `source` (to see which flags it has)."""
    result = subprocess.run(
        [sys.executable, "-m", "prixlm.data.dbpedia.build", "--help"],
        cwd=source,
        env={**os.environ, "PYTHONPATH": str(source)},
        capture_output=True,
        text=True,
    )
    return result.stdout


def run_build(
    builder: str,
    source: Path,
    dumps: Path,
    counts: DumpCounts,
    size: str,
    languages: int,
    entities: int,
    extra: list[str],
    output: Path,
    link_languages: list[str] | None,
    prefix: list[str],
) -> Run:
    """Build `dumps` into `output` with the builder of `source` (the command after `prefix`,
    e.g. `taskset -c 0`); measured and checked."""
    command = [
        *prefix, sys.executable, "-m", "prixlm.data.dbpedia.build",
        "--dump_dir", str(dumps), "--output_dir", str(output), "--no_progress", *extra,
    ]  # fmt: skip
    if link_languages:
        command += ["--link_languages", ",".join(link_languages)]
    # faulthandler: a crash in native code (DuckDB, Arrow) still names the Python frame
    env = {**os.environ, "PYTHONPATH": str(source), "PYTHONFAULTHANDLER": "1"}
    code, wall, cpu, peak, single, tail = measured(command, source, env)
    rows: dict[str, dict[str, int]] = {}
    if code == 0:
        rows = dataset_row_counts(output)
    totals = {config: sum(splits.values()) for config, splits in rows.items()}
    ok = code == 0 and totals == expected_row_counts(counts, link_languages)
    shutil.rmtree(output, ignore_errors=True)
    shutil.rmtree(partial_path(output), ignore_errors=True)  # what a crashed build leaves
    return Run(
        builder, size, languages, entities, counts.total_lines, wall, cpu,
        peak / GIB, single / GIB, rows, ok, code, extra,
        "" if code == 0 else f"exit {code}: {tail.strip()}",
    )  # fmt: skip


def print_run(run: Run) -> None:
    status = "ok" if run.rows_ok else "FAILED" if run.returncode else "ROWS DIFFER"
    print(
        f"| {run.size} | {run.languages} x {run.entities:,} | {run.input_lines / 1e6:.2f}M "
        f"| {run.builder} | {run.wall_s:.1f} | {run.cpu_s:.1f} | {run.peak_tree_rss_gib:.2f} "
        f"| {run.max_process_rss_gib:.2f} | {run.lines_per_s / 1e3:.0f}k "
        f"| {1e6 * run.wall_s / run.input_lines:.2f} | {status} |",
        flush=True,
    )
    if run.error:
        print("  " + run.error.replace("\n", "\n  "), flush=True)


def fit_power(runs: list[Run]) -> str:
    """`wall = a * lines^b` by least squares in log-log over `runs` (two or more sizes)."""
    if len({run.input_lines for run in runs}) < 2:
        return "fit: needs two sizes"
    xs = [math.log(run.input_lines) for run in runs]
    ys = [math.log(run.wall_s) for run in runs]
    n, mx, my = len(xs), sum(xs) / len(xs), sum(ys) / len(ys)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
    a = math.exp(my - b * mx)
    per_line = [1e6 * run.wall_s / run.input_lines for run in runs]
    return (
        f"fit ({runs[0].builder}, {n} runs): wall = {a:.3g} * lines^{b:.3f} s; "
        f"{min(per_line):.2f}-{max(per_line):.2f} us per input line; "
        f"peak tree RSS {min(r.peak_tree_rss_gib for r in runs):.2f}-"
        f"{max(r.peak_tree_rss_gib for r in runs):.2f} GiB"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="300k,1M,3M",
        help="input lines per run, comma-separated (e.g. 300k,1M,3M,10M,30M)",
    )
    parser.add_argument("--languages", type=int, default=2, help="languages of the synthetic dumps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=("old", "new"), help="run one builder only")
    parser.add_argument("--memory_limit", default="4GB", help="the new builder's --memory_limit")
    parser.add_argument(
        "--threads", type=int, help="the new builder's --threads (default: its own)"
    )
    parser.add_argument(
        "--cores",
        type=int,
        help="run both builders on cores 0..N-1 (taskset) and give the new one --threads N "
        "--num_proc N (the near-linear-in-cores check)",
    )
    parser.add_argument("--link_languages", help="passed to both builders, e.g. en")
    parser.add_argument(
        "--compress",
        choices=tuple(COMPRESSORS),
        help="build compressed copies of the dumps (DBpedia's own files are .ttl.bz2)",
    )
    parser.add_argument(
        "--work_dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "prixlm_build_scale",
        help="dumps (kept for reuse) and outputs (removed)",
    )
    parser.add_argument("--old_commit", default=OLD_COMMIT)
    parser.add_argument(
        "--old_worktree", type=Path, default=Path(tempfile.gettempdir()) / "prixlm_old_builder"
    )
    parser.add_argument(
        "--new_source", type=Path, default=ROOT, help="source tree of the new builder"
    )
    parser.add_argument("--json", type=Path, help="also write the runs here (JSON)")
    args = parser.parse_args(argv)  # fmt: skip
    try:
        sizes = [parse_size(size) for size in args.sizes.split(",") if size.strip()]
    except ValueError as error:
        parser.error(str(error))
    labels = [size.strip() for size in args.sizes.split(",") if size.strip()]
    link_languages = args.link_languages.split(",") if args.link_languages else None
    args.work_dir.mkdir(parents=True, exist_ok=True)
    builders: dict[str, tuple[Path, list[str]]] = {}
    prefix: list[str] = []
    if args.cores:
        if shutil.which("taskset") is None or not 1 <= args.cores <= (os.cpu_count() or 1):
            parser.error(f"--cores {args.cores}: needs taskset and 1..{os.cpu_count()} cores")
        prefix = ["taskset", "-c", f"0-{args.cores - 1}"]
        args.threads = args.threads or args.cores
    if args.only != "new":
        builders["old"] = (ensure_old_worktree(args.old_worktree, args.old_commit), [])
    if args.only != "old":
        help_text = cli_flags(args.new_source)
        extra = []
        if "--memory_limit" in help_text:
            extra += ["--memory_limit", args.memory_limit]
        if "--temp_dir" in help_text:
            extra += ["--temp_dir", str(args.work_dir / "spill")]
        if args.threads and "--threads" in help_text:
            extra += ["--threads", str(args.threads)]
        elif args.threads:
            parser.error(f"--threads: the builder in {args.new_source} has no --threads flag")
        if args.cores and "--num_proc" in help_text:
            extra += ["--num_proc", str(args.cores)]
        builders["new"] = (args.new_source, extra)

    print(
        f"machine: {os.cpu_count()} CPU cores visible, {psutil.virtual_memory().total / GIB:.1f} "
        f"GiB RAM, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; "
        f"old = {args.old_commit}, new = {args.new_source} {builders.get('new', ('', []))[1]}"
        + (f", both under {' '.join(prefix)}" if prefix else "")
        + (f"; dumps as .ttl.{args.compress}" if args.compress else ""),
        flush=True,
    )
    print(
        "| size | languages x entities | input lines | builder | wall s | CPU s | peak RSS GiB (tree) | max process RSS GiB | lines/s | us/line | rows |"
    )
    print("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---|")  # fmt: skip
    runs: list[Run] = []
    for label, lines in zip(labels, sizes, strict=True):
        entities = entities_for(lines, args.languages)
        dumps, counts = dumps_for(args.work_dir, lines, args.languages, args.seed)
        if args.compress:
            dumps = compressed_copy(dumps, args.compress)
        for name, (source, extra) in builders.items():
            output = args.work_dir / f"out_{name}"
            run = run_build(
                name, source, dumps, counts, label, args.languages, entities, extra, output,
                link_languages, prefix,
            )  # fmt: skip
            runs.append(run)
            print_run(run)
        pair = [run for run in runs[-len(builders) :] if run.size == label]
        if len(pair) == 2 and pair[0].rows_ok and pair[1].rows_ok and pair[0].rows != pair[1].rows:
            print(f"  note: same totals, different split sizes: {pair[0].rows} vs {pair[1].rows}")
    for name in builders:
        print(fit_power([run for run in runs if run.builder == name and run.returncode == 0]))
    if args.json:
        with atomic_file(args.json, argument="--json") as partial:
            partial.write_text(
                json.dumps(
                    [{**asdict(run), "lines_per_s": run.lines_per_s} for run in runs], indent=1
                ),
                encoding="utf-8",
            )
    ratios = []
    for label in labels:
        by = {run.builder: run for run in runs if run.size == label and run.returncode == 0}
        if "old" in by and "new" in by:
            wall = by["new"].lines_per_s / by["old"].lines_per_s
            cpu = by["old"].cpu_s / by["new"].cpu_s
            ratios.append(f"{label}: {wall:.2f}x (CPU time {cpu:.2f}x)")
    failed = [run for run in runs if not run.rows_ok]
    if ratios:
        print("throughput new/old (input lines/s): " + ", ".join(ratios))
    else:
        new = [run for run in runs if run.builder == "new" and run.returncode == 0]
        rate = f"{new[-1].lines_per_s / 1e3:.0f}k lines/s at {new[-1].size}" if new else "none"
        print(f"throughput new/old: n/a (one builder only); new: {rate}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
