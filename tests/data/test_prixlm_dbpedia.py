"""The Prix-LM DBpedia builder: construction, splits, filters, Parquet + card, atomic builds."""

from __future__ import annotations

import copy
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from dbpedia_dumps import (
    DBO,
    DE,
    EN,
    ENTITIES,
    FACTS,
    FR,
    all_triple_rows,
    documented_split,
    iri,
    write_dumps,
)

from prixlm.data.dbpedia import SplitSettings, relation_words
from prixlm.data.dbpedia.build import build_dataset, construct, main
from prixlm.data.dbpedia.dumps import (
    DumpIndex,
    ReadOptions,
    discover_languages,
    find_dump_files,
    language_of_iri,
)
from prixlm.data.dbpedia.splits import inverse_relations_of
from prixlm.data.dbpedia.tables import FACT_COUNTS, build_texts, first_of_each
from prixlm.data.ntriples import MalformedLineError

ALL_TRAIN = SplitSettings(test_fraction=0, validation_fraction=0)


@contextmanager
def constructed(dumps: Path, tmp_path: Path, languages: list[str], **kwargs):
    """The DuckDB tables of `tables` for `dumps`, and the read options."""
    options = ReadOptions()
    with construct(DumpIndex.scan(dumps), languages, tmp_path, options, **kwargs) as con:
        yield con, options


def entity_ids(con) -> dict[str, str]:
    return dict(con.execute("SELECT iri, eid FROM entity").fetchall())


def test_file_discovery_and_languages(tmp_path: Path, dumps: Path) -> None:
    assert discover_languages(dumps) == ["de", "en", "fr"]
    found = find_dump_files(dumps, "de")
    assert (found.labels.name, found.objects.name, found.links.name) == (
        "labels_de.ttl",
        "mappingbased_objects_de.ttl",
        "interlanguage_links_de.ttl",
    )
    databus = write_dumps(tmp_path / "databus", ".bz2", scheme="databus")
    assert find_dump_files(databus, "fr").objects.name == "mappingbased-objects_lang=fr.ttl.bz2"
    (databus / "labels_fr.ttl").write_text("")
    with pytest.raises(ValueError, match="several labels files for language 'fr'"):
        find_dump_files(databus, "fr")
    with pytest.raises(FileNotFoundError, match="no labels file for language 'it'"):
        find_dump_files(dumps, "it")
    assert language_of_iri(EN + "X") == "en"
    assert language_of_iri(DE + "X") == "de"
    assert language_of_iri("http://wikidata.dbpedia.org/resource/Q15") == "wikidata"
    assert language_of_iri("http://example.org/X") is None
    # a link to a host no language has skips that link; it stopped the whole build
    assert language_of_iri("http://fr-.dbpedia.org/resource/Berlin") is None
    assert language_of_iri("http://a--b.dbpedia.org/resource/Berlin") is None


def test_relation_words() -> None:
    assert relation_words(DBO + "officialLanguage") == "official language"
    assert relation_words(DBO + "ISOCode") == "ISO code"
    assert relation_words(DBO + "birth_place") == "birth place"
    assert relation_words("http://x/p#populationTotal") == "population total"


def test_construction_gives_exact_triples_and_links(dumps: Path, tmp_path: Path) -> None:
    with constructed(dumps, tmp_path / "all", ["de", "en", "fr"]) as (con, options):
        labels = {(lang, iri): label for lang, iri, label in con.sql("FROM labels").fetchall()}
        facts = con.execute("SELECT language, s_iri, r_iri, o_iri FROM facts").fetchall()
        fact_counts = dict(con.execute(FACT_COUNTS).fetchall())
        texts = dict(con.execute("SELECT language, count(*) FROM texts GROUP BY 1").fetchall())
        links = con.execute("SELECT la, ia, lb, ib FROM pairs").fetchall()
        ids = entity_ids(con)
        names = dict(
            con.execute("SELECT language || relation, name FROM relation_names").fetchall()
        )
    assert labels[("de", DE + "Köln")] == "Köln"
    assert labels[("en", EN + "Germany")] == "Germany"
    assert labels[("en", EN + "Cologne")] == 'Cologne "Köln"'
    for language in ("de", "en", "fr"):
        expected = {
            (iri(s, language), DBO + r, iri(o, language))
            for s, r, o in FACTS
            if iri(s, language) and iri(o, language)
        }
        assert {f[1:] for f in facts if f[0] == language} == expected
    assert fact_counts == texts == {"de": 14, "en": 14, "fr": 12}  # fr: no Swiss franc, no Cologne
    assert sum(f[0] == "fr" for f in facts) == 13  # one fr fact listed twice, counted once
    expected_links = set()
    for key in ENTITIES:
        ends = sorted((lang, iri(key, lang)) for lang in ("de", "en", "fr") if iri(key, lang))
        expected_links |= {(*a, *b) for i, a in enumerate(ends) for b in ends[i + 1 :]}
    assert set(links) == expected_links and len(links) == 9 * 3 + 2
    assert ids[FR + "Allemagne"] == ids[DE + "Deutschland"] == EN + "Germany"
    assert names["de" + DBO + "officialLanguage"] == "official language"
    with constructed(dumps, tmp_path / "pivot", ["de", "en", "fr"], pivots=["en"]) as (con, _):
        pivot = con.execute("SELECT la, ia, lb, ib FROM pairs").fetchall()
        pivot_ids = entity_ids(con)
    assert sorted(pivot) == sorted(link for link in links if "en" in (link[0], link[2]))
    assert len(pivot) == 9 * 2 + 2
    assert pivot_ids[FR + "Allemagne"] == pivot_ids[DE + "Deutschland"] == EN + "Germany"
    malformed = {path: s.malformed for path, s in options.stats.items() if s.malformed}
    assert malformed == {str(dumps / f"labels_{lang}.ttl"): 1 for lang in ("de", "en", "fr")}
    error = options.stats[str(dumps / "labels_en.ttl")].errors[0]
    assert error.startswith(f"{dumps / 'labels_en.ttl'}:15: ")


def test_first_of_each_keeps_the_first_row_by_order_of_every_key() -> None:
    con = duckdb.connect()
    rows = [  # (language, iri, label, seq): labels in file order (seq), one IRI twice
        ("en", "a", "A second", 5),
        ("en", "a", "A first", 2),
        ("en", "b", "B", 3),
        ("de", "a", "A de", 9),
        ("en", "c", "C z", 7),  # the same seq: the label breaks the tie
        ("en", "c", "C a", 7),
    ]
    source = (
        "(SELECT * FROM (VALUES " + ", ".join(map(str, rows)) + ") t(language, iri, label, seq))"
    )
    first_of_each(con, "labels", source, "language, iri", "seq, label", "language, iri, label")
    assert sorted(con.execute("FROM labels").fetchall()) == [
        ("de", "a", "A de"),
        ("en", "a", "A first"),
        ("en", "b", "B"),
        ("en", "c", "C a"),
    ]


def test_each_text_keeps_its_first_fact_by_iris_and_facts_are_counted_once() -> None:
    con = duckdb.connect()
    facts = [  # (language, s_iri, r_iri, o_iri, subject, object)
        ("en", "s:B", "r:capital", "o:X", "Bern", "X"),  # homonyms: one text, two facts
        ("en", "s:A", "r:capital", "o:Y", "Bern", "X"),
        ("en", "s:C", "r:seat", "o:Z", "C", "Z"),  # two relations named "capital"
        ("en", "s:C", "r:capital", "o:Z", "C", "Z"),
        ("en", "s:D", "r:capital", "o:W", "D", "W"),  # a fact listed twice
        ("en", "s:D", "r:capital", "o:W", "D", "W"),
        ("en", "s:E", "r:seat", "o:W", "E", "W"),
        ("de", "s:B", "r:capital", "o:X", "Bern", "X"),  # another language: its own text
    ]
    con.execute(
        "CREATE TABLE facts (language, s_iri, r_iri, o_iri, subject, object) AS "
        "SELECT * FROM (VALUES " + ", ".join(map(str, facts)) + ")"
    )
    names = [(language, r, "capital") for language in ("en", "de") for r in ("r:capital", "r:seat")]
    con.execute(
        "CREATE TABLE relation_names (language, relation, name) AS "
        "SELECT * FROM (VALUES " + ", ".join(map(str, names)) + ")"
    )
    build_texts(con)
    texts = con.execute("SELECT * FROM texts ORDER BY ALL").fetchall()
    assert texts == sorted(
        [
            ("de", "Bern", "capital", "X", "s:B", "r:capital", "o:X"),
            ("en", "Bern", "capital", "X", "s:A", "r:capital", "o:Y"),
            ("en", "C", "capital", "Z", "s:C", "r:capital", "o:Z"),
            ("en", "D", "capital", "W", "s:D", "r:capital", "o:W"),
            ("en", "E", "capital", "W", "s:E", "r:seat", "o:W"),
        ]
    )
    assert dict(con.execute(FACT_COUNTS).fetchall()) == {"en": 6, "de": 1}
    assert con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'shared'"
    ).fetchone() == (0,)


def test_entity_ids_join_chains_of_links(tmp_path: Path) -> None:
    """Groups are connected components, whatever their diameter: a chain of 9 links."""
    import duckdb

    from prixlm.data.dbpedia.tables import entity_ids as components

    con = duckdb.connect()
    chain = [(f"l{i}", f"x{i:02d}", f"l{i + 1}", f"x{i + 1:02d}") for i in range(9)]
    chain += [("a", "q2", "b", "q1")]
    con.execute("CREATE TABLE pairs (la VARCHAR, ia VARCHAR, lb VARCHAR, ib VARCHAR)")
    con.executemany("INSERT INTO pairs VALUES (?, ?, ?, ?)", chain)
    components(con, "pairs")
    ids = entity_ids(con)
    assert ids == {**{f"x{i:02d}": "x00" for i in range(10)}, "q1": "q1", "q2": "q1"}


@pytest.mark.parametrize("suffix", [".bz2", ".gz"])
def test_compressed_dumps_build_the_same_rows(tmp_path: Path, dumps: Path, suffix: str) -> None:
    plain, _ = build_dataset(dumps, None)
    packed, _ = build_dataset(write_dumps(tmp_path / "packed", suffix), None)
    assert packed.triples == plain.triples and packed.links == plain.links


def test_strict_mode_stops_at_the_first_malformed_line(dumps: Path) -> None:
    with pytest.raises(MalformedLineError, match=r"labels_de.ttl:\d+: invalid character ' '"):
        build_dataset(dumps, None, strict=True)
    assert main(["--dump_dir", str(dumps), "--output_dir", "/nonexistent/x", "--strict"]) == 2


@pytest.mark.parametrize("protocol", ["fact", "language"])
def test_splits_filters_and_filter_lists(dumps: Path, tmp_path: Path, protocol: str) -> None:
    settings = SplitSettings(protocol=protocol, test_fraction=0.3, validation_fraction=0.1)
    rows, _ = build_dataset(dumps, None, settings=settings)
    with constructed(dumps, tmp_path, ["en", "de", "fr"]) as (con, _):
        ids = entity_ids(con)
    key = (lambda iri: ids.get(iri, iri)) if protocol == "fact" else (lambda x: x)
    split_of = {}
    train = set()
    for language, by_split in rows.triples.items():
        for split, split_rows in by_split.items():
            for row in split_rows:
                fact = (key(row[6]), row[7], key(row[8]))
                draw_key = fact if protocol == "fact" else (language, *row[6:9])
                assert split == documented_split(draw_key, settings)
                split_of.setdefault((language if protocol == "language" else "", fact), split)
                assert split_of[(language if protocol == "language" else "", fact)] == split
                if split == "train":
                    train.add(fact)
    # No validation/test triple is the inverse of a training triple under the documented rule.
    inverses = inverse_relations_of(sorted(train), settings.inverse_threshold)
    assert inverses == rows.inverse_relations
    assert inverses[DBO + "capital"] == [DBO + "country"]
    for by_split in rows.triples.values():
        for row in by_split["test"] + by_split["validation"]:
            s, r, o = key(row[6]), row[7], key(row[8])
            assert not any((o, r2, s) in train for r2 in inverses.get(r, ()))
    assert sum(s.removed_inverse for s in rows.stats.values()) > 0
    total = {
        lang: len({(r[6], r[7], r[8]) for r in all_triple_rows(rows, lang)})
        for lang in rows.triples
    }
    for language, stats in rows.stats.items():
        assert stats.triples == total[language]
        assert stats.triples + stats.removed_inverse == stats.facts
        assert stats.facts == (12 if language == "fr" else 14)
    # Filter lists: every object of (subject, relation) over all splits, before filtering.
    swiss = [
        r for r in all_triple_rows(rows, "de") if r[1] == "Schweiz" and r[2] == "official language"
    ]
    assert all(r[9] == ["Deutsch", "Französisch"] for r in swiss)
    link = next(r for r in rows.links if r[1] == "Deutschland" and r[5] == "fr")
    assert (link[0], link[2], link[3], link[4], link[9]) == (
        "link",
        "",
        "Allemagne",
        "de",
        ["Allemagne"],
    )
    assert len(rows.links) == 2 * (9 * 3 + 2)


def test_language_protocol_test_counts_follow_the_draw(dumps: Path) -> None:
    settings = SplitSettings(
        protocol="language", test_fraction=0.3, validation_fraction=0.1, inverse_threshold=1.0
    )
    rows, _ = build_dataset(dumps, None, settings=settings)
    everything, _ = build_dataset(dumps, None, settings=ALL_TRAIN)
    for language in ("en", "de", "fr"):
        drawn = [
            documented_split((language, *row[6:9]), settings)
            for row in everything.triples[language]["train"]
        ]
        kept = rows.stats[language]
        assert kept.splits["test"] + kept.splits["validation"] + kept.removed_inverse == sum(
            split != "train" for split in drawn
        )
        assert kept.splits["train"] == drawn.count("train")


def test_length_filter_drops_rows_of_30_tokens_or_more(dumps: Path) -> None:
    def length(row) -> int:  # a stand-in tokenizer: 10 format tokens + one per character
        return 10 + len(row[1]) + len(row[2]) + len(row[3])

    rows, _ = build_dataset(dumps, None, sequence_length=length)
    everything, _ = build_dataset(dumps, None, settings=ALL_TRAIN)
    kept = [r for lang in rows.triples for r in all_triple_rows(rows, lang)] + rows.links
    assert kept and all(length(r) < 30 for r in kept)
    for language in ("en", "de", "fr"):
        texts = everything.triples[language]["train"]
        too_long = sum(length(t) >= 30 for t in texts)
        assert 0 < too_long < len(texts)
        assert rows.stats[language].removed_length == too_long
        assert rows.stats[language].facts == everything.stats[language].facts
    assert len(rows.links) == sum(length(r) < 30 for r in everything.links)
    assert 0 < len(rows.links) < len(everything.links)


def test_tokenizer_length_filter(dumps: Path, tiny_tokenizer) -> None:
    from modeling_prixlm.formatting import encode_triple
    from prixlm.data.dbpedia.schema import encode_row

    tokenizer = copy.deepcopy(tiny_tokenizer)
    everything, _ = build_dataset(dumps, None, settings=ALL_TRAIN)
    texts = [
        tuple(r[1:4]) for lang in everything.triples for r in everything.triples[lang]["train"]
    ]
    lengths = sorted(len(encode_triple(tokenizer, *text).input_ids) for text in texts)
    limit = lengths[len(lengths) // 2]
    rows, _ = build_dataset(
        dumps, None, tokenizer=tokenizer, settings=SplitSettings(max_length=limit)
    )
    kept = [r for lang in rows.triples for r in all_triple_rows(rows, lang)]
    assert kept and all(len(encode_triple(tokenizer, *r[1:4]).input_ids) < limit for r in kept)
    assert sum(s.removed_length for s in rows.stats.values()) == sum(n >= limit for n in lengths)
    # Token counts per distinct text (`token_lengths`) == encoding every row (`encode_row`).
    by_row, _ = build_dataset(
        dumps,
        None,
        sequence_length=lambda row: len(encode_row(tokenizer, row).input_ids),
        settings=SplitSettings(max_length=limit),
    )
    assert rows.links == by_row.links and 0 < len(rows.links) < len(everything.links)
    for language in rows.triples:
        assert rows.triples[language] == by_row.triples[language]
        assert rows.stats[language] == by_row.stats[language]


def test_one_schema_for_rows_parquet_and_defaults(dumps: Path) -> None:
    from dataclasses import fields

    from dataset_builders.prixlm_dbpedia.prixlm_dbpedia import PrixLMDBpediaConfig
    from prixlm.data.dbpedia.build_arguments import build_parser
    from prixlm.data.dbpedia.output import SCHEMA
    from prixlm.data.dbpedia.schema import COLUMNS, Row, order_key

    assert SCHEMA.names == list(COLUMNS) == list(Row._fields)
    rows, _ = build_dataset(dumps, None)
    link, triple = rows.links[0], rows.triples["de"]["train"][0]
    assert isinstance(link, Row) and isinstance(triple, Row)
    assert (link.kind, link.relation, triple.kind) == ("link", "", "triple")
    assert order_key(triple) == tuple(triple[4:9])  # the identity hashed for the row order
    defaults = SplitSettings()
    config = PrixLMDBpediaConfig(name="de")
    assert (config.split_protocol, config.test_fraction, config.validation_fraction) == (
        defaults.protocol,
        defaults.test_fraction,
        defaults.validation_fraction,
    )
    assert (config.inverse_threshold, config.seed) == (defaults.inverse_threshold, defaults.seed)
    cli = build_parser().parse_args(["--dump_dir", "d", "--output_dir", "o"])
    assert (
        SplitSettings(
            cli.split_protocol,
            cli.test_fraction,
            cli.validation_fraction,
            cli.inverse_threshold,
            cli.max_length,
            cli.seed,
        )
        == defaults
    )
    assert [f.name for f in fields(SplitSettings)] == [
        "protocol",
        "test_fraction",
        "validation_fraction",
        "inverse_threshold",
        "max_length",
        "seed",
    ]
