"""Labels drop the control characters `str.split` does not take for white space (U+0000-0008,
U+000E-001B, U+007F-0084, U+0086-009F) as they drop zero-width ones, on both dump readers
alike, in the KG layout and in CLDR's names: a label keeping one (`A\\x7fB`) was trained,
listed in `candidates.json` and answered, but the Hub pipeline refuses a query holding it."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
from kg_files import write_files

from modeling_prixlm import pipeline_queries
from prixlm.data.dbpedia.arrow_values import CONTROLS, DROPPED, ZERO_WIDTH, clean_label
from prixlm.data.dbpedia.convert import convert
from prixlm.data.dbpedia.dumps import ReadOptions
from prixlm.data.dbpedia.read_rows import Job
from prixlm.data.kg_layout import convert_layout, entity_label

DE = "http://de.dbpedia.org/resource/"
EN = "http://dbpedia.org/resource/"
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
ONTOLOGY = "http://dbpedia.org/ontology/"
#: Raw characters (C1 controls and DEL on the vectorised path, C0 ones on the row-by-row
#: path: a common line holds none) and N-Triples escapes of them.
LINES = [
    f'<{DE}Del> {LABEL} "A\x7fB"@de .',
    f'<{DE}C1> {LABEL} "A\x80B\x9f"@de .',
    f'<{DE}Spaced> {LABEL} "A \x84 B"@de .',  # dropped, then the spaces collapse
    f'<{DE}C0> {LABEL} "\x01A\x1bB"@de .',
    f'<{DE}Escaped> {LABEL} "C\\u007FD\\u0000"@de .',
    f'<{DE}Nel> {LABEL} "A\x85B"@de .',  # U+0085 is white space: one space
    f'<{DE}Plain> {LABEL} "Plain"@de .',
    f'<{DE}OnlyControls> {LABEL} "\x7f\x80\\u0008"@de .',  # nothing left: no label
    f'<{DE}OnlySpace> {LABEL} "  "@de .',  # as an empty label is
]
EXPECTED = {
    f"{DE}Del": "AB",
    f"{DE}C1": "AB",
    f"{DE}Spaced": "A B",
    f"{DE}C0": "AB",
    f"{DE}Escaped": "CD",
    f"{DE}Nel": "A B",
    f"{DE}Plain": "Plain",
}


def test_the_controls_are_those_str_split_keeps() -> None:
    codes = sorted(ord(character) for character in CONTROLS)
    expected = [*range(0x00, 0x09), *range(0x0E, 0x1C), *range(0x7F, 0x85), *range(0x86, 0xA0)]
    assert codes == expected


@pytest.mark.parametrize(
    "character",
    sorted(c for c in map(chr, range(0xA0)) if unicodedata.category(c) == "Cc")
    + sorted(ZERO_WIDTH),
)
def test_no_label_holds_a_character_the_pipeline_refuses(character: str) -> None:
    label = clean_label(f" A{character}B ")
    assert label == ("AB" if character in DROPPED else "A B")
    pipeline_queries.check_text("subject", label)


def test_labels_drop_control_characters_on_both_readers(tmp_path: Path) -> None:
    path = tmp_path / "labels_de.ttl"
    path.write_text("".join(f"{line}\n" for line in LINES), encoding="utf-8")
    tables, counts = [], []
    for vectorised in (False, True):
        output = tmp_path / f"labels-{vectorised}.parquet"
        stats = convert(Job("labels", path, output, "de", ("de",)), ReadOptions(), vectorised)
        tables.append(pq.read_table(output).to_pylist())
        counts.append(stats)
    assert tables[0] == tables[1] and counts[0] == counts[1]
    assert {r["iri"]: r["label"] for r in tables[1]} == EXPECTED
    assert counts[1].triples == len(LINES)  # the label-less lines are read, make no record
    for label in EXPECTED.values():
        pipeline_queries.check_input(f"{label} | country")


def test_relation_labels_drop_them_too(tmp_path: Path) -> None:
    path = tmp_path / "ontology.nt"
    path.write_text(
        f'<{ONTOLOGY}capital> {LABEL} "capital\x7f city"@en .\n'
        f'<{ONTOLOGY}country> {LABEL} "coun\\u0090try"@en .\n',
        encoding="utf-8",
    )
    tables = []
    for vectorised in (False, True):
        output = tmp_path / f"ontology-{vectorised}.parquet"
        convert(Job("ontology", path, output), ReadOptions(), vectorised=vectorised)
        tables.append(pq.read_table(output).to_pylist())
    assert tables[0] == tables[1]
    assert [r["label"] for r in tables[1]] == ["capital city", "country"]


def test_kg_layout_labels_drop_them_and_an_emptied_label_is_an_empty_label(tmp_path: Path) -> None:
    assert entity_label(f"{EN}A%7FB") == "AB"
    assert entity_label(f"{EN}A_%C2%80_B%00") == "A B"
    files = {
        "entity/en.tsv": [f"{EN}Japan", f"{EN}A%7FB", f"{EN}%7F%C2%9F", EN],
        "relations.txt": [f"{ONTOLOGY}country"],
        "kg/en-train.tsv": ["1\t0\t0", "2\t0\t0", "3\t0\t0"],
        "kg/en-val.tsv": [],
        "kg/en-test.tsv": ["0\t0\t1"],
    }
    write_files(tmp_path / "kg", files)
    stats = convert_layout(tmp_path / "kg", tmp_path / "dataset")
    # the IRI whose label is only controls is dropped as the IRI with no local name is
    assert stats.languages["en"].dropped_empty_label == {"train": 2, "validation": 0, "test": 0}
    rows = datasets.load_dataset(str(tmp_path / "dataset"), "en")
    assert [r["subject"] for r in rows["train"]] == ["AB"]
    assert [r["object"] for r in rows["test"]] == ["AB"]
    pipeline_queries.check_input("AB | country")
