"""The Prix-LM DBpedia builder: construction, splits, filters, Parquet + card, atomic builds."""

from __future__ import annotations

import bz2
import copy
import gzip
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dataset_builders.ntriples import DumpError, MalformedLineError
from dataset_builders.prixlm_dbpedia import (
    PrixLMDBpedia,
    SplitSettings,
    build_knowledge_base,
    build_rows,
    inverse_relations,
    relation_words,
)
from dataset_builders.prixlm_dbpedia.build import build_dataset, main
from dataset_builders.prixlm_dbpedia.dumps import (
    discover_languages,
    find_dump_files,
    language_of_iri,
)
from dataset_builders.prixlm_dbpedia.splits import rank, split_by_rank

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / ".." / "shared" / "dbpedia_samples"
EN, DE, FR = (
    "http://dbpedia.org/resource/",
    "http://de.dbpedia.org/resource/",
    "http://fr.dbpedia.org/resource/",
)
DBO = "http://dbpedia.org/ontology/"
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
SAME = "<http://www.w3.org/2002/07/owl#sameAs>"

# entity: (en IRI name, en label, de IRI name, de label (N-Triples literal body), fr IRI, fr label)
ENTITIES = {
    "DE": ("Germany", "Germany", "Deutschland", "Deutschland", "Allemagne", "Allemagne"),
    "FR": ("France", "France", "Frankreich", "Frankreich", "France", "France"),
    "CH": ("Switzerland", "Switzerland", "Schweiz", "Schweiz", "Suisse", "Suisse"),
    "EUR": ("Euro", "euro", "Euro", "Euro", "Euro", "euro"),
    "CHF": ("Swiss_franc", "Swiss franc", "Schweizer_Franken", "Schweizer Franken", None, None),
    "deu": ("German_language", "German", "Deutsche_Sprache", "Deutsch", "Allemand", "allemand"),
    "fra": (
        "French_language",
        "French",
        "Französische_Sprache",
        "Franz\\u00F6sisch",
        "Français",
        "français",
    ),
    "BER": ("Berlin", "Berlin", "Berlin", "Berlin", "Berlin", "Berlin"),
    "PAR": ("Paris", "Paris", "Paris", "Paris", "Paris", "Paris"),
    "BRN": ("Bern", "Bern", "Bern", "Bern", "Berne", "Berne"),
    "CGN": ("Cologne", 'Cologne \\"K\\u00F6ln\\"', "Köln", "K\\u00F6ln", None, None),
}
FACTS = [  # (subject, relation, object) over ENTITIES keys, the same in every language
    ("DE", "currency", "EUR"),
    ("FR", "currency", "EUR"),
    ("CH", "currency", "CHF"),
    ("DE", "officialLanguage", "deu"),
    ("FR", "officialLanguage", "fra"),
    ("CH", "officialLanguage", "deu"),
    ("CH", "officialLanguage", "fra"),
    ("DE", "capital", "BER"),
    ("FR", "capital", "PAR"),
    ("CH", "capital", "BRN"),
    ("BER", "country", "DE"),
    ("PAR", "country", "FR"),
    ("BRN", "country", "CH"),
    ("CGN", "country", "DE"),
]
COLUMN = {"en": 0, "de": 2, "fr": 4}
BASE = {"en": EN, "de": DE, "fr": FR}


def iri(key: str, language: str, percent: bool = False) -> str | None:
    name = ENTITIES[key][COLUMN[language]]
    if name is None:
        return None
    if percent:  # how .nt dumps write non-ASCII: the reader must join both forms
        name = "".join(c if c.isascii() else "".join(f"%{b:02X}" for b in c.encode()) for c in name)
    return BASE[language] + name


def label(key: str, language: str) -> str:
    text = ENTITIES[key][COLUMN[language] + 1]
    return text.encode().decode("unicode_escape").encode("latin-1").decode() if text else text


def write_dumps(folder: Path, suffix: str = "", scheme: str = "2016") -> Path:
    """A three-language dump in one naming scheme, compressed by `suffix` ('', .bz2, .gz)."""
    folder.mkdir(parents=True, exist_ok=True)
    names = {
        "2016": ("labels_{}.ttl", "mappingbased_objects_{}.ttl", "interlanguage_links_{}.ttl"),
        "databus": (
            "labels_lang={}.ttl",
            "mappingbased-objects_lang={}.ttl",
            "interlanguage-links_lang={}.ttl",
        ),
    }[scheme]
    for language in ("en", "de", "fr"):
        labels = ["# started 2016-10-04T16:20:50Z"]
        for key in ENTITIES:
            if iri(key, language):
                labels.append(
                    f'<{iri(key, language)}> {LABEL} "{ENTITIES[key][COLUMN[language] + 1]}"@{language} .'
                )
        labels += [
            f'<{EN}Germany> {LABEL} "Federal Republic"@en .',  # a second label: the first wins
            f'<{EN}Paris> {LABEL} "Paname"@fr .',  # another language: ignored
            f'<{EN}Broken {LABEL} "x"@en .',  # malformed
            "# completed 2016-10-04T16:21:00Z",
        ]
        facts = []
        for s, r, o in FACTS:
            if iri(s, language) and iri(o, language):
                facts.append(f"<{iri(s, language, True)}> <{DBO}{r}> <{iri(o, language, True)}> .")
        facts += [
            facts[0],  # duplicate
            f"<{iri('DE', language)}> <{DBO}anthem> <{BASE[language]}Unlabelled> .",
            f'<{iri("DE", language)}> <{DBO}motto> "Einigkeit"@{language} .',
            f"<{iri('DE', language)}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{DBO}Country> .",
        ]
        links = []
        for key in ENTITIES:
            for other in ("en", "de", "fr"):
                if other != language and iri(key, language) and iri(key, other):
                    links.append(f"<{iri(key, language)}> {SAME} <{iri(key, other)}> .")
        links.append(f"<{iri('DE', language)}> {SAME} <http://it.dbpedia.org/resource/Germania> .")
        for name, lines in zip(names, (labels, facts, links), strict=True):
            data = ("\n".join(lines) + "\n").encode()
            path = folder / (name.format(language) + suffix)
            if suffix == ".bz2":
                data = bz2.compress(data)
            elif suffix == ".gz":
                data = gzip.compress(data, mtime=0)
            path.write_bytes(data)
    return folder


@pytest.fixture(scope="module")
def dumps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dumps(tmp_path_factory.mktemp("dumps"))


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
    total = {lang: len({(r[6], r[7], r[8]) for r in _all(rows, lang)}) for lang in rows.triples}
    for language, stats in rows.stats.items():
        assert stats.triples == total[language]
        assert stats.triples + stats.removed_inverse == len(kb.by_language[language].facts)
    # Filter lists: every object of (subject, relation) over all splits, before filtering.
    swiss = [r for r in _all(rows, "de") if r[1] == "Schweiz" and r[2] == "official language"]
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


def _all(rows, language):
    return [row for split_rows in rows.triples[language].values() for row in split_rows]


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
    kept = [r for lang in rows.triples for r in _all(rows, lang)] + rows.links
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
    kept = [r for lang in rows.triples for r in _all(rows, lang)]
    assert kept and all(len(encode_triple(tokenizer, *r[1:4]).input_ids) < limit for r in kept)
    assert sum(s.removed_length for s in rows.stats.values()) == sum(n >= limit for n in lengths)


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*.parquet"))
    }


def test_build_writes_parquet_and_card_that_load_offline(tmp_path: Path, dumps: Path) -> None:
    out = tmp_path / "kb"
    assert main(["--dump_dir", str(dumps), "--output_dir", str(out), "--no_progress"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "de", "en", "fr", "links"]
    rows, _ = build_dataset(dumps, None)
    de = rows.triples["de"]
    assert sorted(p.name for p in (out / "de").iterdir()) == sorted(
        f"{split}.parquet" for split, split_rows in de.items() if split_rows
    )
    schema = pq.read_schema(out / "links" / "train.parquet")
    assert schema.names == [
        "kind",
        "subject",
        "relation",
        "object",
        "subject_language",
        "object_language",
        "subject_id",
        "relation_id",
        "object_id",
        "all_objects",
    ]
    assert schema == pq.read_schema(out / "de" / "test.parquet")
    card = (out / "README.md").read_text()
    assert (
        "config_name: de" in card and "config_name: all" in card and "license: cc-by-sa-3.0" in card
    )
    assert "zhou-etal-2022-prix" in card
    script = (
        "import json, sys\nfrom datasets import load_dataset\n"
        "out = {}\n"
        "for config in ('de', 'links', 'all'):\n"
        "    d = load_dataset(sys.argv[1], config)\n"
        "    out[config] = {s: d[s].num_rows for s in d}\n"
        "out['row'] = load_dataset(sys.argv[1], 'de', split='train')[0]\n"
        "print(json.dumps(out))\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(
        [sys.executable, "-c", script, str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    stats = rows.stats["de"]  # the paper's Table 1 columns, then the splits
    assert f"| de | {stats.entities} | {stats.triples} | {len(de['train'])} | " in card
    assert stats.entities == 11 and stats.triples + stats.removed_inverse == 14
    assert loaded["de"] == {s: len(v) for s, v in de.items() if v}
    assert loaded["links"] == {"train": len(rows.links)}
    assert loaded["all"]["train"] == sum(len(t["train"]) for t in rows.triples.values()) + len(
        rows.links
    )
    first = de["train"][0]
    assert loaded["row"] == dict(zip(loaded["row"], first, strict=True))
    # The builder class gives the same rows, in the same order.
    builder = PrixLMDBpedia(config_name="de", data_dir=str(dumps), cache_dir=str(tmp_path / "c2"))
    builder.download_and_prepare()
    assert builder.as_dataset(split="test")["object"] == [r[3] for r in de["test"]]
    with pytest.raises(ValueError, match="config 'it'"):
        PrixLMDBpedia(
            config_name="it", data_dir=str(dumps), cache_dir=str(tmp_path / "c3")
        ).download_and_prepare()


def test_killed_build_leaves_nothing_complete_and_rerun_is_identical(tmp_path: Path) -> None:
    dumps = write_dumps(tmp_path / "dumps")
    big = dumps / "mappingbased_objects_en.ttl"  # enough facts that the build takes a moment
    lines = [f'<{EN}E{i}> {LABEL} "entity {i}"@en .' for i in range(20000)]
    (dumps / "labels_en.ttl").write_text(
        (dumps / "labels_en.ttl").read_text() + "\n".join(lines) + "\n"
    )
    big.write_text(
        big.read_text()
        + "\n".join(f"<{EN}E{i}> <{DBO}p{i % 7}> <{EN}E{(i * 7) % 20000}> ." for i in range(20000))
        + "\n"
    )
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "dataset_builders.prixlm_dbpedia.build",
        "--dump_dir",
        str(dumps),
        "--output_dir",
        str(out),
        "--no_progress",
    ]
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.partial-*/*/*.parquet")) and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL  # killed part-way, while writing
    assert not out.exists()
    assert subprocess.run(command, cwd=REPO, capture_output=True).returncode == 0
    first = _hashes(out)
    assert not list(tmp_path.glob(".out.partial-*"))
    assert {path.split("/")[0] for path in first} == {"de", "en", "fr", "links"}
    assert subprocess.run(command, cwd=REPO, capture_output=True).returncode == 0
    assert _hashes(out) == first


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared/dbpedia_samples absent")
def test_real_samples_as_dump_folder(tmp_path: Path) -> None:
    """Real DBpedia lines: en labels/facts plus the Databus hub file as the link source."""
    folder = tmp_path / "real"
    folder.mkdir()
    objects = (SAMPLES / "mappingbased_objects_en.ttl").read_text()
    (folder / "mappingbased_objects_en.ttl").write_text(objects)
    names = {"Actrius", "Ventura_Pons", "Spain", "Alain_Connes", "Jacques_Dixmier"}
    labels = [f'<{EN}{n}> {LABEL} "{n.replace("_", " ")}"@en .' for n in sorted(names)]
    (folder / "labels_en.ttl").write_text(
        (SAMPLES / "labels_en.ttl").read_text() + "\n".join(labels) + "\n"
    )
    (folder / "labels_fr.ttl").write_text(f'<{FR}Afrique> {LABEL} "Afrique"@fr .\n')
    (folder / "labels_ko.ttl").write_text(
        f'<http://ko.dbpedia.org/resource/아프리카> {LABEL} "아프리카"@ko .\n'
    )
    (folder / "sameas-all-wikis.ttl").write_text((SAMPLES / "sameas-all-wikis.ttl").read_text())
    kb = build_knowledge_base(folder, ["en", "fr", "ko"])
    assert sorted(kb.by_language["en"].facts) == [
        (EN + "Actrius", DBO + "country", EN + "Spain"),
        (EN + "Actrius", DBO + "director", EN + "Ventura_Pons"),
        (EN + "Actrius", DBO + "producer", EN + "Ventura_Pons"),
        (EN + "Actrius", DBO + "writer", EN + "Ventura_Pons"),
        (EN + "Alain_Connes", DBO + "doctoralAdvisor", EN + "Jacques_Dixmier"),
    ]
    assert kb.links == [(("fr", FR + "Afrique"), ("ko", "http://ko.dbpedia.org/resource/아프리카"))]
    rows = build_rows(kb)
    assert {(r[1], r[3], r[4], r[5]) for r in rows.links} == {
        ("Afrique", "아프리카", "fr", "ko"),
        ("아프리카", "Afrique", "ko", "fr"),
    }
    assert rows.stats["en"].triples == 5
    assert {r[2] for r in _all(rows, "en")} == {
        "country",
        "director",
        "producer",
        "writer",
        "doctoral advisor",
    }


def test_bad_arguments_get_clear_errors(tmp_path: Path, dumps: Path, capsys) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    assert main(["--dump_dir", str(dumps), "--output_dir", str(precious)]) == 2
    assert "is not a dataset build; not replacing it" in capsys.readouterr().err
    assert (precious / "notes.txt").read_text() == "keep me"
    assert main(["--dump_dir", str(tmp_path / "none"), "--output_dir", str(tmp_path / "o")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert (
        main(["--dump_dir", str(dumps), "--output_dir", str(tmp_path / "o"), "--languages", "d e"])
        == 2
    )
    assert "invalid language code 'd e'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="split protocol"):
        SplitSettings(protocol="random")
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "labels_en.ttl.bz2").write_bytes(
        bz2.compress(b"<a> <b> <c> .\n" * 1000)[:-30]
    )
    with pytest.raises(DumpError, match="labels_en.ttl.bz2.*truncated"):
        build_dataset(tmp_path / "cut", None)
