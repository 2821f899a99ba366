"""Filter lists and id bounds: the KG-layout conversion's `all_objects` key and head/tail
range checks, and the DBpedia build's sorted `all_objects`."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from dbpedia_dumps import DBO, EN, LABEL, add_lines, write_dumps
from test_kg_layout import write_layout

from prixlm.data.dbpedia.build import build_dataset
from prixlm.data.dbpedia.splits import object_lists
from prixlm.data.kg_layout.convert import read_rows
from prixlm.data.kg_layout.read import LayoutError, find_layout
from prixlm.data.ntriples import Literal, read_line

R = "http://example.org/relation/"

#: en: X has r1 -> A (train) and r2 -> B (test); Y has r1 -> B and r1 -> A (validation).
SMALL = {
    "entity/en.tsv": [f"{EN}X", f"{EN}A", f"{EN}B", f"{EN}Y"],
    "relations.txt": [f"{R}r1", f"{R}r2"],
    "kg/en-train.tsv": ["0\t0\t1"],
    "kg/en-val.tsv": ["3\t0\t2", "3\t0\t1"],
    "kg/en-test.tsv": ["0\t1\t2"],
}


def triple_lists(table: pa.Table) -> dict[tuple[str, str, str], list[str]]:
    rows = table.select(["subject", "relation", "object", "all_objects"]).to_pylist()
    return {(r["subject"], r["relation"], r["object"]): r["all_objects"] for r in rows}


def test_a_triples_true_objects_are_those_of_its_relation(tmp_path: Path) -> None:
    """`all_objects` is keyed by (language, subject, relation): X's r2 object B is not a
    true object of (X, r1), nor A one of (X, r2)."""
    table, _ = read_rows(find_layout(write_layout(tmp_path / "kg", SMALL)))
    assert triple_lists(table) == {
        ("X", "r1", "A"): ["A"],
        ("X", "r2", "B"): ["B"],
        ("Y", "r1", "B"): ["A", "B"],  # every split's objects of the query, sorted
        ("Y", "r1", "A"): ["A", "B"],
    }


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("4\t0\t1", "kg/en-test.tsv:1: head 4 out of range (the file lists 4)"),
        ("0\t0\t4", "kg/en-test.tsv:1: tail 4 out of range (the file lists 4)"),
        ("0\t2\t1", "kg/en-test.tsv:1: relation 2 out of range (the file lists 2)"),
    ],
)
def test_an_id_equal_to_the_number_of_entities_is_out_of_range(
    tmp_path: Path, line: str, message: str
) -> None:
    """Ids are 0-based: the id equal to the count of en entities (4) is one past the last,
    a `LayoutError` naming the file and line (not an `IndexError`)."""
    root = write_layout(tmp_path / "kg", {**SMALL, "kg/en-test.tsv": [line]})
    with pytest.raises(LayoutError) as error:
        read_rows(find_layout(root))
    assert message in str(error.value)
    assert str(error.value).startswith(str(root / "kg" / "en-test.tsv") + ":1: ")


def test_object_lists_are_sorted_and_distinct() -> None:
    """Objects listed out of order, one twice: each key's list is sorted, without repeats."""
    con = duckdb.connect()
    objects = [f"o{k:02d}" for k in range(40)][::-1]
    source = pa.table(
        {
            "language": ["en"] * 41 + ["de"] * 3,
            "subject": ["s"] * 41 + ["s"] * 3,
            "relation": ["r"] * 41 + ["r"] * 3,
            "object": [*objects, "o07", "zeta", "alpha", "Mu"],
        }
    )
    con.register("source", source)
    assert object_lists(con, "lists", "source", "language, subject, relation") == 1
    found = dict(con.execute("SELECT language, all_objects FROM lists").fetchall())
    assert found == {"en": sorted(objects), "de": ["Mu", "alpha", "zeta"]}


def test_a_builds_all_objects_are_sorted(tmp_path: Path) -> None:
    """The toy dumps plus 26 parts of Germany listed in reverse order: every row's
    `all_objects` is sorted, and the long list is in every split's rows of its query."""
    dumps = write_dumps(tmp_path / "dumps")
    names = [f"Part {chr(ord('A') + k)}" for k in range(26)][::-1]  # Z first
    add_lines(dumps / "labels_en.ttl", [f'<{EN}P_{n[-1]}> {LABEL} "{n}"@en .' for n in names])
    add_lines(
        dumps / "mappingbased_objects_en.ttl",
        [f"<{EN}Germany> <{DBO}hasPart> <{EN}P_{n[-1]}> ." for n in names],
    )
    rows, _ = build_dataset(dumps, None)
    every = [
        row
        for language in ("en", "de", "fr")
        for split in rows.triples[language].values()
        for row in split
    ] + list(rows.links)
    assert every and all(row.all_objects == sorted(row.all_objects) for row in every)
    parts = [row for row in every if row.relation == "has part"]
    assert len(parts) == 26 and all(row.all_objects == sorted(names) for row in parts)
    switzerland = {
        tuple(row.all_objects)
        for row in every
        if (row.subject, row.relation) == ("Switzerland", "official language")
    }
    assert switzerland == {("French", "German")}  # written German first in the dump


def test_a_language_tag_is_lower_cased_by_the_full_grammar():
    # a subject outside http(s) leaves the fast path: the full grammar's plain branch
    triple = read_line('<urn:x:s> <http://a/p> "v"@EN-GB .')
    assert triple == ("urn:x:s", "http://a/p", Literal("v", "en-gb", None))
    assert triple[2].language == "en-gb"
    # with an escape (the full grammar's other branch) the same
    escaped = read_line('<urn:x:s> <http://a/p> "v\\u00e9"@De-AT .')
    assert escaped == ("urn:x:s", "http://a/p", Literal("vé", "de-at", None))
