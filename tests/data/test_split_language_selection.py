"""The `fact` split of a language is the same whichever languages are built with it.

An entity's id, the key of the split's draw, is the English IRI that its own language's
link lines name, whether English is built or not (`tables.id_links`); the `links` config
still holds only the links between built languages.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from dbpedia_dumps import DE, EN, ENTITIES, FR, SAME, add_lines, documented_split, iri, write_dumps

from prixlm.data.cldr.export import export_cldr_kb
from prixlm.data.dbpedia.build import build_dataset
from prixlm.data.dbpedia.convert import convert
from prixlm.data.dbpedia.dumps import DumpIndex, ReadOptions
from prixlm.data.dbpedia.engine import construct
from prixlm.data.dbpedia.read_rows import Job
from prixlm.data.dbpedia.schema import SPLITS, SplitSettings

SETTINGS = SplitSettings(test_fraction=0.3, validation_fraction=0.1)
JA = "http://ja.dbpedia.org/resource/"


def _english(language: str) -> dict[str, str]:
    """`{IRI in language: its entity's English IRI}` of the test dumps."""
    return {iri(key, language): iri(key, "en") for key in ENTITIES if iri(key, language)}


def test_a_build_without_english_draws_the_splits_of_a_build_with_it(dumps: Path) -> None:
    """German alone (or with French) drew its facts on German IRIs: most of its test rows
    were train rows of the English, German and French build."""
    full, _ = build_dataset(dumps, None, ["en", "de", "fr"], settings=SETTINGS)
    alone, _ = build_dataset(dumps, None, ["de"], settings=SETTINGS)
    pair, _ = build_dataset(dumps, None, ["de", "fr"], settings=SETTINGS)
    for language, build in (("de", alone), ("de", pair), ("fr", pair)):
        for split in SPLITS:
            assert build.triples[language][split] == full.triples[language][split], split
    assert [full.stats["de"].splits[s] for s in SPLITS] == [9, 0, 3]
    english = _english("de")
    for split in SPLITS:  # the documented draw of the English ids
        for row in alone.triples["de"][split]:
            key = (english[row.subject_id], row.relation_id, english[row.object_id])
            assert documented_split(key, SETTINGS) == split
    # the links config: links between built languages only
    assert alone.links == [] and alone.stats["de"].links == 0
    assert sorted(pair.links) == sorted(
        row for row in full.links if "en" not in (row.subject_language, row.object_language)
    )
    assert len(pair.links) == 2 * 9


def test_the_ids_come_from_the_english_links_of_the_built_languages_alone(
    tmp_path: Path,
) -> None:
    """A German build reads German's lines to English (unlabelled there: English is not
    built), not those to French; an unlabelled German end joins no group."""
    folder = write_dumps(tmp_path / "dumps")
    add_lines(folder / "interlanguage_links_de.ttl", [f"<{DE}Nowhere> {SAME} <{EN}Nowhere> ."])
    with construct(DumpIndex.scan(folder), ["de"], tmp_path / "work", ReadOptions()) as con:
        ids = dict(con.execute("SELECT iri, eid FROM entity").fetchall())
        (pairs,) = con.execute("SELECT count(*) FROM pairs").fetchone()
    english = _english("de")
    assert ids == {**english, **{en: en for en in english.values()}}
    assert pairs == 0


def test_link_languages_leave_the_splits_as_they_are(dumps: Path) -> None:
    """With `--link_languages fr`, the Swiss franc and Cologne (no French copy) were drawn
    one language at a time: their German facts on German IRIs."""
    every, _ = build_dataset(dumps, None, settings=SETTINGS)
    french, _ = build_dataset(dumps, None, settings=SETTINGS, link_languages=["fr"])
    for language in ("en", "de", "fr"):
        for split in SPLITS:
            assert french.triples[language][split] == every.triples[language][split], split
    assert {"fr"} <= {row.subject_language for row in french.links}
    assert all("fr" in (row.subject_language, row.object_language) for row in french.links)
    assert len(french.links) == 2 * 9 * 2 < len(every.links)


def test_the_readers_keep_links_to_english_whatever_is_built(tmp_path: Path) -> None:
    """Links to English are read when English is not built or not a pivot, as are the hub's
    English members; links to other unbuilt languages and to the file's own are not."""
    lines = [
        f"<{DE}A> {SAME} <{EN}A> .",
        f"<{DE}A> {SAME} <{FR}A> .",
        f"<{DE}A> {SAME} <{JA}A> .",
        f"<{DE}A> {SAME} <{DE}B> .",
        f"<{DE}A> {SAME} <http://example.org/A> .",
    ]
    links = tmp_path / "interlanguage_links_de.ttl"
    links.write_text("\n".join(lines) + "\n", encoding="utf-8")
    hub = tmp_path / "sameas-all-wikis.ttl"
    q = "http://wikidata.dbpedia.org/resource/Q1"
    hub.write_text("".join(f"<{q}> {SAME} <{b}A> .\n" for b in (EN, DE, FR, JA)), "utf-8")
    jobs = {
        "alone": Job("links", links, tmp_path / "a", "de", ("de",)),
        "with ja": Job("links", links, tmp_path / "b", "de", ("de", "ja")),
        "pivot fr": Job("links", links, tmp_path / "c", "de", ("de", "fr", "ja"), ("fr",)),
        "hub": Job("hub", hub, tmp_path / "d", None, ("de",)),
    }
    found = {}
    for name, job in jobs.items():
        tables = []
        for vectorised in (False, True):
            output = job.output.with_suffix(f".{vectorised}.parquet")
            convert(replace(job, output=output), ReadOptions(), vectorised=vectorised)
            tables.append(pq.read_table(output).to_pylist())
        assert tables[0] == tables[1], name
        found[name] = [tuple(row.values())[-2:] for row in tables[0]]
    assert found["alone"] == [("en", EN + "A")]
    assert found["with ja"] == [("en", EN + "A"), ("ja", JA + "A")]
    assert found["pivot fr"] == [("en", EN + "A"), ("fr", FR + "A")]
    assert found["hub"] == [("en", EN + "A"), ("de", DE + "A")]


@pytest.fixture(scope="module")
def cldr(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CLDR export of en, de and ja: every entity's link lines name its English IRI."""
    folder = tmp_path_factory.mktemp("cldr") / "dumps"
    export_cldr_kb(["en", "de", "ja"], folder, progress=False)
    return folder


def test_cldr_german_alone_or_with_japanese_keeps_the_split_of_the_three(cldr: Path) -> None:
    """Built from the English, German and Japanese export, German alone drew a split of
    which 262 of 316 test rows were train rows of the three's build."""
    three, _ = build_dataset(cldr, None, ["en", "de", "ja"])
    alone, _ = build_dataset(cldr, None, ["de"])
    two, _ = build_dataset(cldr, None, ["de", "ja"])
    for language, build in (("de", alone), ("de", two), ("ja", two)):
        assert build.stats[language].splits == three.stats[language].splits
        for split in SPLITS:
            assert build.triples[language][split] == three.triples[language][split], split
    assert three.stats["de"].splits["test"] > 250


def test_a_cldr_export_without_english_draws_the_splits_of_one_with_it(
    cldr: Path, tmp_path: Path
) -> None:
    """A German (or German and Japanese) export linked only to the other exported
    languages: its build keyed German on German IRIs, and 262 of its 316 German test rows
    were train rows of the English, German and Japanese export's build."""
    alone = export_cldr_kb(["de"], tmp_path / "de", progress=False)
    export_cldr_kb(["de", "ja"], tmp_path / "de_ja", progress=False)
    three, _ = build_dataset(cldr, None, ["en", "de", "ja"])
    de, _ = build_dataset(tmp_path / "de", None)
    de_ja, _ = build_dataset(tmp_path / "de_ja", None)
    for language, build in (("de", de), ("de", de_ja), ("ja", de_ja)):
        assert build.stats[language].splits == three.stats[language].splits, language
        for split in SPLITS:
            assert build.triples[language][split] == three.triples[language][split], split
    assert [three.stats["de"].splits[s] for s in SPLITS] == [3295, 165, 273]
    assert de.links == [] and len(de_ja.links) == 2 * 1790  # links between built ones
    assert sorted(de_ja.links) == sorted(
        row for row in three.links if "en" not in (row.subject_language, row.object_language)
    )
    # German's files: the three's (German and Japanese), the three's less the lines to ja (German)
    for name in ("labels_de.ttl", "mappingbased_objects_de.ttl", "interlanguage_links_de.ttl"):
        assert (tmp_path / "de_ja" / name).read_bytes() == (cldr / name).read_bytes(), name
    three_links = (cldr / "interlanguage_links_de.ttl").read_text(encoding="utf-8")
    de_links = (tmp_path / "de" / "interlanguage_links_de.ttl").read_text(encoding="utf-8")
    assert de_links.splitlines() == [line for line in three_links.splitlines() if JA not in line]
    assert f"<{DE}Deutschland> {SAME} <{EN}Germany> ." in de_links.splitlines()
    assert alone["de"]["links"] == de_links.count(SAME) == 1801
