"""The Prix-LM DBpedia builder: construction, splits, filters, Parquet + card, atomic builds."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import pytest
from dbpedia_dumps import (
    DBO,
    DE,
    EN,
    ENTITIES,
    FACTS,
    FR,
    all_triple_rows,
    iri,
    write_dumps,
)

from prixlm.data.dbpedia import (
    SplitSettings,
    build_knowledge_base,
    build_rows,
    inverse_relations,
    relation_words,
)
from prixlm.data.dbpedia.build import build_dataset, main
from prixlm.data.dbpedia.dumps import (
    discover_languages,
    find_dump_files,
    language_of_iri,
)
from prixlm.data.dbpedia.splits import rank, split_by_rank
from prixlm.data.ntriples import MalformedLineError


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


def test_relation_words() -> None:
    assert relation_words(DBO + "officialLanguage") == "official language"
    assert relation_words(DBO + "ISOCode") == "ISO code"
    assert relation_words(DBO + "birth_place") == "birth place"
    assert relation_words("http://x/p#populationTotal") == "population total"


def test_construction_gives_exact_triples_and_links(dumps: Path) -> None:
    kb = build_knowledge_base(dumps, ["de", "EN", "fr"])
    assert kb.languages == ["de", "en", "fr"]
    assert kb.by_language["de"].labels[DE + "Köln"] == "Köln"
    assert kb.by_language["en"].labels[EN + "Germany"] == "Germany"
    assert kb.by_language["en"].labels[EN + "Cologne"] == 'Cologne "Köln"'
    for language in kb.languages:
        expected = {
            (iri(s, language), DBO + r, iri(o, language))
            for s, r, o in FACTS
            if iri(s, language) and iri(o, language)
        }
        assert set(kb.by_language[language].facts) == expected
    assert len(kb.by_language["fr"].facts) == 12  # no Swiss franc, no Cologne in fr
    expected_links = set()
    for key in ENTITIES:
        ends = sorted((lang, iri(key, lang)) for lang in ("de", "en", "fr") if iri(key, lang))
        expected_links |= {(a, b) for i, a in enumerate(ends) for b in ends[i + 1 :]}
    assert set(kb.links) == expected_links and len(kb.links) == 9 * 3 + 2
    assert kb.entity_id(FR + "Allemagne") == kb.entity_id(DE + "Deutschland") == EN + "Germany"
    assert kb.relation_name("de", DBO + "officialLanguage") == "official language"
    pivot = build_knowledge_base(dumps, ["de", "en", "fr"], link_languages=["en"])
    assert pivot.links == sorted(
        link for link in kb.links if link[0][0] == "en" or link[1][0] == "en"
    )
    assert len(pivot.links) == 9 * 2 + 2
    assert (
        pivot.entity_id(FR + "Allemagne") == pivot.entity_id(DE + "Deutschland") == EN + "Germany"
    )
    malformed = {path: s.malformed for path, s in kb.options.stats.items() if s.malformed}
    assert malformed == {str(dumps / f"labels_{lang}.ttl"): 1 for lang in ("de", "en", "fr")}
    error = kb.options.stats[str(dumps / "labels_en.ttl")].errors[0]
    assert error.startswith(f"{dumps / 'labels_en.ttl'}:15: ")


@pytest.mark.parametrize("suffix", [".bz2", ".gz"])
def test_compressed_dumps_build_the_same_rows(tmp_path: Path, dumps: Path, suffix: str) -> None:
    plain, _ = build_dataset(dumps, None)
    packed, _ = build_dataset(write_dumps(tmp_path / "packed", suffix), None)
    assert packed.triples == plain.triples and packed.links == plain.links


def test_strict_mode_stops_at_the_first_malformed_line(dumps: Path) -> None:
    with pytest.raises(MalformedLineError, match=r"labels_de.ttl:\d+: invalid character ' '"):
        build_dataset(dumps, None, strict=True)
    assert main(["--dump_dir", str(dumps), "--output_dir", "/nonexistent/x", "--strict"]) == 2


def _ranked(keys: list[tuple[str, ...]], seed: int = 0) -> list[tuple[str, ...]]:
    """The documented split rule, re-implemented: blake2b-64 of 'seed\\x1fpart\\x1f...'."""

    def digest(key):
        data = "\x1f".join((str(seed), *key)).encode()
        return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")

    return sorted(keys, key=lambda k: (digest(k), k))


def test_split_by_rank_is_the_documented_rule() -> None:
    keys = [(f"s{i}", "r", f"o{i}") for i in range(40)]
    settings = SplitSettings(test_fraction=0.1, validation_fraction=0.05)
    split = split_by_rank(keys, settings)
    ranked = _ranked(keys)
    assert [k for k in ranked if split[k] == "test"] == ranked[:4]
    assert [k for k in ranked if split[k] == "validation"] == ranked[4:6]
    assert sum(v == "train" for v in split.values()) == 34
    assert rank("a", "b", seed=3) == int.from_bytes(
        hashlib.blake2b(b"3\x1fa\x1fb", digest_size=8).digest(), "big"
    )


def test_inverse_relations_rule() -> None:
    train = [("a", "capital", "x"), ("b", "capital", "y"), ("x", "country", "a")]
    train += [("y", "country", "b"), ("z", "country", "c"), ("q", "country", "r")]
    train += [("m", "borders", "n"), ("n", "borders", "m"), ("p", "borders", "t")]
    # capital: 2/2 mirrored by country; country: 2/4 by capital; borders: 2/3 by itself
    assert inverse_relations(train, 0.5) == {
        "borders": ["borders"],
        "capital": ["country"],
        "country": ["capital"],
    }
    assert inverse_relations(train, 0.6) == {"borders": ["borders"], "capital": ["country"]}
    assert inverse_relations(train, 1.0) == {"capital": ["country"]}


@pytest.mark.parametrize("protocol", ["fact", "language"])
def test_splits_filters_and_filter_lists(dumps: Path, protocol: str) -> None:
    settings = SplitSettings(protocol=protocol, test_fraction=0.3, validation_fraction=0.1)
    kb = build_knowledge_base(dumps, ["en", "de", "fr"])
    rows = build_rows(kb, settings)
    key = kb.entity_id if protocol == "fact" else (lambda x: x)
    split_of = {}
    train = set()
    for language, by_split in rows.triples.items():
        for split, split_rows in by_split.items():
            for row in split_rows:
                fact = (key(row[6]), row[7], key(row[8]))
                split_of.setdefault((language if protocol == "language" else "", fact), split)
                assert split_of[(language if protocol == "language" else "", fact)] == split
                if split == "train":
                    train.add(fact)
    # No validation/test triple is the inverse of a training triple under the documented rule.
    inverses = inverse_relations(sorted(train), settings.inverse_threshold)
    assert inverses == rows.inverse_relations
    assert inverses[DBO + "capital"] == [DBO + "country"]
    for by_split in rows.triples.values():
        for row in by_split["test"] + by_split["validation"]:
            s, r, o = key(row[6]), row[7], key(row[8])
            assert not any((o, r2, s) in train for r2 in inverses.get(r, ()))
    total = {
        lang: len({(r[6], r[7], r[8]) for r in all_triple_rows(rows, lang)})
        for lang in rows.triples
    }
    for language, stats in rows.stats.items():
        assert stats.triples == total[language]
        assert stats.triples + stats.removed_inverse == len(kb.by_language[language].facts)
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
    assert len(rows.links) == 2 * len(kb.links)


def test_language_protocol_test_counts_are_exact(dumps: Path) -> None:
    settings = SplitSettings(
        protocol="language", test_fraction=0.3, validation_fraction=0.1, inverse_threshold=1.0
    )
    kb = build_knowledge_base(dumps, ["en", "de", "fr"])
    rows = build_rows(kb, settings)
    for language in ("en", "de", "fr"):
        n = len(kb.by_language[language].facts)
        kept = rows.stats[language]
        assert kept.splits["test"] + kept.splits["validation"] + kept.removed_inverse == round(
            0.3 * n
        ) + round(0.1 * n)


def test_length_filter_drops_rows_of_30_tokens_or_more(dumps: Path) -> None:
    def length(row) -> int:  # a stand-in tokenizer: 10 format tokens + one per character
        return 10 + len(row[1]) + len(row[2]) + len(row[3])

    kb = build_knowledge_base(dumps, ["en", "de", "fr"])
    rows = build_rows(kb, SplitSettings(), length)
    kept = [r for lang in rows.triples for r in all_triple_rows(rows, lang)] + rows.links
    assert kept and all(length(r) < 30 for r in kept)
    for language in kb.languages:
        labels = kb.by_language[language].labels
        texts = [
            ("triple", labels[s], kb.relation_name(language, r), labels[o])
            for s, r, o in kb.by_language[language].facts
        ]
        too_long = sum(length(t) >= 30 for t in texts)
        assert 0 < too_long < len(texts)
        assert rows.stats[language].removed_length == too_long
    assert len(rows.links) == sum(
        length(("link", a, "", b)) < 30
        for (la, ia), (lb, ib) in kb.links
        for a, b in [(kb.by_language[la].labels[ia], kb.by_language[lb].labels[ib])] * 2
    )


def test_tokenizer_length_filter(dumps: Path, tiny_tokenizer) -> None:
    from modeling_prixlm.formatting import encode_triple

    tokenizer = copy.deepcopy(tiny_tokenizer)
    kb = build_knowledge_base(dumps, ["en", "de", "fr"])
    texts = [
        (kb.by_language[lang].labels[s], kb.relation_name(lang, r), kb.by_language[lang].labels[o])
        for lang in kb.languages
        for s, r, o in kb.by_language[lang].facts
    ]
    lengths = sorted(len(encode_triple(tokenizer, *text).input_ids) for text in texts)
    limit = lengths[len(lengths) // 2]
    rows, _ = build_dataset(
        dumps, None, tokenizer=tokenizer, settings=SplitSettings(max_length=limit)
    )
    kept = [r for lang in rows.triples for r in all_triple_rows(rows, lang)]
    assert kept and all(len(encode_triple(tokenizer, *r[1:4]).input_ids) < limit for r in kept)
    assert sum(s.removed_length for s in rows.stats.values()) == sum(n >= limit for n in lengths)


def test_one_schema_for_rows_parquet_and_defaults(dumps: Path) -> None:
    from dataclasses import fields

    from prixlm.data.dbpedia import PrixLMDBpediaConfig
    from prixlm.data.dbpedia.build import build_parser
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
