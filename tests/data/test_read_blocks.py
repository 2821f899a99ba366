"""The vectorised dump-to-records conversion (`read_blocks`) gives the row-by-row path's
records (same Parquet tables) and counts (same `ReadStats`) on synthetic, real and nasty
dump files, for every kind of record file."""

from __future__ import annotations

import bz2
import importlib.util
import sys
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from dbpedia_dumps import completed_excerpt

from prixlm.data.dbpedia import read_blocks, read_rows
from prixlm.data.dbpedia.arrow_values import clean_label
from prixlm.data.dbpedia.convert import convert
from prixlm.data.dbpedia.dumps import ReadOptions
from prixlm.data.dbpedia.read_rows import Job
from prixlm.data.ntriples import DumpError, MalformedLineError, ReadStats
from prixlm.data.ntriples_lines import count_lines, line_blocks, open_dump

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / ".." / "shared" / "dbpedia_samples"
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
SAME = "<http://www.w3.org/2002/07/owl#sameAs>"
TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
DE, EN, FR = (f"http://{h}dbpedia.org/resource/" for h in ("de.", "", "fr."))
LANGUAGES = ("de", "en", "fr", "zh-hant")


def both(job: Job, tmp_path: Path, strict: bool = False) -> tuple[pa.Table, ReadStats]:
    """Convert `job` both ways; assert equal tables and counts; return them."""
    results = []
    for vectorised in (False, True):
        output = tmp_path / f"{job.output.stem}-{vectorised}.parquet"
        run = Job(job.kind, job.path, output, job.language, job.languages, job.pivots)
        stats = convert(run, ReadOptions(strict=strict), vectorised=vectorised)
        results.append((pq.read_table(output), stats))
    (old, old_stats), (new, new_stats) = results
    assert new.schema == read_rows.SCHEMAS[job.kind]
    assert new.to_pylist() == old.to_pylist()
    assert new_stats == old_stats
    return new, new_stats


def all_jobs(path: Path, language: str = "de") -> list[Job]:
    out = Path(path.stem)
    return [
        Job("labels", path, out, language, LANGUAGES),
        Job("objects", path, out, language, LANGUAGES),
        Job("links", path, out, language, LANGUAGES),
        Job("links", path, out, language, LANGUAGES, ("en",)),
        Job("links", path, out, language, LANGUAGES, (language,)),
        Job("hub", path, out, None, LANGUAGES),
        Job("ontology", path, out),
    ]


# (line, ends with) pieces of the nasty file; `None` marks a malformed line.
NASTY: list[tuple[str, bool]] = [
    ("# a comment", True),
    ("", True),
    ("   ", True),
    (f'<{DE}K%C3%B6ln> {LABEL} "Köln"@de .', True),
    (f'<{DE}K%C3%B6ln> {LABEL} "Koeln"@de .', True),  # a second label: the first wins
    (f'<{DE}Esc> {LABEL} "say \\"hi\\" caf\\u00e9 \\U0001F600"@de .', True),
    (f'<{DE}Caf\\u00e9> {LABEL} "Café"@DE .', True),
    (f'<{DE}Tab> {LABEL} "a\\tb"@de .', True),
    (f'<{DE}RawTab> {LABEL} "a\tb  c"@de .', True),
    (f'<{DE}Sp>  {LABEL}  "double  space" .', True),
    (f'<{DE}Sp2> {LABEL} "double  space " .', True),
    (f'<{DE}Nb> {LABEL} "\u00a0nb\u00a0sp\u3000x\u2028y\u0085"@de .', True),
    (f'<{DE}Empty> {LABEL} " \u3000 "@de .', True),
    (f'<{DE}EmptyLit> {LABEL} ""@de .', True),
    (f'<{DE}Under> {LABEL} "u"@de_AT .', False),  # malformed: `_` in a tag
    (f'<{DE}Plain> {LABEL} "plain" .', True),
    (f'<{DE}Xs> {LABEL} "typed"^^<http://www.w3.org/2001/XMLSchema#string> .', True),
    (f'<{DE}Int> {LABEL} "7"^^<http://www.w3.org/2001/XMLSchema#integer> .', True),
    (f'<{DE}Ls> {LABEL} "ls"^^<http://www.w3.org/1999/02/22-rdf-syntax-ns#langString> .', False),
    (f'<{DE}En> {LABEL} "english"@en .', True),
    (f'<{DE}EnGb> {LABEL} "Colour"@en-GB .', True),
    (f'<{DE}Upper> {LABEL} "Österreich"@DE-AT .', True),
    (f'<{DE}Braces> {LABEL} "x{{y}}|`"@de .', True),
    (f'<{DE}Gt> {LABEL} "a> <b> \\"c"@de .', True),
    (f"<{DE}K%C3%B6ln> <http://dbpedia.org/ontology/country> <{DE}Deutschland> .", True),
    (f"<{DE}K%C3%B6ln> <http://dbpedia.org/ontology/x%C3%A9> <{DE}A%22B%2F> .", True),
    (f"<{DE}Bad> <http://dbpedia.org/ontology/p> <{DE}Bad%C3> .", True),
    (f"<{DE}T> {TYPE} <http://dbpedia.org/ontology/City> .", True),
    (f"<{DE}B> <http://dbpedia.org/ontology/p> _:b1 .", True),
    ("_:b2 <http://dbpedia.org/ontology/p> <http://x.org/y> .", True),
    ("<urn:isbn:123> <http://dbpedia.org/ontology/p> <http://x.org/y> .", True),
    (f"<{DE}M> <http://dbpedia.org/ontology/p> <mailto:x@y.org> .", True),
    ("<relative> <http://dbpedia.org/ontology/p> <http://x.org/y> .", False),
    (f"<{DE}Q> <http://dbpedia.org/ontology/p> <{DE}R> <http://g.org/> .", False),
    (f"<{DE}Caf\\u00e9> <http://dbpedia.org/ontology/p> <{DE}\\U0001F600> .", True),
    (f"<{DE}C> <http://dbpedia.org/ontology/p> <{DE}D> . # trailing comment", True),
    (f"<{DE}Tabs>\t<http://dbpedia.org/ontology/p>\t<{DE}D>\t.", True),
    (f"<{DE}a{{b}}> <http://dbpedia.org/ontology/p> <{DE}D> .", False),
    (f"<{DE}Sp> <http://dbpedia.org/ontology/p> <{DE}D>.", True),
    (f"<{DE}K%C3%B6ln> {SAME} <{EN}Cologne> .", True),
    (f"<{DE}X> {SAME} <{FR}X> .", True),
    (f"<{DE}Self> {SAME} <{DE}Self> .", True),
    (f"<{DE}Y> {SAME} <http://en.dbpedia.org/resource/Y> .", True),
    (f"<{DE}Z> {SAME} <http://zh_Hant.dbpedia.org/resource/Z> .", True),
    (f"<{DE}W> {SAME} <http://wikidata.dbpedia.org/resource/Q1> .", True),
    (f"<{DE}E> {SAME} <https://dbpedia.org/resource/%C3%89cole> .", True),
    (f"<{DE}E2> {SAME} <http://www.wikidata.org/entity/Q2> .", True),
    (f'<{DE}Lit> {SAME} "not an IRI" .', True),
    (f"<http://wikidata.dbpedia.org/resource/Q64> {SAME} <{DE}K%C3%B6ln> .", True),
    (f"<http://wikidata.dbpedia.org/resource/Q64> {SAME} <{EN}Cologne> .", True),
    (f"<http://wikidata.dbpedia.org/resource/Q%C3%A9> {SAME} <{FR}Cologne> .", True),
    (
        '<http://dbpedia.org/ontology/city> <http://www.w3.org/2000/01/rdf-schema#label> "city"@en .',
        True,
    ),
    (
        '<http://dbpedia.org/ontology/city> <http://www.w3.org/2000/01/rdf-schema#label> " "@fr .',
        True,
    ),
    (f'<{DE}Unterminated> {LABEL} "open@de .', False),
    (f'<{DE}Last> {LABEL} "last line"@de .', True),
]
ENDS = ["\n", "\r\n", "\r"]


def nasty_text() -> str:
    """The nasty file: mixed line ends, the last line without one."""
    lines = [line for line, _ in NASTY]
    ends = [ENDS[i % 3] for i in range(len(lines) - 1)] + [""]
    return "".join(line + end for line, end in zip(lines, ends, strict=True))


MALFORMED = [number for number, (_, good) in enumerate(NASTY, 1) if not good]


@pytest.fixture(scope="module")
def nasty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("nasty") / "nasty_de.ttl"
    path.write_bytes(nasty_text().encode("utf-8"))
    return path


@pytest.mark.parametrize("block_bytes", [read_blocks.BLOCK_BYTES, 300])
def test_nasty_file_all_kinds(
    nasty: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_bytes: int
) -> None:
    monkeypatch.setattr(read_blocks, "BLOCK_BYTES", block_bytes)  # many blocks
    monkeypatch.setattr(read_rows, "BATCH_ROWS", 3)
    tables = {}
    for number, job in enumerate(all_jobs(nasty)):
        table, stats = both(job, tmp_path)
        tables[(job.kind, job.pivots)] = table.to_pylist()
        assert (stats.lines, stats.malformed) == (len(NASTY), len(MALFORMED))
        assert stats.comments == 3
        assert stats.triples == len(NASTY) - 3 - len(MALFORMED)
        assert [int(e.split(":")[1]) for e in stats.errors] == MALFORMED, number
        assert all(e.startswith(f"{nasty}:") for e in stats.errors)
    assert "rdf:langString literal without a language tag" in stats.errors[1]
    labels = {(r["iri"], r["label"]) for r in tables[("labels", None)]}
    assert (DE + "Köln", "Köln") in labels and (DE + "Köln", "Koeln") in labels
    assert (DE + "Esc", 'say "hi" café \U0001f600') in labels
    assert (DE + "Café", "Café") in labels
    assert (DE + "Nb", "nb sp x y") in labels
    assert (DE + "Sp", "double space") in labels and (DE + "Xs", "typed") in labels
    assert not {DE + "Empty", DE + "EmptyLit", DE + "Int", DE + "En"} & {i for i, _ in labels}
    seqs = [r["seq"] for r in tables[("labels", None)]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    objects = {(r["subject"], r["relation"], r["object"]) for r in tables[("objects", None)]}
    assert (DE + "Köln", "http://dbpedia.org/ontology/xé", DE + "A%22B%2F") in objects
    assert (DE + "Bad", "http://dbpedia.org/ontology/p", DE + "Bad%C3") in objects
    links = {(r["subject"], r["other_language"], r["object"]) for r in tables[("links", None)]}
    assert links == {
        (DE + "Köln", "en", EN + "Cologne"),
        (DE + "X", "fr", FR + "X"),
        (DE + "Y", "en", "http://en.dbpedia.org/resource/Y"),
        (DE + "Z", "zh-hant", "http://zh_Hant.dbpedia.org/resource/Z"),
        (DE + "E", "en", "https://dbpedia.org/resource/École"),
        ("http://wikidata.dbpedia.org/resource/Q64", "en", EN + "Cologne"),
        ("http://wikidata.dbpedia.org/resource/Qé", "fr", FR + "Cologne"),
    }
    assert {r["other_language"] for r in tables[("links", ("en",))]} == {"en"}
    assert len(tables[("links", ("de",))]) == len(links)
    hub = [(r["hub"], r["language"]) for r in tables[("hub", None)]]
    assert ("http://wikidata.dbpedia.org/resource/Q64", "de") in hub
    assert ("http://wikidata.dbpedia.org/resource/Q%C3%A9", "fr") in hub  # hub as written
    ontology = {(r["property"], r["language"], r["label"]) for r in tables[("ontology", None)]}
    assert ("http://dbpedia.org/ontology/city", "en", "city") in ontology
    assert (DE + "EnGb", "en-gb", "Colour") in ontology
    assert (DE + "Upper", "de-at", "Österreich") in ontology


def test_nasty_file_compressed(nasty: Path, tmp_path: Path) -> None:
    """The .bz2 dump gives the records and counts of the same file uncompressed: both
    readers agreeing is not enough (a bz2 reader that stopped early would lose the rest
    of the dump in both)."""
    path = tmp_path / "nasty_de.ttl.bz2"
    path.write_bytes(bz2.compress(nasty.read_bytes()))
    (tmp_path / "bz2").mkdir()
    (tmp_path / "plain").mkdir()
    for compressed, plain in zip(all_jobs(path), all_jobs(nasty), strict=True):
        table, stats = both(compressed, tmp_path / "bz2")
        expected, expected_stats = both(plain, tmp_path / "plain")
        assert table.to_pylist() == expected.to_pylist(), compressed.kind
        named = [error.replace(str(path), str(nasty), 1) for error in stats.errors]
        assert replace(stats, errors=named) == expected_stats, compressed.kind
    assert stats.lines == len(NASTY)  # the last job's (ontology): every line was read


def test_strict_names_the_first_malformed_line(nasty: Path, tmp_path: Path) -> None:
    for vectorised in (False, True):
        job = Job("labels", nasty, tmp_path / f"s{vectorised}.parquet", "de", LANGUAGES)
        with pytest.raises(MalformedLineError) as error:
            convert(job, ReadOptions(strict=True), vectorised=vectorised)
        assert error.value.line_number == MALFORMED[0]
        assert str(error.value).startswith(f"{nasty}:{MALFORMED[0]}: ")


def test_clean_file_and_empty_file(tmp_path: Path) -> None:
    clean = tmp_path / "clean_de.ttl"
    clean.write_text(
        "".join(f'<{DE}E{i}> {LABEL} "Entity {i}"@de .\n' for i in range(1000)), "utf-8"
    )
    table, stats = both(Job("labels", clean, Path("c"), "de", LANGUAGES), tmp_path)
    assert (table.num_rows, stats.lines, stats.triples) == (1000, 1000, 1000)
    assert table["seq"].to_pylist() == list(range(1000))
    empty = tmp_path / "empty_de.ttl"
    empty.write_bytes(b"")
    for job in all_jobs(empty):
        table, stats = both(job, tmp_path)
        assert (table.num_rows, stats.lines) == (0, 0)


def test_python_white_space_is_covered() -> None:
    """The values sent to Python (`_UNUSUAL_SPACE`) are those `clean_label` changes: each
    white space character `str.split` knows and each character it drops (`DROPPED`:
    zero-width and control characters), for every character a common line's value may hold
    (U+0000-001F it does not: those lines are read row by row)."""
    characters = [chr(code) for code in range(0x20, 0x110000) if not 0xD800 <= code <= 0xDFFF]
    values = [f"A{character}B" for character in characters]
    sent = pc.match_substring_regex(pa.array(values), read_blocks._UNUSUAL_SPACE).to_pylist()
    changed = [clean_label(value) != value for value in values]
    wrong = [
        hex(ord(c)) for c, one, other in zip(characters, sent, changed, strict=True) if one != other
    ]
    assert not wrong
    assert sum(changed) == 19 + 3 + 32  # white space but " ", ZERO_WIDTH, U+007F-009F


def _load_synthetic():  # noqa: ANN202
    path = REPO / "bench" / "synthetic_dumps.py"
    spec = importlib.util.spec_from_file_location("synthetic_dumps", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("synthetic_dumps", module)
    spec.loader.exec_module(module)
    return module


def test_synthetic_dumps(tmp_path: Path) -> None:
    folder = tmp_path / "dumps"
    _load_synthetic().write_dumps(folder, 3, 400, seed=5)
    files = sorted(folder.glob("*.ttl"))
    assert len(files) >= 6
    for path in files:
        language = path.stem.split("_")[-1]
        kind = "labels" if "labels" in path.name else "objects"
        if "links" in path.name:
            kind = "links"
        table, stats = both(Job(kind, path, Path(path.stem), language, LANGUAGES), tmp_path)
        assert stats.triples > 0 and stats.malformed == 0
        assert table.num_rows > 0


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared/dbpedia_samples absent")
def test_real_samples(tmp_path: Path) -> None:
    files = [p for p in sorted(SAMPLES.iterdir()) if p.suffix in (".ttl", ".nt")]
    assert files
    rows = 0
    for path in files:
        path = completed_excerpt(path.name, tmp_path)
        language = "fr" if path.name.startswith("fr") else "en"
        for job in all_jobs(path, language):
            table, _ = both(job, tmp_path)
            rows += table.num_rows
    assert rows > 100


def test_line_blocks_unsplit(nasty: Path) -> None:
    """`line_blocks(split=False)`: the same blocks and line numbers, `lines` and `text`
    left empty."""
    with open_dump(nasty) as a, open_dump(nasty) as b:
        split = list(line_blocks(a, "n", 300))
        whole = list(line_blocks(b, "n", 300, split=False))
    assert [(x.first_line, x.data) for x in split] == [(x.first_line, x.data) for x in whole]
    assert all(x.lines == [] and x.text == "" for x in whole)
    assert [count_lines(x.data) for x in whole] == [len(x.lines) for x in split]


BAD_UTF8 = [b"\xed\xa0\x80", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80",
            b"\xff", b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\x80", b"\xc3\x28"]  # fmt: skip
GOOD_UTF8 = [
    b"\xef\xbf\xbe",
    b"\xf0\x9f\x98\x80",
    b"\xed\x9f\xbf",
    b"\xf4\x8f\xbf\xbf",
    b"\xc2\x85",
]


@pytest.mark.parametrize("sequence", BAD_UTF8 + GOOD_UTF8)
def test_invalid_utf8_same_error(tmp_path: Path, sequence: bytes) -> None:
    """Arrow's UTF-8 check (`split=False`) accepts what Python's decoder accepts; a file with
    invalid UTF-8 fails the same way on both paths, naming the line."""
    path = tmp_path / "bad_de.ttl"
    good = f'<{DE}A> {LABEL} "a"@de .\n'.encode()
    path.write_bytes(good * 3 + f'<{DE}B> {LABEL} "'.encode() + sequence + b'"@de .\n' + good)
    messages = []
    for vectorised in (False, True):
        job = Job("labels", path, tmp_path / f"b{vectorised}.parquet", "de", LANGUAGES)
        try:
            convert(job, ReadOptions(), vectorised=vectorised)
            messages.append(None)
        except DumpError as error:
            messages.append(str(error))
    assert messages[0] == messages[1]
    assert (messages[0] is None) == (sequence in GOOD_UTF8)
    if messages[0] is not None:
        assert messages[0].startswith(f"{path}:4: invalid UTF-8")
