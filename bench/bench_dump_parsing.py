"""Dump parsing: our streaming N-Triples reader vs rdflib's N-Triples parser.

Run::

    .venv/bin/python bench/bench_dump_parsing.py [--lines 200000] [--memory_lines 100000,1000000]
        [--repeat 3]

Writes a DBpedia-like file (raw UTF-8 as in the 2016-10 and Databus `.ttl` files: a third
language-tagged labels, an eighth of them with `\\uXXXX` and `\\"` escapes; a third object
triples between non-ASCII and percent-encoded IRIs; a third datatyped literals; 1 line in 50
a comment) to a temp folder, parses
it with rdflib's `W3CNTriplesParser` into a counting sink (the baseline), with
`rdflib.Graph().parse` (its usual use, for reference) and with ours, then
measures the peak Python memory (tracemalloc) of our reader at each size of
`--memory_lines`. The last printed line is the speed ratio ours / rdflib.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prixlm.data.ntriples import read_triples  # noqa: E402

ESCAPED = ' \\u00E9 \\"q\\"'  # an escaped label in 1 of 10 label lines
_NAMES = ["Köln", "Zürich", "São_Paulo", "東京", "Москва", "K%C3%B6ln", "New_York", "Ωmega"]


def write_dump(path: Path, lines: int, seed: int = 0) -> None:
    """Write `lines` DBpedia-like N-Triples lines (about 1 in 50 a comment)."""
    rng = random.Random(seed)
    resource = "http://de.dbpedia.org/resource/"
    with open(path, "w", encoding="utf-8") as out:
        for i in range(lines):
            name = f"{rng.choice(_NAMES)}_{i}"
            kind = i % 50
            if kind == 0:
                out.write(f"# comment {i}\n")
            elif kind % 3 == 0:
                out.write(
                    f"<{resource}{name}> <http://www.w3.org/2000/01/rdf-schema#label> "
                    f'"{name.replace("_", " ")}{ESCAPED if i % 10 == 3 else ""}"@de .\n'
                )
            elif kind % 3 == 1:
                other = f"{rng.choice(_NAMES)}_{rng.randrange(lines)}"
                out.write(
                    f"<{resource}{name}> <http://dbpedia.org/ontology/birthPlace> "
                    f"<{resource}{other}> .\n"
                )
            else:
                out.write(
                    f"<{resource}{name}> <http://dbpedia.org/ontology/populationTotal> "
                    f'"{rng.randrange(10**6)}"^^<http://www.w3.org/2001/XMLSchema#nonNegativeInteger> .\n'
                )


def ours(path: Path) -> int:
    """Triples read by our reader."""
    return sum(1 for _ in read_triples(path))


class _CountingSink:
    """An rdflib sink that only counts (the parser's own cost, no graph)."""

    def __init__(self) -> None:
        self.length = 0

    def triple(self, subject, predicate, obj) -> None:
        self.length += 1


def rdflib_parser(path: Path) -> int:
    """Triples read by rdflib's N-Triples parser into a counting sink: the baseline."""
    from rdflib.plugins.parsers.ntriples import W3CNTriplesParser

    sink = _CountingSink()
    with open(path, "rb") as handle:
        W3CNTriplesParser(sink).parse(handle)
    return sink.length


def rdflib_graph(path: Path) -> int:
    """Triples read by `rdflib.Graph().parse(format="nt")`, its usual use (for reference)."""
    import rdflib

    graph = rdflib.Graph()
    graph.parse(path, format="nt")
    return len(graph)


def timed(functions: list, path: Path, repeat: int = 1) -> list[tuple[int, float]]:
    """Per function: triples counted and its best CPU time over `repeat` interleaved runs.

    CPU time (`time.process_time`), runs interleaved, best of N: the machine is shared, and
    wall time there measures the neighbours' load as much as the parser.
    """
    best = [float("inf")] * len(functions)
    counts = [0] * len(functions)
    for _ in range(repeat):
        for i, function in enumerate(functions):
            start = time.process_time()
            counts[i] = function(path)
            best[i] = min(best[i], time.process_time() - start)
    return list(zip(counts, best, strict=True))


def peak_memory(path: Path) -> int:
    """Peak traced Python memory (bytes) while streaming `path` through our reader."""
    tracemalloc.start()
    ours(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000, help="lines for the speed test")
    parser.add_argument("--memory_lines", default="100000,1000000")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs for the speed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        speed_file = Path(tmp) / "speed.nt"
        write_dump(speed_file, args.lines)
        (parser_count, parser_s), (our_count, our_s) = timed(
            [rdflib_parser, ours], speed_file, args.repeat
        )
        ((graph_count, graph_s),) = timed([rdflib_graph], speed_file)
        if not parser_count == graph_count == our_count:
            raise SystemExit(
                f"counts differ: rdflib {parser_count}/{graph_count}, ours {our_count}"
            )
        print(f"file: {args.lines:,} lines, {our_count:,} triples; best CPU time of {args.repeat}")
        print(f"rdflib W3CNTriplesParser (counting sink): {args.lines / parser_s:,.0f} lines/s")
        print(f"rdflib Graph.parse(format='nt'): {args.lines / graph_s:,.0f} lines/s")
        print(f"ours read_triples: {args.lines / our_s:,.0f} lines/s")
        for size in (int(n) for n in args.memory_lines.split(",")):
            memory_file = Path(tmp) / f"memory_{size}.nt"
            write_dump(memory_file, size)
            print(f"ours peak memory at {size:,} lines: {peak_memory(memory_file) / 2**20:.2f} MiB")
            memory_file.unlink()
        print(f"ours vs rdflib Graph.parse: {graph_s / our_s:.1f}x")
        print(f"speed ratio ours / rdflib N-Triples parser: {parser_s / our_s:.1f}x")


if __name__ == "__main__":
    main()
