"""Relation names made from property IRIs are cleaned as labels are (zero-width characters and
the control characters that are not white space dropped), by both dump readers and the KG
layout alike: a relation named with one (`birth%E2%80%8BPlace` decodes to a zero-width
space) was trained, but the Hub pipeline refuses a query whose relation holds it."""

from __future__ import annotations

from pathlib import Path

import datasets
from dbpedia_dumps import DBO, DE, add_lines, write_dumps
from kg_files import write_files

from modeling_prixlm import pipeline_queries
from prixlm.data.dbpedia.build import build_dataset
from prixlm.data.dbpedia.engine import EngineOptions
from prixlm.data.kg_layout import convert_layout
from prixlm.data.kg_layout.read import relation_name
from prixlm.data.ntriples import canonical_iri
from prixlm.data.relation_names import relation_words

#: (dump line's relation, the IRI read, its name): percent-escaped zero-width characters
#: (decoded by the reader), an N-Triples escape of one and a raw C1 control in the IRI.
RELATIONS = [
    (f"{DBO}birth%E2%80%8BPlace", f"{DBO}birth\u200bPlace", "birth place"),
    (f"{DBO}seat%EF%BB%BF", f"{DBO}seat\ufeff", "seat"),
    (f"{DBO}lead\\u2060er", f"{DBO}lead\u2060er", "leader"),
    (f"{DBO}head\x90Of", f"{DBO}head\x90Of", "head of"),
]
#: Subject and object (German edition names) of each relation's one fact: no reverse pairs.
ENDS = [("Schweiz", "Berlin"), ("Frankreich", "Bern"), ("Deutschland", "Paris"), ("Bern", "Paris")]


def test_relation_words_drop_what_clean_label_drops() -> None:
    assert relation_words(canonical_iri(f"{DBO}birth%E2%80%8BPlace")) == "birth place"
    assert relation_words("officialLanguage\u2060") == "official language"
    assert relation_words(f"{DBO}iso\x7fCode") == "iso code"
    assert relation_words(f"{DBO}country\x85Code") == "country code"  # white space


def test_dump_relations_are_named_cleaned_on_both_readers(tmp_path: Path) -> None:
    dumps = write_dumps(tmp_path / "dumps")
    lines = [
        f"<{DE}{s}> <{relation}> <{DE}{o}> ."
        for (relation, _, _), (s, o) in zip(RELATIONS, ENDS, strict=True)
    ]
    # a tab between the terms: this line goes the row-by-row reader's way, the others the
    # vectorised one's
    lines.append(f"<{DE}Schweiz>\t<{DBO}capital%E2%80%8BCity>\t<{DE}Paris> .")
    add_lines(dumps / "mappingbased_objects_de.ttl", lines)
    build_dataset(dumps, tmp_path / "kb", ["de"], engine=EngineOptions(threads=1))
    rows = datasets.load_dataset(str(tmp_path / "kb"), "de", cache_dir=str(tmp_path / "c"))
    named = {row["relation_id"]: row["relation"] for split in rows.values() for row in split}
    expected = {iri: name for _, iri, name in RELATIONS}
    expected[f"{DBO}capital\u200bCity"] = "capital city"
    assert {iri: named.get(iri) for iri in expected} == expected
    for name in named.values():
        pipeline_queries.check_input(f"Bern | {name}")


def test_kg_layout_relations_are_named_cleaned(tmp_path: Path) -> None:
    iris = [f"{DBO}birth%E2%80%8BPlace", f"{DBO}%EF%BB%BFseat", "http://x.org/p/lead%E2%81%A0er"]
    files = {
        "relations.txt": iris,
        "entity/en.tsv": ["http://dbpedia.org/resource/Bern", "http://dbpedia.org/resource/Paris"],
        "kg/en-train.tsv": ["0\t0\t1", "1\t1\t0", "0\t2\t0"],
        "kg/en-val.tsv": [],
        "kg/en-test.tsv": ["1\t0\t0"],
    }
    write_files(tmp_path / "kg", files)
    convert_layout(tmp_path / "kg", tmp_path / "dataset")
    rows = datasets.load_dataset(str(tmp_path / "dataset"), "en", cache_dir=str(tmp_path / "c"))
    assert rows["train"]["relation"] == ["birth place", "seat", "leader"]
    assert rows["test"]["relation"] == ["birth place"]
    # the same names as the dump build gives the same IRIs
    assert [relation_name(iri) for iri in iris] == [
        relation_words(canonical_iri(iri)) for iri in iris
    ]
    for name in rows["train"]["relation"]:
        pipeline_queries.check_input(f"Bern | {name}")
