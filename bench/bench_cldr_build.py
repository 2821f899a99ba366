"""Full CLDR KB build (every locale with names) against the paper's nine languages.

Run::

    .venv/bin/python bench/bench_cldr_build.py [--repeats 3] [--skip_all]

Exports the nine-language KB `--repeats` times (the comparison point; best time kept), then
the `all` KB once, each into a temp folder that is deleted afterwards, and prints wall
time, peak memory (nine: tracemalloc's Python heap; all: the process's max RSS), file count, output size and per-kind line
counts. The `all` build writes ~8 GB (the interlanguage links grow with the square of the
locale count), so it needs that much free space in the temp folder. The last printed line
is the ratio all-locales time / nine-locales time.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prixlm.data.cldr.export import PAPER_LOCALES, export_cldr_kb  # noqa: E402


def folder_size(folder: Path) -> int:
    """Total bytes of the files in `folder`."""
    return sum(path.stat().st_size for path in folder.iterdir())


def timed_export(locales: list[str] | str, root: Path, trace: bool) -> dict[str, float | int]:
    """Export `locales` into `root/kb`; wall seconds, peak heap bytes, sizes and counts."""
    output = root / "kb"
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    stats = export_cldr_kb(locales, output, progress=False)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    if trace:
        tracemalloc.stop()
    result = {
        "seconds": seconds,
        "peak_bytes": peak,
        "languages": len(stats),
        "files": len(list(output.iterdir())),
        "bytes": folder_size(output),
        "entities": sum(counts["entities"] for counts in stats.values()),
        "triples": sum(counts["triples"] for counts in stats.values()),
        "links": sum(counts["links"] for counts in stats.values()),
    }
    shutil.rmtree(output)
    return result


def describe(name: str, result: dict[str, float | int]) -> str:
    peak = f", peak heap {result['peak_bytes'] / 2**20:,.0f} MiB" if result["peak_bytes"] else ""
    return (
        f"{name}: {result['seconds']:.2f} s{peak}; {result['languages']} languages, "
        f"{result['files']} files, {result['bytes'] / 2**20:,.1f} MiB; "
        f"{result['entities']:,} labels, {result['triples']:,} triples, {result['links']:,} links"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip_all", action="store_true", help="only the nine languages")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_cldr_") as temp:
        root = Path(temp)
        export_cldr_kb(["en"], root / "warm", progress=False)  # load Babel's global data once
        nine = min(
            (timed_export(list(PAPER_LOCALES), root, trace=False) for _ in range(args.repeats)),
            key=lambda result: result["seconds"],
        )
        traced = timed_export(list(PAPER_LOCALES), root, trace=True)
        nine["peak_bytes"] = traced["peak_bytes"]
        print(describe(f"nine locales (best of {args.repeats})", nine))
        if args.skip_all:
            return
        everything = timed_export("all", root, trace=False)
        max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
        print(describe("all locales", everything) + f"; process max RSS {max_rss:,.0f} MiB")
    print(f"time ratio all / nine: {everything['seconds'] / nine['seconds']:.1f}")


if __name__ == "__main__":
    main()
