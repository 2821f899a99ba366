"""Synthetic DBpedia 2016-10 dumps of any size, for the scale benchmark.

Run::

    .venv/bin/python bench/synthetic_dumps.py --languages 2 --entities 100000 --output_dir DIR

or `write_dumps(DIR, languages=2, entities=100_000)`. `DIR` (replaced as a whole, written
atomically) then holds, per language, the three files the builder reads, named and written
as the 2016-10 release writes them (`prixlm.data.dbpedia.dumps`): `labels_{code}.ttl`,
`mappingbased_objects_{code}.ttl`, `interlanguage_links_{code}.ttl` (a code's `-` as `_`),
each with the release's `# started` / `# completed` comment lines, raw UTF-8 IRIs and
literals, plus `synthetic_dumps.json` (the settings and the expected counts).

The world (`synthetic_world.py`): `entities` concepts, numbered by popularity (0 is the
most popular). Every language labels every concept (one `rdfs:label` each, in its own
script: Latin with the language's letters, Cyrillic, Greek, Arabic, Hebrew, Devanagari,
kana, Han, Hangul, ...; 3-40 characters, mean about 15, unique within a language) and
holds ~1.5 object facts per concept:

- concept `i` has 0-5 facts (mean 2.0) in every language alike; a language keeps each one
  with probability `fact_share` (0.75), so languages share most facts but not all;
- relations are Zipf-distributed over `relations` ontology properties (exponent 1.1), and
  objects follow a bounded power law (exponent 0.8: the top concept is 1-3% of the
  objects) over the concepts more popular than the subject (so no fact is mirrored by another and no relation is an inverse of another); a share
  `dangling_share` (5%) of objects are IRIs without a label, which the builder drops;
- each pair of languages links concept `i` with probability `link_share` (0.6); a link is
  written in both languages' files (`owl:sameAs`, as the release does).

So an input line count is about `languages * entities * (2.5 + 0.6 * (languages - 1))`.
Everything is a pure function of `(seed, language, concept)` (a 64-bit mix, no state), so
the output does not depend on the chunking, and memory stays flat: the generator holds one
chunk of lines and a bounded cache of popular objects' labels.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_labels import language_codes  # noqa: E402
from synthetic_world import SyntheticSettings, World  # noqa: E402

from prixlm.outputs.atomic import atomic_folder  # noqa: E402

RDFS_LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
OWL_SAME_AS = "<http://www.w3.org/2002/07/owl#sameAs>"
INFO_FILE = "synthetic_dumps.json"
HEADER = "# started 2017-06-29T10:12:03Z\n"
FOOTER = "# completed 2017-06-29T11:48:51Z\n"
CHUNK = 4096  # concepts per block of lines


@dataclass
class DumpCounts:
    """What was written: triple lines per file, and what the builder should keep.

    `facts[code]` are the distinct object facts of a language between labelled concepts;
    `link_pairs[(a, b)]` (a < b, joined as `"a|b"` in JSON) the linked concepts of a pair.
    """

    lines: dict[str, int] = field(default_factory=dict)
    facts: dict[str, int] = field(default_factory=dict)
    link_pairs: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_lines(self) -> int:
        return sum(self.lines.values())

    def expected_links(self, link_languages: Sequence[str] | None = None) -> int:
        """Link rows of the built `links` config (both directions of each kept pair)."""
        pivots = set(link_languages or ())
        return 2 * sum(
            count
            for pair, count in self.link_pairs.items()
            if not pivots or pivots & set(pair.split("|"))
        )


def _iri_base(code: str) -> str:
    return (
        "http://dbpedia.org/resource/" if code == "en" else f"http://{code}.dbpedia.org/resource/"
    )


def _file_code(code: str) -> str:
    return code.replace("-", "_")


class _Writer:
    """Lines of one language's three files, a chunk of concepts at a time."""

    def __init__(self, world: World, index: int) -> None:
        self.world, self.index = world, index
        self.code = world.codes[index]
        self.labeller = world.labellers[self.code]
        self.base = _iri_base(self.code)

    def iris(self, ids: np.ndarray) -> list[str]:
        """`<IRI>` of each concept id (`(n,)`): the label with `_` for spaces."""
        base = self.base
        return [f"<{base}{text.replace(' ', '_')}>" for text in self.labeller.labels(ids)]

    def label_lines(self, start: int, stop: int) -> list[str]:
        code = self.code
        texts = self.labeller.labels(np.arange(start, stop, dtype=np.uint64))
        base = self.base
        return [
            f'<{base}{text.replace(" ", "_")}> {RDFS_LABEL} "{text}"@{code} .\n' for text in texts
        ]

    def fact_lines(self, start: int, stop: int) -> tuple[list[str], int]:
        """Lines of the chunk's facts in this language, and how many the builder keeps."""
        world = self.world
        subjects, relation, objects = world.facts(start, stop)
        keep = world.fact_kept(self.index, subjects, relation, objects)
        subjects, relation, objects = subjects[keep], relation[keep], objects[keep]
        subject_iris = self.iris(subjects)
        object_iris = self.iris(objects)
        relations = world.relations
        lines: list[str] = []
        kept = 0
        seen: set[tuple[int, int]] = set()
        previous = -1
        labelled = world.settings.entities
        for s, r, o, s_iri, o_iri in zip(
            subjects.tolist(), relation.tolist(), objects.tolist(), subject_iris, object_iris,
            strict=True,
        ):  # fmt: skip
            if s != previous:
                previous, seen = s, set()
            if (r, o) in seen:
                continue
            seen.add((r, o))
            lines.append(f"{s_iri} {relations[r]} {o_iri} .\n")
            kept += o < labelled
        return lines, kept

    def link_lines(
        self, start: int, stop: int, writers: list[_Writer]
    ) -> tuple[list[str], dict[int, int]]:
        """Link lines of the chunk (grouped by subject), and the linked concepts per other
        language index (counted on the lower index's side only)."""
        ids = np.arange(start, stop, dtype=np.uint64)
        others = [k for k in range(len(writers)) if k != self.index]
        if not others:
            return [], {}
        mask = np.stack([self.world.linked(self.index, k, ids) for k in others])  # (others, n)
        counts = {k: int(mask[row].sum()) for row, k in enumerate(others) if k > self.index}
        own = self.iris(ids)
        other_iris = {k: writers[k].iris(ids) for k in others}
        concept, row = np.nonzero(mask.T)  # by concept, then language
        return [
            f"{own[c]} {OWL_SAME_AS} {other_iris[others[r]][c]} .\n"
            for c, r in zip(concept.tolist(), row.tolist(), strict=True)
        ], counts


def _write_blocks(path: Path, blocks: Iterator[list[str] | Iterator[str]]) -> int:
    """Write the blocks of lines (no header or footer); the number of lines."""
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for block in blocks:
            block = list(block)
            count += len(block)
            out.write("".join(block))
    return count


FILE_KINDS = ("labels", "mappingbased_objects", "interlanguage_links")
SLICE_CONCEPTS = 64 * CHUNK  # concepts of one task of the generator (a part of a file)
_worlds: dict[str, tuple[World, list[_Writer]]] = {}


def _world_of(config: SyntheticSettings) -> tuple[World, list[_Writer]]:
    """The world of `config` and its writers, made once per process."""
    key = json.dumps(asdict(config))
    if key not in _worlds:
        world = World(config)
        _worlds.clear()
        _worlds[key] = world, [_Writer(world, index) for index in range(len(world.codes))]
    return _worlds[key]


def _write_slice(
    config: SyntheticSettings, index: int, kind: str, start: int, stop: int, path: Path
) -> tuple[int, int, dict[str, int]]:
    """Write the lines of concepts `start..stop-1` of language `index`'s file `kind` to
    `path`; returns (lines, facts kept, linked concepts per language pair)."""
    world, writers = _world_of(config)
    writer = writers[index]
    chunks = [(a, min(a + CHUNK, stop)) for a in range(start, stop, CHUNK)]
    kept = 0
    link_pairs: dict[str, int] = {}
    if kind == "labels":
        return _write_blocks(path, (writer.label_lines(a, b) for a, b in chunks)), 0, {}
    if kind == "mappingbased_objects":

        def fact_blocks() -> Iterator[list[str]]:
            nonlocal kept
            for a, b in chunks:
                lines, chunk_kept = writer.fact_lines(a, b)
                kept += chunk_kept
                yield lines

        return _write_blocks(path, fact_blocks()), kept, {}

    def link_blocks() -> Iterator[list[str]]:
        for a, b in chunks:
            lines, pairs = writer.link_lines(a, b, writers)
            for other, count in pairs.items():
                pair = "|".join(sorted((writer.code, writers[other].code)))
                link_pairs[pair] = link_pairs.get(pair, 0) + count
            yield lines

    return _write_blocks(path, link_blocks()), 0, link_pairs


def write_dumps(
    output_dir: str | Path,
    languages: int | Sequence[str] = 2,
    entities: int = 100_000,
    seed: int = 0,
    processes: int | None = None,
    **settings: float,
) -> DumpCounts:
    """Write the dumps of `languages` (a count or codes) x `entities` into `output_dir`.

    `output_dir` is replaced as a whole (atomically: `.<name>.partial` until complete).
    Each file is written in slices of `SLICE_CONCEPTS` concepts by `processes` processes
    (default: every core; 1: this one), then joined: the same bytes for any number (every
    line is a function of the seed, the language and the concept). Extra keyword arguments
    set `SyntheticSettings` fields. Returns the counts (also in
    `output_dir/synthetic_dumps.json`).
    """
    if entities < 1:
        raise ValueError(f"--entities {entities}: at least 1")
    config = SyntheticSettings(language_codes(languages), entities, seed, **settings)
    counts = DumpCounts()
    started = time.perf_counter()
    slices = [(a, min(a + SLICE_CONCEPTS, entities)) for a in range(0, entities, SLICE_CONCEPTS)]
    processes = processes or os.cpu_count() or 1
    with atomic_folder(output_dir, argument="--output_dir") as staging:
        files = [
            (index, kind, f"{kind}_{_file_code(code)}.ttl")
            for index, code in enumerate(config.languages)
            for kind in FILE_KINDS
        ]
        tasks = [
            (config, index, kind, a, b, staging / f".{name}.{k:05d}")
            for index, kind, name in files
            for k, (a, b) in enumerate(slices)
        ]
        # The workers find `_write_slice` by its module's name: not where this copy of the
        # module is not the one imported under that name (a file loaded twice).
        registered = getattr(sys.modules.get(__name__), "_write_slice", None) is _write_slice
        if processes > 1 and registered:
            context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
            with ProcessPoolExecutor(min(processes, len(tasks)), mp_context=context) as pool:
                results = list(pool.map(_write_slice, *zip(*tasks, strict=True)))
        else:
            results = [_write_slice(*task) for task in tasks]
        done = iter(zip(tasks, results, strict=True))
        for index, kind, name in files:
            code = config.languages[index]
            lines = kept = 0
            with (staging / name).open("wb") as out:
                out.write(HEADER.encode())
                for _ in slices:
                    task, (count, slice_kept, pairs) = next(done)
                    lines, kept = lines + count, kept + slice_kept
                    for pair, linked in pairs.items():
                        counts.link_pairs[pair] = counts.link_pairs.get(pair, 0) + linked
                    with task[-1].open("rb") as part:
                        shutil.copyfileobj(part, out, 1 << 22)
                    task[-1].unlink()
                out.write(FOOTER.encode())
            counts.lines[name] = lines
            if kind == "mappingbased_objects":
                counts.facts[code] = kept
        counts.seconds = time.perf_counter() - started
        info = {"settings": asdict(config), "counts": asdict(counts)}
        (staging / INFO_FILE).write_text(json.dumps(info, indent=1), encoding="utf-8")
    return counts


def read_counts(dump_dir: str | Path) -> DumpCounts:
    """The counts `write_dumps` recorded in `dump_dir`."""
    info = json.loads((Path(dump_dir) / INFO_FILE).read_text(encoding="utf-8"))
    return DumpCounts(**info["counts"])


def dataset_row_counts(dataset_dir: str | Path) -> dict[str, dict[str, int]]:
    """`{config: {split: rows}}` of a built dataset folder, from its card's `configs:` (the
    data files of each split) and the Parquet footers; the `all` config is left out."""
    import pyarrow.parquet as pq
    import yaml

    dataset_dir = Path(dataset_dir)
    card = (dataset_dir / "README.md").read_text(encoding="utf-8")
    header = yaml.safe_load(card.split("---\n")[1])
    counts: dict[str, dict[str, int]] = {}
    for config in header["configs"]:
        if config["config_name"] == "all":
            continue
        splits = counts.setdefault(config["config_name"], {})
        for entry in config["data_files"]:
            paths = [entry["path"]] if isinstance(entry["path"], str) else entry["path"]
            splits[entry["split"]] = sum(
                pq.ParquetFile(dataset_dir / path).metadata.num_rows for path in paths
            )
    return counts


def expected_row_counts(
    counts: DumpCounts, link_languages: Sequence[str] | None = None
) -> dict[str, int]:
    """Rows a build of the dumps should have per config (all splits together): each
    language's kept facts, and both directions of the kept link pairs."""
    return {**counts.facts, "links": counts.expected_links(link_languages)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--languages", type=int, default=2, help="number of languages (max 90)")
    parser.add_argument("--entities", type=int, default=100_000, help="concepts per language")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output_dir", required=True, help="folder to (re)place")
    parser.add_argument("--processes", type=int, help="writing processes (default: every core)")
    args = parser.parse_args(argv)
    try:
        counts = write_dumps(
            args.output_dir, args.languages, args.entities, args.seed, args.processes
        )
    except ValueError as error:
        parser.error(str(error))
    rate = counts.total_lines / counts.seconds
    print(
        f"{args.output_dir}: {counts.total_lines:,} lines in {counts.seconds:.1f} s "
        f"({rate / 1e3:.0f}k lines/s); facts kept {sum(counts.facts.values()):,}, "
        f"link pairs {sum(counts.link_pairs.values()):,}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
