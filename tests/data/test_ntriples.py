"""The streaming N-Triples reader: exact terms, malformed lines, compression, real samples."""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path

import pytest
from dbpedia_dumps import completed_excerpt

from prixlm.data.ntriples import (
    BlankNode,
    DumpError,
    Literal,
    MalformedLineError,
    ReadStats,
    canonical_iri,
    parse_line,
    read_triples,
)

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
SAMPLES = SHARED / "dbpedia_samples"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
XSD_INT = "http://www.w3.org/2001/XMLSchema#integer"

# A dump with every construct the reader must handle, and the exact triples it holds.
DUMP = (
    "# started 2016-10-04T16:20:50Z\n"
    '<http://de.dbpedia.org/resource/K%C3%B6ln> <http://www.w3.org/2000/01/rdf-schema#label> "K\\u00F6ln"@de .\n'
    '<http://ja.dbpedia.org/resource/東京> <http://www.w3.org/2000/01/rdf-schema#label> "東京都"@JA .\n'
    '<http://dbpedia.org/resource/A> <http://dbpedia.org/ontology/motto> "say \\"hi\\"\\\\\\n\\tbye"@en-GB .\n'
    "\n"
    '<http://dbpedia.org/resource/A> <http://dbpedia.org/ontology/population> "42"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
    '<http://dbpedia.org/resource/\\u00C9mile> <http://dbpedia.org/ontology/p> "\\U0001F600 smile" .\n'
    "this is not a triple\n"
    "   # indented comment <a> <b> <c> .\n"
    "_:b0 <http://dbpedia.org/ontology/p> _:b1 . # trailing comment\n"
    '<http://x/bad iri> <http://dbpedia.org/ontology/p> "x" .\n'
    "<http://dbpedia.org/resource/A>\t<http://www.w3.org/2002/07/owl#sameAs>\t<http://fr.dbpedia.org/resource/\ufffc> .\r\n"
    '<http://dbpedia.org/resource/A> <http://dbpedia.org/ontology/p> "x"^^rdf:langString .\n'
    "<http://dbpedia.org/resource/A> <http://dbpedia.org/ontology/p> <http://dbpedia.org/resource/B>\n"
    "# completed 2016-10-04T16:21:00Z"  # the last line, without a line end: read
)
EXPECTED = [
    ("http://de.dbpedia.org/resource/K%C3%B6ln", LABEL, Literal("Köln", "de", None)),
    ("http://ja.dbpedia.org/resource/東京", LABEL, Literal("東京都", "ja", None)),
    (
        "http://dbpedia.org/resource/A",
        "http://dbpedia.org/ontology/motto",
        Literal('say "hi"\\\n\tbye', "en-gb", None),
    ),
    (
        "http://dbpedia.org/resource/A",
        "http://dbpedia.org/ontology/population",
        Literal("42", None, XSD_INT),
    ),
    ("http://dbpedia.org/resource/Émile", "http://dbpedia.org/ontology/p", Literal("😀 smile")),
    (BlankNode("b0"), "http://dbpedia.org/ontology/p", BlankNode("b1")),
    (
        "http://dbpedia.org/resource/A",
        "http://www.w3.org/2002/07/owl#sameAs",
        "http://fr.dbpedia.org/resource/\ufffc",
    ),
]
EXPECTED_ERRORS = [
    "8: subject must be an IRI or a blank node, got 'this is not a triple'",
    "11: invalid character ' ' in the subject IRI <http://x/bad iri>",
    "13: datatype must be a full IRI, got the prefixed name 'rdf:langString'",
    "14: expected ' .' after the object",
]


def _write(path: Path, text: str) -> Path:
    data = text.encode("utf-8")
    if path.suffix == ".bz2":
        path.write_bytes(bz2.compress(data))
    elif path.suffix == ".gz":
        path.write_bytes(gzip.compress(data, mtime=0))
    else:
        path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", ["dump.ttl", "dump.ttl.bz2", "dump.nt.gz"])
@pytest.mark.parametrize("block_size", [1 << 18, 7])
def test_exact_triples_and_malformed_lines(tmp_path: Path, name: str, block_size: int) -> None:
    path = _write(tmp_path / name, DUMP)
    stats = ReadStats()
    triples = list(read_triples(path, stats=stats, block_size=block_size))
    assert triples == EXPECTED
    assert type(triples[0][0]) is str and type(triples[5][0]) is BlankNode
    assert (stats.lines, stats.triples, stats.comments, stats.malformed) == (15, 7, 4, 4)
    assert stats.errors == [f"{path}:{e}" for e in EXPECTED_ERRORS]


def test_strict_mode_raises_at_the_first_malformed_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "dump.ttl", DUMP)
    with pytest.raises(MalformedLineError) as info:
        list(read_triples(path, strict=True))
    assert (info.value.path, info.value.line_number) == (str(path), 8)
    assert str(info.value) == f"{path}:{EXPECTED_ERRORS[0]}"


def test_reported_errors_are_capped_but_all_counted(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.nt", "<x:a> <x:b>\n" * 25)
    stats = ReadStats(max_reported=3)
    assert list(read_triples(path, stats=stats)) == []
    assert stats.malformed == 25
    assert stats.errors == [f"{path}:{n}: missing object" for n in (1, 2, 3)]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('<http://x/\\"y> <p> <o> .', "invalid escape '\\\\\"' in the subject IRI"),
        ('<x:a> <x:p> "x\\q" .', "invalid escape \\q"),
        ('<x:a> <x:p> "\\uD83D" .', "escape of a lone UTF-16 surrogate"),
        (
            '<x:a> <x:p> "x"^^<http://www.w3.org/1999/02/22-rdf-syntax-ns#langString> .',
            "rdf:langString",
        ),
        ('"lit" <p> <o> .', "subject must be an IRI or a blank node"),
        ("<x:a> _:p <x:o> .", "predicate must be an IRI"),
        ('<x:a> <x:p> "open .', "unterminated string literal in the object"),
        ("<a <p> <o> .", "invalid character ' ' in the subject IRI <a <p>"),
        ('<x:a> <x:p> "x"@1bad .', "invalid language tag"),
    ],
)
def test_malformed_line_reasons(line: str, reason: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_line(line)
    assert reason in str(info.value)


def test_parse_line_terms() -> None:
    assert parse_line("  # comment") is None
    assert parse_line("") is None
    assert parse_line('<x:a> <x:p> "\\uD83D\\uDE00"@EN .') == ("x:a", "x:p", Literal("😀", "en"))
    assert parse_line('<x:a> <x:p> "" .') == ("x:a", "x:p", Literal(""))
    assert parse_line("<x:a><x:p><x:o>.") == ("x:a", "x:p", "x:o")


def test_missing_truncated_corrupt_and_non_utf8_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(DumpError, match="missing.ttl: no such dump file"):
        list(read_triples(tmp_path / "missing.ttl"))
    full = ("<http://a/x> <http://a/p> <http://a/o> .\n" * 20000).encode()
    for name, data in [
        ("cut.ttl.bz2", bz2.compress(full)[:-40]),
        ("cut.ttl.gz", gzip.compress(full)[:-40]),
        ("junk.ttl.gz", b"\x1f\x8b\x08\x00junk-not-deflate-data" * 3),
    ]:
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DumpError, match=rf"{name}.*truncated or corrupt compressed file"):
            list(read_triples(tmp_path / name))
    (tmp_path / "latin1.ttl").write_bytes(
        b'<http://a/x> <http://a/p> "ok" .\n<http://a/x> <http://a/p> "K\xf6ln" .\n'
    )
    with pytest.raises(DumpError, match=r"latin1.ttl:2: invalid UTF-8 \(byte 0xf6 at column 29\)"):
        list(read_triples(tmp_path / "latin1.ttl"))


def test_canonical_iri_decodes_only_non_ascii_escapes() -> None:
    assert canonical_iri("http://de.dbpedia.org/resource/K%C3%B6ln") == (
        "http://de.dbpedia.org/resource/Köln"
    )
    assert canonical_iri("http://x/%22a%22_%2F_%c3%a9") == "http://x/%22a%22_%2F_é"
    assert canonical_iri("http://x/%C3") == "http://x/%C3"  # not UTF-8: kept
    # one byte of no UTF-8 sequence in a run: the rest of the run is decoded all the same,
    # so that the IRI form of the same resource (`ö%FF`) joins it
    assert canonical_iri("http://x/%C3%B6%FF") == "http://x/ö%FF"
    assert canonical_iri("http://x/%C3%c3%B6%80a") == "http://x/%C3ö%80a"
    assert canonical_iri("http://x/plain") == "http://x/plain"


needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared/dbpedia_samples absent")


@needs_samples
def test_real_dbpedia_sample_lines(tmp_path: Path) -> None:
    with pytest.raises(DumpError, match="labels_en.ttl: DBpedia dump without its closing"):
        list(read_triples(SAMPLES / "labels_en.ttl"))
    counts = {}
    for name in [
        "labels_en.ttl",
        "mappingbased_objects_en.ttl",
        "frwiki-20130420-mappingbased-properties.nt",
        "sameas-all-wikis.ttl",
        "worldfacts_dbpedia_labels.ttl",
    ]:
        stats = ReadStats()
        triples = list(read_triples(completed_excerpt(name, tmp_path), stats=stats))
        counts[name] = (stats.triples, stats.comments, stats.malformed)
        if name == "labels_en.ttl":
            assert triples[1] == (
                "http://dbpedia.org/resource/Andorra/Transnational_issues",
                LABEL,
                Literal("Andorra/Transnational issues", "en"),
            )
        if name.startswith("frwiki"):
            alias = Literal("Anthony Edward « Tony » Stark (véritable identité)", "fr")
            assert triples[3][2] == alias
            assert Literal("Mighty Avengers\nAnciennement", "fr") in [t[2] for t in triples]
        if name.startswith("sameas"):
            assert triples[5][2] == "http://ko.dbpedia.org/resource/아프리카"
        if name.startswith("worldfacts"):
            tags = {t[2].language: t[2].value for t in triples}
            assert (tags["de"], tags["ja"], tags["en-dsrt"]) == ("Deutschland", "ドイツ", "ЖвщывьШ")
            assert "sr-latn" in tags
    assert counts == {
        "labels_en.ttl": (2, 2, 0),
        "mappingbased_objects_en.ttl": (14, 1, 0),
        "frwiki-20130420-mappingbased-properties.nt": (37, 2, 0),
        "sameas-all-wikis.ttl": (100, 0, 0),
        "worldfacts_dbpedia_labels.ttl": (169, 2, 0),
    }


@needs_samples
@pytest.mark.parametrize(
    "name", ["frwiki-20130420-mappingbased-properties.nt", "sameas-all-wikis.ttl"]
)
def test_agrees_with_rdflib_on_real_samples(name: str) -> None:
    rdflib = pytest.importorskip("rdflib")
    graph = rdflib.Graph()
    graph.parse(SAMPLES / name, format="nt")

    def term(node):
        if isinstance(node, rdflib.Literal):
            datatype = str(node.datatype) if node.datatype else None
            return Literal(str(node), node.language, datatype)
        return str(node)

    expected = {(str(s), str(p), term(o)) for s, p, o in graph}
    assert set(read_triples(SAMPLES / name)) == expected


@pytest.mark.parametrize(
    ("line", "subject", "obj"),
    [
        ('_:ω <http://p> "x" .', BlankNode("ω"), Literal("x")),
        ("_::a <http://p> <http://o> .", BlankNode(":a"), "http://o"),
        ("<http://s> <http://p> _:é .", "http://s", BlankNode("é")),
        ("_:Köln <http://p> _:b.1 .", BlankNode("Köln"), BlankNode("b.1")),
    ],
)
def test_blank_node_labels_may_start_with_any_letter_or_a_colon(line, subject, obj):
    """W3C N-Triples: BLANK_NODE_LABEL starts with PN_CHARS_U (any script's letters, `_`,
    `:`) or a digit; such lines were counted as malformed."""
    assert parse_line(line) == (subject, "http://p", obj)


@pytest.mark.parametrize(
    ("iri", "canonical"),
    [
        ("http://de.dbpedia.org/resource/K%C3%B6ln", "http://de.dbpedia.org/resource/Köln"),
        ("http://x/%E2%80%8F%D7%90", "http://x/%E2%80%8Fא"),  # U+200F stays escaped
        ("http://x/1%C2%A0000%e3%80%80", "http://x/1%C2%A0000%E3%80%80"),  # white space
        ("http://x/%C3%B6%E2%80%AE%C3%B6%FF", "http://x/ö%E2%80%AEö%FF"),
        ("http://x/%22a%22%2F", "http://x/%22a%22%2F"),  # ASCII escapes as written
    ],
)
def test_canonical_iris_keep_escaped_what_an_iri_does_not_hold_raw(iri, canonical):
    assert canonical_iri(iri) == canonical
