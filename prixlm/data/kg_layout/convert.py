"""A KG in the KEnS / SS-AGA layout (`read`) -> the Prix-LM dataset folder (rows, shards, card).

The output is the DBpedia build's format (`prixlm.data.dbpedia.schema.Row`, written by
`prixlm.data.dbpedia.output.write_shards`, card YAML by `prixlm.data.dbpedia.card.card_data`):
one config per language (train / validation / test), `links` (train) and `all`.

Mapping rules:

- a fact `head rel tail` of `kg/<lang>-<split>.tsv` becomes the triple row
  `(label(head), relation_name(rel), label(tail))` of config `<lang>`, split
  `train` / `validation` (`val`) / `test`: **the benchmark's own splits**, no re-draw, no
  inverse-relation filter, no length filter (`train.py --max_fact_length` drops long training
  facts when it tokenises them; evaluation rows are never dropped). `subject_id`,
  `relation_id`, `object_id` are the IRIs;
- a pair `id_a id_b` of `seed_alignlinks/<a>-<b>.tsv` becomes two link rows, a -> b and
  b -> a, in `links` (train) and hence in `all`'s train; a pair that an earlier file
  already lists (the same two entities in `<b>-<a>.tsv`) adds no rows again, and is counted
  (`link_reverse_repeats`);
- `all_objects`: every object label of the row's query over every split (train +
  validation + test), as the format defines it: `(language, subject, relation)` for a
  triple, `(subject_language, subject, object_language)` for a link;
- every line is kept, duplicates within a file included (`link_repeats` counts a file's
  repeated pairs), except a fact or pair with an entity (or relation) whose label is empty:
  it has nothing to predict, and is dropped and counted;
- the same IRI listed at two ids (DBP-5L has such lines), or two IRIs with the same label,
  give rows with the same text: the model sees one entity there (the format keys entities
  by label: one candidate, one filter entry); the rows are kept and counted
  (`repeated_iris`, `shared_labels`, `text_repeats`).

Rows are written in file order (the column `h` is the line's position), so row `i` of a
config's test split is line `i + 1` of `kg/<lang>-test.tsv` when nothing is dropped.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from prixlm.data.dbpedia.card import card_data, example_variables
from prixlm.data.dbpedia.dataset_folder import (
    BUILD_MARKER,
    CARD,
    check_replaceable,
    dataset_folder,
)
from prixlm.data.dbpedia.engine import duckdb_os_error
from prixlm.data.dbpedia.output import (
    DEFAULT_MAX_SHARD_BYTES,
    DEFAULT_MAX_SHARD_ROWS,
    file_digests,
    write_shards,
)
from prixlm.data.dbpedia.schema import COLUMNS, LINK, LINKS, SPLITS, TRIPLE, SplitSettings
from prixlm.data.dbpedia.splits import DatasetRows, LanguageStats
from prixlm.data.kg_layout.read import (
    LayoutError,
    LayoutFiles,
    entity_label,
    find_layout,
    read_id_rows,
    read_iris,
    relation_name,
)
from prixlm.hub.licenses import hub_license

#: The card template; the file beside this module links to
#: `dataset_builders/kg_layout/dataset_card.md` and ships as package data.
TEMPLATE = Path(__file__).with_name("dataset_card.md")
DEFAULT_LICENSE = "unknown"


@dataclass
class LanguageCounts:
    """What one language's files held and became."""

    entities: int = 0  # lines of entity/<lang>.tsv (ids)
    repeated_iris: int = 0  # lines whose IRI an earlier line already lists
    shared_labels: int = 0  # distinct IRIs whose label another IRI of the language has
    lines: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    dropped_empty_label: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    text_repeats: int = 0  # rows whose (subject, relation, object) text an earlier row has
    labels_in_rows: int = 0  # distinct labels of the rows' entities (the candidates add link ends)


@dataclass
class ConversionStats:
    """Counts of one conversion, per language and for the links (the card's statistics)."""

    languages: dict[str, LanguageCounts]
    relations: int = 0
    relation_names: int = 0  # distinct names of the relations (IRIs may share one)
    link_lines: dict[str, int] = field(default_factory=dict)  # alignment file name -> lines
    link_rows: int = 0  # both directions
    links_dropped_empty_label: int = 0  # pairs
    link_repeats: int = 0  # pairs a file lists again (each kept)
    link_reverse_repeats: int = 0  # pairs an earlier file lists (`b-a.tsv`, `a-b.tsv`): dropped
    skipped_files: list[str] = field(default_factory=list)  # relative to the input folder
    seconds: float = 0.0


_NAMES = ("config", "split", *COLUMNS, "h")


class _Rows:
    """The rows of `rows` (`schema.COLUMNS` plus `config`, `split`, `h`), in file order."""

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []

    def add(self, config: str, split: str, values: tuple[Any, ...]) -> None:
        """Append one row: `values` in `COLUMNS` order (`all_objects` a key, resolved later)."""
        self.rows.append((config, split, *values))

    def table(self, lists: dict[Any, list[str]]) -> pa.Table:
        """The Arrow table, each row's `all_objects` key replaced by its sorted list and `h`
        its position."""
        transposed = zip(*self.rows, strict=True) if self.rows else ([] for _ in _NAMES[:-1])
        columns = dict(zip(_NAMES[:-1], transposed, strict=True))
        columns["all_objects"] = [lists[key] for key in columns["all_objects"]]
        columns["h"] = range(len(self.rows))
        types = {name: pa.string() for name in columns} | {
            "all_objects": pa.list_(pa.string()),
            "h": pa.uint64(),
        }
        return pa.table({name: pa.array(v, types[name]) for name, v in columns.items()})


#: `(iris, labels, lists)`: per language its entities' IRIs and labels (by id), and the
#: objects of every query (`all_objects` before sorting).
_Read = tuple[dict[str, list[str]], dict[str, list[str]], dict[tuple[str, ...], set[str]]]


def _labels(path: Path, iris: list[str], label: Callable[[str], str] = entity_label) -> list[str]:
    """`label(iri)` of each IRI of `path` (`entity_label`, or `relation_name` for
    relations); escapes that are not UTF-8 are a `LayoutError` naming `file:line`."""
    labels = []
    for number, iri in enumerate(iris, start=1):
        try:
            labels.append(label(iri))
        except UnicodeDecodeError:
            raise LayoutError(f"{path}:{number}: percent-escapes that are not UTF-8") from None
    return labels


def _triples(files: LayoutFiles, rows: _Rows, stats: ConversionStats, progress: Any) -> _Read:
    """Add every language's triple rows; returns the entities' IRIs and labels per language
    and the filter lists' sets (`_Read`). `ValueError` for a language left without rows."""
    relation_iris = read_iris(files.relations, progress.update, "relation IRIs")
    names = _labels(files.relations, relation_iris, relation_name)
    stats.relations, stats.relation_names = len(names), len(set(names))
    iris, labels, lists = {}, {}, defaultdict(set)
    for language in files.languages:
        counts = stats.languages[language] = LanguageCounts()
        path = files.entities[language]
        iris[language] = read_iris(path, progress.update, "entity IRIs")
        labels[language] = entity_labels = _labels(path, iris[language])
        distinct = dict(zip(iris[language], entity_labels, strict=True))
        counts.entities = len(iris[language])
        counts.repeated_iris = counts.entities - len(distinct)
        per_label = Counter(distinct.values())
        counts.shared_labels = sum(n for n in per_label.values() if n > 1)
        seen_texts, used = set(), set()
        for split, kg_path in files.splits[language].items():
            size = (counts.entities, len(names), counts.entities)
            facts = read_id_rows(kg_path, size, ("head", "relation", "tail"), progress.update)
            counts.lines[split] = len(facts)
            for head, relation, tail in facts:
                text = (entity_labels[head], names[relation], entity_labels[tail])
                if not all(text):
                    counts.dropped_empty_label[split] += 1
                    continue
                counts.text_repeats += text in seen_texts
                seen_texts.add(text)
                used.update((text[0], text[2]))
                key = (language, text[0], text[1])
                lists[key].add(text[2])
                values = (TRIPLE, *text, language, language)
                ids = (iris[language][head], relation_iris[relation], iris[language][tail])
                rows.add(language, split, (*values, *ids, key))
                counts.rows[split] += 1
        counts.labels_in_rows = len(used)
        if not sum(counts.rows.values()):
            raise ValueError(
                f"language {language!r} has no triples: {sum(counts.lines.values())} lines in "
                f"{files.root / 'kg'}/{language}-*.tsv, "
                f"{sum(counts.dropped_empty_label.values())} with an empty label; nothing written"
            )
    return iris, labels, lists


def _links(
    files: LayoutFiles, rows: _Rows, stats: ConversionStats, read: _Read, progress: Any
) -> None:
    """Add both directions of every alignment pair to `rows` (config `links`, train).

    A pair is the unordered pair of its two ends `(language, id)`: one that an earlier file
    lists (`b-a.tsv` holding a pair of `a-b.tsv`) is counted in `link_reverse_repeats` and
    adds no rows, as both directions are already there; a file's own repeated lines are kept
    (`link_repeats`), as every fact line is."""
    iris, labels, lists = read
    earlier: set[frozenset[tuple[str, int]]] = set()  # the pairs of the files read before
    for (a, b), path in files.alignments.items():
        size = (len(iris[a]), len(iris[b]))
        pairs = read_id_rows(path, size, (f"{a} id", f"{b} id"), progress.update)
        stats.link_lines[path.name] = len(pairs)
        stats.link_repeats += len(pairs) - len(set(pairs))
        ends_of = [frozenset(((a, id_a), (b, id_b))) for id_a, id_b in pairs]
        for pair, (id_a, id_b) in zip(ends_of, pairs, strict=True):
            if pair in earlier:
                stats.link_reverse_repeats += 1
                continue
            ends = ((a, iris[a][id_a], labels[a][id_a]), (b, iris[b][id_b], labels[b][id_b]))
            if not (ends[0][2] and ends[1][2]):
                stats.links_dropped_empty_label += 1
                continue
            for (sl, s_iri, s), (ol, o_iri, o) in (ends, ends[::-1]):
                key = (sl, s, ol, LINK)
                lists[key].add(o)
                rows.add(LINKS, "train", (LINK, s, "", o, sl, ol, s_iri, "", o_iri, key))
                stats.link_rows += 1
        earlier.update(ends_of)


def read_rows(files: LayoutFiles, progress: bool = False) -> tuple[pa.Table, ConversionStats]:
    """Every row of the layout's files as one Arrow table (columns `config`, `split`,
    `schema.COLUMNS`, `h`), with the counts. `LayoutError` names a malformed line."""
    from prixlm.library_bars import progress_bar

    stats = ConversionStats(languages={})
    # relative to the input folder, as the card's command names it by its name only: no
    # path of this machine on a published card
    stats.skipped_files = [p.relative_to(files.root).as_posix() for p in files.skipped_alignments]
    rows = _Rows()
    total = sum(path.stat().st_size for path in files.all_files())
    with progress_bar(
        total=total, unit="B", unit_scale=True, desc="read", disable=not progress
    ) as bar:
        read = _triples(files, rows, stats, bar)
        _links(files, rows, stats, read, bar)
    lists = {key: sorted(objects) for key, objects in read[2].items()}
    return rows.table(lists), stats


def _dataset_rows(stats: ConversionStats) -> DatasetRows:
    """The `DatasetRows` that `card_data` reads (it uses the languages only)."""
    languages = {}
    for language, counts in stats.languages.items():
        languages[language] = LanguageStats(
            entities=counts.labels_in_rows, triples=sum(counts.rows.values())
        )
    return DatasetRows(languages, {}, SplitSettings())


def statistics_table(stats: ConversionStats) -> str:
    """Markdown: per language, the entity lines and per split the lines read / rows kept."""
    lines = [
        "| language | entity lines | repeated IRIs | labels in rows | train | validation "
        "| test | dropped (empty label) | repeated texts |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for language, c in sorted(stats.languages.items()):  # not in the order --languages gave
        splits = " | ".join(f"{c.rows[s]:,} of {c.lines[s]:,}" for s in SPLITS)
        lines.append(
            f"| {language} | {c.entities:,} | {c.repeated_iris:,} | {c.labels_in_rows:,} "
            f"| {splits} | {sum(c.dropped_empty_label.values()):,} | {c.text_repeats:,} |"
        )
    return "\n".join(lines)


def render_card(
    stats: ConversionStats,
    sizes: dict[str, tuple[int, int]],
    *,
    license_id: str = DEFAULT_LICENSE,
    source_name: str = "kg",
    command: str = "",
    digests: dict[str, str] | None = None,
) -> str:
    """The folder's `README.md`: the build's YAML (`card_data`, with `digests`) and this
    layout's body."""
    from huggingface_hub import DatasetCard

    data = card_data(_dataset_rows(stats), sizes, license_id, {"name": source_name}, None, digests)
    languages = sorted(stats.languages)
    card = DatasetCard.from_template(
        data,
        template_path=str(TEMPLATE),
        build_marker=BUILD_MARKER,
        example_variables=example_variables(languages[:2], data.configs),
        path="PATH_OR_REPO",
        source_name=source_name,
        statistics_table=statistics_table(stats),
        stats=stats,
        command=command,
    )
    return str(card).rstrip("\n") + "\n"


def convert_layout(
    input_dir: str | Path,
    output_dir: str | Path,
    languages: Sequence[str] | None = None,
    *,
    license_id: str = DEFAULT_LICENSE,
    progress: bool = False,
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
    max_shard_rows: int = DEFAULT_MAX_SHARD_ROWS,
    command: str = "",
) -> ConversionStats:
    """Convert the layout folder `input_dir` into the dataset folder `output_dir`.

    Everything is read and checked first (a malformed line: `LayoutError` naming
    `file:line`, nothing written); the folder is then written as a hidden staging folder
    and renamed into place (`dataset_folder.dataset_folder`: an earlier build there is replaced,
    other entries are kept). `command` is shown in the card.

    Raises:
        LayoutError: a missing file or a malformed line.
        ValueError: `output_dir` exists and is neither empty nor an earlier build, or
            `license_id` is no Hub licence id (`prixlm.hub.licenses`).
        OSError: a write that failed (a full disk), naming the file.
    """
    started = time.perf_counter()
    license_id = hub_license(license_id)  # before the work: the Hub refuses another id
    check_replaceable(output_dir)
    files = find_layout(input_dir, languages)
    table, stats = read_rows(files, progress)
    with dataset_folder(output_dir) as staging:
        con = duckdb.connect()
        try:
            con.register("converted", table)
            con.execute(
                f"CREATE TABLE triple_rows AS SELECT * FROM converted WHERE config <> '{LINKS}'"
            )
            con.execute(
                f"CREATE TABLE link_rows AS SELECT * FROM converted WHERE config = '{LINKS}'"
            )
            con.unregister("converted")
            con.execute(
                "CREATE VIEW rows AS SELECT * FROM triple_rows UNION ALL SELECT * FROM link_rows"
            )
            sizes = write_shards(
                con,
                staging,
                max_shard_bytes=max_shard_bytes,
                max_shard_rows=max_shard_rows,
                progress=progress,
            )
        except duckdb.IOException as error:  # a full disk: an OSError naming the file
            raise duckdb_os_error(error) from None
        finally:
            con.close()
        stats.seconds = time.perf_counter() - started
        card = render_card(
            stats,
            sizes,
            license_id=license_id,
            source_name=Path(input_dir).absolute().name,
            command=command,
            digests=file_digests(staging, sizes),
        )
        (staging / CARD).write_text(card, encoding="utf-8")
    return stats


__all__ = [
    "DEFAULT_LICENSE",
    "TEMPLATE",
    "ConversionStats",
    "LanguageCounts",
    "convert_layout",
    "read_rows",
    "render_card",
    "statistics_table",
]
