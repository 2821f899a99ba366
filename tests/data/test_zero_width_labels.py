"""Labels drop the zero-width characters `str.split` keeps (U+200B, U+2060, U+FEFF), on
both dump readers alike and in the KG layout: the Hub pipeline refuses a query holding
one, so an entity named with one could not be asked about."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from modeling_prixlm import pipeline_queries
from prixlm.data.dbpedia.arrow_values import ZERO_WIDTH, clean_label
from prixlm.data.dbpedia.convert import convert
from prixlm.data.dbpedia.dumps import ReadOptions
from prixlm.data.dbpedia.read_rows import Job
from prixlm.data.kg_layout import entity_label

TH = "http://th.dbpedia.org/resource/"
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
ONTOLOGY = "http://dbpedia.org/ontology/"
LINES = [
    f'<{TH}Bangkok> {LABEL} "กรุงเทพ\u200bมหานคร"@th .',
    f'<{TH}AB> {LABEL} "A\u2060B"@th .',
    f'<{TH}Bom> {LABEL} "\ufeffBom"@th .',
    f'<{TH}Spaced> {LABEL} "A \u200b B"@th .',  # dropped, then the spaces collapse
    f'<{TH}Escaped> {LABEL} "C\\u200BD"@th .',  # an N-Triples escape
    f'<{TH}Nothing> {LABEL} "\u200b\u2060"@th .',  # nothing left: no label
]
EXPECTED = {
    f"{TH}Bangkok": "กรุงเทพมหานคร",
    f"{TH}AB": "AB",
    f"{TH}Bom": "Bom",
    f"{TH}Spaced": "A B",
    f"{TH}Escaped": "CD",
}


def both_ways(job: Job, tmp_path: Path) -> list[dict]:
    """The records of `job` by the row-by-row and the vectorised reader, asserted equal."""
    tables = []
    for vectorised in (False, True):
        output = tmp_path / f"{job.kind}-{vectorised}.parquet"
        run = Job(job.kind, job.path, output, job.language, job.languages)
        convert(run, ReadOptions(), vectorised=vectorised)
        tables.append(pq.read_table(output).to_pylist())
    assert tables[0] == tables[1]
    return tables[1]


def test_the_pipeline_refuses_the_same_characters_the_build_drops() -> None:
    assert set(ZERO_WIDTH) == set(pipeline_queries.ZERO_WIDTH)


def test_labels_drop_zero_width_characters_on_both_readers(tmp_path: Path) -> None:
    path = tmp_path / "labels_th.ttl"
    path.write_text("".join(f"{line}\n" for line in LINES), encoding="utf-8")
    records = both_ways(Job("labels", path, Path("labels"), "th", ("th",)), tmp_path)
    assert {r["iri"]: r["label"] for r in records} == EXPECTED
    for label in EXPECTED.values():
        pipeline_queries.check_input(f"{label} | country")


def test_relation_labels_drop_them_too(tmp_path: Path) -> None:
    path = tmp_path / "ontology.nt"
    path.write_text(
        f'<{ONTOLOGY}capital> {LABEL} "capital\u200b city"@en .\n'
        f'<{ONTOLOGY}country> {LABEL} "coun\\u2060try"@en .\n',
        encoding="utf-8",
    )
    records = both_ways(Job("ontology", path, Path("ontology")), tmp_path)
    assert [r["label"] for r in records] == ["capital city", "country"]


@pytest.mark.parametrize("character", sorted(ZERO_WIDTH))
def test_clean_label_drops_each(character: str) -> None:
    assert clean_label(f" x{character}y {character} z ") == "xy z"


def test_kg_layout_labels_drop_them() -> None:
    label = entity_label(f"{TH}%E0%B8%81%E0%B8%A3%E0%B8%B8%E0%B8%87%E2%80%8B%E0%B9%80_A%E2%81%A0B")
    assert label == "กรุงเ AB"
    assert entity_label(f"{TH}X\ufeffY") == "XY"
    pipeline_queries.check_input(f"{label} | country")
