"""What the build reads but does not keep, counted per language (`LanguageStats`).

- `unlabelled_facts`: lines of a language's object-facts file (IRI objects, not `rdf:type`
  or `owl:sameAs`) whose subject or object has no label in that language (`tables`: the
  facts' label joins keep only facts with both);
- `unlabelled_links`: the links of a language with a built language (pairs, each once, as
  the `links` column of the statistics counts them) with an end that has no label in its
  language;
- `unknown_target_links`: `owl:sameAs` lines of a language's links file dropped because
  their target's language is unknown. A target's language is read from its host
  (`dumps.language_of_iri`): `http(s)://dbpedia.org/resource/...` is `en`,
  `http(s)://<code>.dbpedia.org/resource/...` is `<code>`, and any other IRI (a KG's own
  namespace, `www.wikidata.org`) is no language. The readers count these lines in each
  links record file's Parquet footer (`UnknownTargets`), so that the parts of one file,
  read in other processes, add up (`count_unknown_targets`).

The build also counts the IRIs that link lines join into groups (`DatasetRows.linked_iris`):
with several languages and none, no fact is held out in every language at once, and each
language's split is drawn on its own (`warnings`).

`tables` makes the counts' tables (`count_*`), `fill_stats` moves them into the statistics,
`warnings` and `summary` word them for the build's output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from prixlm.data.dbpedia.dataset_rows import DatasetRows
from prixlm.data.dbpedia.dumps import DumpIndex, find_dump_files
from prixlm.data.dbpedia.schema import SPLITS

# The keys of a links record file's footer (`UnknownTargets.footer`).
FOOTER_LANGUAGE = b"prixlm.language"
FOOTER_COUNT = b"prixlm.unknown_target_links"
FOOTER_EXAMPLE = b"prixlm.unknown_target_example"
#: How a link target's language is read (`dumps.language_of_iri`), for messages.
HOST_RULE = (
    "a link target's language is read from its host: http(s)://dbpedia.org/resource/... is "
    "en, http(s)://<code>.dbpedia.org/resource/... is <code>, any other IRI is no language"
)
#: The same, for the dataset card (Markdown).
HOST_RULE_MARKDOWN = (
    "a target's language is read from its host: `http(s)://dbpedia.org/resource/...` is "
    "`en`,\n`http(s)://<code>.dbpedia.org/resource/...` is `<code>`, any other IRI is no "
    "language"
)
_TABLES = ("unlabelled_facts", "unlabelled_links", "unknown_targets", "linked_iris")


@dataclass
class UnknownTargets:
    """The `owl:sameAs` lines of a links file (or part) whose target's language is unknown:
    their count and the smallest target IRI (an example, the same whatever the reader)."""

    count: int = 0
    example: str | None = None

    def add(self, iris: pa.Array | Sequence[str]) -> None:
        """Count the (canonical) target IRIs `iris`."""
        if not len(iris):
            return
        self.count += len(iris)
        smallest = pc.min(iris).as_py() if isinstance(iris, pa.Array) else min(iris)
        if self.example is None or smallest < self.example:
            self.example = smallest

    def merge(self, other: UnknownTargets) -> None:
        """Add the counts of `other` (another part of the same file, another file)."""
        self.count += other.count
        if other.example is not None and (self.example is None or other.example < self.example):
            self.example = other.example

    def footer(self, language: str | None) -> dict[bytes, bytes]:
        """The key-value metadata of the record file of `language`'s links."""
        return {
            FOOTER_LANGUAGE: (language or "").encode(),
            FOOTER_COUNT: str(self.count).encode(),
            FOOTER_EXAMPLE: (self.example or "").encode(),
        }

    @classmethod
    def of_file(cls, path: Path) -> tuple[str, UnknownTargets]:
        """`(language, counts)` from a links record file's footer (zero if it has none)."""
        metadata = pq.read_metadata(path).metadata or {}
        found = cls(int(metadata.get(FOOTER_COUNT, b"0")), None)
        if found.count:
            found.example = metadata[FOOTER_EXAMPLE].decode()
        return metadata.get(FOOTER_LANGUAGE, b"").decode(), found


def count_unknown_targets(con: duckdb.DuckDBPyConnection, links: Sequence[Path]) -> None:
    """Create `unknown_targets(language, n, example)` from the footers of the links record
    files `links`."""
    total: dict[str, UnknownTargets] = {}
    for path in links:
        language, found = UnknownTargets.of_file(path)
        if found.count:
            total.setdefault(language, UnknownTargets()).merge(found)
    table = pa.table(
        {
            "language": list(total),
            "n": [found.count for found in total.values()],
            "example": [found.example for found in total.values()],
        },
        schema=pa.schema([("language", pa.string()), ("n", pa.int64()), ("example", pa.string())]),
    )
    con.register("unknown_counts", table)
    con.execute("CREATE TABLE unknown_targets AS SELECT * FROM unknown_counts")
    con.unregister("unknown_counts")


def count_unlabelled_facts(con: duckdb.DuckDBPyConnection, objects: str) -> None:
    """Create `unlabelled_facts(language, n)`: the records of the relation `objects` (one a
    fact line) less the rows of `facts` (those whose ends both have a label), per language."""
    con.execute(
        f"""CREATE TABLE unlabelled_facts AS
        SELECT r.language, r.n - coalesce(f.n, 0) AS n
        FROM (SELECT language, count(*) AS n FROM {objects} GROUP BY 1) r
        LEFT JOIN (SELECT language, count(*) AS n FROM facts GROUP BY 1) f USING (language)"""
    )


def count_unlabelled_links(con: duckdb.DuckDBPyConnection, lines: str, keep: str) -> None:
    """Create `unlabelled_links(la, lb, n)`: the pairs of the table `lines(la, ia, lb, ib,
    labelled_a, labelled_b)` that the SQL condition `keep` keeps, with an end unlabelled."""
    con.execute(
        f"""CREATE TABLE unlabelled_links AS SELECT la, lb, count(*) AS n FROM {lines}
        WHERE NOT (labelled_a AND labelled_b) AND {keep} GROUP BY la, lb"""
    )


def count_linked(con: duckdb.DuckDBPyConnection) -> None:
    """Create `linked_iris(n)`: the IRIs that link lines join into groups (`entity`)."""
    con.execute("CREATE TABLE linked_iris AS SELECT count(*) AS n FROM entity")


def fill_stats(con: duckdb.DuckDBPyConnection, rows: DatasetRows) -> None:
    """Set the counts of the module doc in `rows` (from the `count_*` tables, then dropped)."""
    stats = rows.stats
    for language, n in con.execute("SELECT language, n FROM unlabelled_facts").fetchall():
        if language in stats:
            stats[language].unlabelled_facts = n
    for la, lb, n in con.execute("SELECT la, lb, n FROM unlabelled_links").fetchall():
        if la in stats and lb in stats:
            stats[la].unlabelled_links += n
            stats[lb].unlabelled_links += n
    query = "SELECT language, n, example FROM unknown_targets"
    for language, n, example in con.execute(query).fetchall():
        if language in stats:
            stats[language].unknown_target_links = n
            stats[language].unknown_target_example = example
    ((rows.linked_iris,),) = con.execute("SELECT n FROM linked_iris").fetchall()
    for table in _TABLES:
        con.execute(f"DROP TABLE {table}")


def unlinked(rows: DatasetRows) -> bool:
    """Whether several languages were built and no link line joined any two entities."""
    return len(rows.stats) > 1 and rows.linked_iris == 0


def warnings(rows: DatasetRows, index: DumpIndex) -> list[str]:
    """The build's warnings about the link lines it could not read as links (module doc)."""
    found = []
    for language, stats in rows.stats.items():
        if stats.unknown_target_links:
            path = find_dump_files(index, language).links
            found.append(
                f"{path}: {stats.unknown_target_links:,} owl:sameAs lines dropped, their "
                f"target's language is unknown (e.g. <{stats.unknown_target_example}>); "
                f"{HOST_RULE}"
            )
    if unlinked(rows):
        found.append(
            f"no link joins entities of the built languages ({', '.join(rows.stats)}): each "
            "language's split was drawn on its own, so a test fact of one language may be a "
            "training fact of another"
        )
    return found


def summary(language: str, rows: DatasetRows) -> str:
    """What the build's summary line of `language` adds about the input it dropped ("" if
    nothing was)."""
    stats = rows.stats[language]
    parts = []
    if stats.unlabelled_facts or stats.unlabelled_links:
        parts.append(
            f"dropped, an end without a label: fact lines {stats.unlabelled_facts:,}, "
            f"links {stats.unlabelled_links:,}"
        )
    if stats.unknown_target_links:
        parts.append(
            "dropped, a target of unknown language: owl:sameAs lines "
            f"{stats.unknown_target_links:,}"
        )
    return "".join(f"; {part}" for part in parts)


def summary_table(rows: DatasetRows) -> str:
    """The build's summary: a Markdown table of each language's triples (per split) and
    links, then a line `  <language>: dropped, ...` for each language whose input lost
    facts or links (`summary`)."""
    lines = [
        "| language | triples | train | validation | test | links |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for language, stats in rows.stats.items():
        splits = " | ".join(f"{stats.splits.get(name, 0):,}" for name in SPLITS)
        lines.append(f"| {language} | {stats.triples:,} | {splits} | {stats.links:,} |")
    for language in rows.stats:
        if dropped := summary(language, rows).removeprefix("; "):
            lines.append(f"  {language}: {dropped}")
    return "\n".join(lines)


__all__ = [
    "HOST_RULE",
    "HOST_RULE_MARKDOWN",
    "UnknownTargets",
    "count_linked",
    "count_unknown_targets",
    "count_unlabelled_facts",
    "count_unlabelled_links",
    "fill_stats",
    "summary_table",
    "summary",
    "unlinked",
    "warnings",
]
