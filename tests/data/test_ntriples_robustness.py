"""The N-Triples reader on awkward input: line ends, long lines, corrupt archives, N-Quads,
control characters in messages, relative IRIs, and the fast path against the full grammar."""

from __future__ import annotations

import bz2
import gzip
import io
import random
from pathlib import Path

import pytest

from prixlm.data.ntriples import DumpError, Literal, ReadStats, parse_line, read_triples
from prixlm.data.ntriples_lines import line_blocks

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "dbpedia_samples"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared/dbpedia_samples absent")
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"


def _write(path: Path, data: bytes) -> Path:
    if path.suffix == ".bz2":
        data = bz2.compress(data)
    elif path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path


def _rdflib_triples(path: Path) -> set[tuple]:
    rdflib = pytest.importorskip("rdflib")
    graph = rdflib.Graph()
    graph.parse(path, format="nt")

    def term(node):
        if isinstance(node, rdflib.Literal):
            datatype = str(node.datatype) if node.datatype else None
            return Literal(str(node), node.language, datatype)
        return str(node)

    return {(str(s), str(p), term(o)) for s, p, o in graph}


# --- line ends (issue 9 #4) ---------------------------------------------------------------
@needs_samples
@pytest.mark.parametrize("eol", ["\r", "\r\n"])
@pytest.mark.parametrize("suffix", ["", ".bz2", ".gz"])
@pytest.mark.parametrize("block_size", [1 << 16, 5])
def test_cr_and_crlf_line_ends_read_every_triple_as_rdflib_does(
    tmp_path: Path, eol: str, suffix: str, block_size: int
) -> None:
    # The file starts with a comment: with CR line ends it used to read as one comment.
    source = SAMPLES / "worldfacts_dbpedia_labels.ttl"
    text = source.read_text(encoding="utf-8")
    lines = text.count("\n")
    plain = _write(tmp_path / f"cr{len(eol)}.ttl", text.replace("\n", eol).encode())
    path = _write(tmp_path / f"cr{len(eol)}.ttl{suffix}", plain.read_bytes())
    stats = ReadStats()
    triples = list(read_triples(path, stats=stats, block_size=block_size))
    assert (stats.lines, stats.triples, stats.comments, stats.malformed) == (lines, 169, 2, 0)
    assert set(triples) == _rdflib_triples(plain) == set(read_triples(source))


@pytest.mark.parametrize("block_size", [1 << 16, 1, 2, 3])
def test_mixed_line_ends_number_lines_as_an_editor_does(tmp_path: Path, block_size: int) -> None:
    # LF, CRLF, CR, then a blank line written CR CR, then a malformed line: line 6.
    text = (
        "<http://a/1> <http://a/p> <http://a/o> .\n"
        "<http://a/2> <http://a/p> <http://a/o> .\r\n"
        "<http://a/3> <http://a/p> <http://a/o> .\r"
        "<http://a/4> <http://a/p> <http://a/o> .\r\r"
        "<http://a/6> <http://a/p>\r\n"
        '<http://a/7> <http://a/p> "x" .'
    )
    stats = ReadStats()
    path = _write(tmp_path / "mixed.nt", text.encode())
    triples = list(read_triples(path, stats=stats, block_size=block_size))
    assert [t[0] for t in triples] == [
        "http://a/1",
        "http://a/2",
        "http://a/3",
        "http://a/4",
        "http://a/7",
    ]
    assert (stats.lines, stats.comments, stats.malformed) == (7, 1, 1)
    assert stats.errors == [f"{path}:6: missing object"]


def test_a_crlf_whose_lf_is_read_alone_at_the_end_adds_no_line(tmp_path: Path) -> None:
    """A file of k blocks + 1 byte ending in CRLF: the last read is the LF alone. It was
    read as one more (empty) line, which shifted `file:line` of every later part of the
    parallel build by one."""
    text = (
        "<http://a/1> <http://a/p> <http://a/o> .\r\n<http://a/2> <http://a/p> <http://a/o> .\r\n"
    )
    path = _write(tmp_path / "crlf.nt", text.encode())
    for block_size in (len(text) - 1, (len(text) - 1) // 2):
        stats = ReadStats()
        assert len(list(read_triples(path, stats=stats, block_size=block_size))) == 2
        assert (stats.lines, stats.comments) == (2, 0), block_size


# --- long lines (issue 9 #5) --------------------------------------------------------------
def test_a_line_longer_than_the_limit_names_file_line_and_option(tmp_path: Path) -> None:
    value = "x" * 5000
    text = (
        '<http://a/s> <http://a/p> "short" .\n'
        f'<http://a/s> <http://a/p> "{value}" .\n'
        '<http://a/s> <http://a/p> "after" .\n'
    )
    path = _write(tmp_path / "long.nt", text.encode())
    with pytest.raises(DumpError) as info:
        list(read_triples(path, max_line_bytes=4096, block_size=1000))
    assert str(info.value).startswith(
        f"{path}:2: line longer than 4096 bytes; raise it with max_line_bytes="
    )
    values = [t[2].value for t in read_triples(path, max_line_bytes=8192, block_size=1000)]
    assert values == ["short", value, "after"]
    # The limit holds whatever the block size, and for a last line without a line end.
    with pytest.raises(DumpError, match=rf"{path.name}:2: line longer than 100 bytes"):
        list(read_triples(path, max_line_bytes=100))
    unterminated = _write(tmp_path / "open.nt.gz", b'<http://a/s> <http://a/p> "' + b"y" * 10**6)
    with pytest.raises(DumpError, match=r"open.nt.gz:1: line longer than 65536 bytes"):
        list(read_triples(unterminated, max_line_bytes=1 << 16))
    with pytest.raises(ValueError, match="max_line_bytes must be a positive"):
        list(read_triples(path, max_line_bytes=0))


def test_a_line_exactly_at_the_limit_is_read(tmp_path: Path) -> None:
    line = '<http://a/s> <http://a/p> "' + "z" * 100 + '" .'
    path = _write(tmp_path / "exact.nt", (line + "\n" + line).encode())
    size = len(line.encode())
    assert len(list(read_triples(path, max_line_bytes=size, block_size=7))) == 2
    with pytest.raises(DumpError, match=":1: line longer than"):
        list(read_triples(path, max_line_bytes=size - 1, block_size=7))


class _CountingBlock(bytes):
    """A block that counts the bytes searched and concatenated through it (class-wide)."""

    touched = 0

    def _searched(self, method, *args):
        _CountingBlock.touched += len(self)
        return method(self, *args)

    def find(self, *args):
        return self._searched(bytes.find, *args)

    def rfind(self, *args):
        return self._searched(bytes.rfind, *args)

    def index(self, *args):
        return self._searched(bytes.index, *args)

    def __add__(self, other):
        _CountingBlock.touched += len(self) + len(other)
        return _CountingBlock(bytes(self) + bytes(other))

    def __radd__(self, other):  # `bytes + block` comes here: the block is the subclass
        _CountingBlock.touched += len(self) + len(other)
        return _CountingBlock(bytes(other) + bytes(self))


class _CountingHandle:
    def __init__(self, data: bytes) -> None:
        self.stream = io.BytesIO(data)

    def read(self, size: int) -> bytes:
        return _CountingBlock(self.stream.read(size))


def test_splitting_a_long_line_touches_each_byte_a_bounded_number_of_times() -> None:
    # The old splitter concatenated and searched the growing line at every block: for a
    # line of n blocks it touched about n^2 / 2 blocks' bytes (256 KiB in 1 KiB blocks:
    # ~34 MiB). Work, not time, is counted (speed itself: bench/bench_line_length.py).
    length = 256 << 10
    line = (
        b'<http://a/s> <http://a/p> "' + b"v" * length + b'" .\n<http://a/s> <http://a/p> "x" .\n'
    )
    _CountingBlock.touched = 0
    blocks = list(line_blocks(_CountingHandle(line), "long.nt", block_size=1 << 10))
    assert [len(line) for block in blocks for line in block.lines] == [length + 30, 31]
    assert _CountingBlock.touched < 4 * len(line), _CountingBlock.touched


# --- corrupt archives, N-Quads, control characters (issue 9 #9) ---------------------------
def _dump_lines(count: int) -> bytes:
    return "".join(
        f'<http://de.dbpedia.org/resource/Köln_{i}> <{LABEL}> "Köln {i} 東京"@de .\n'
        for i in range(count)
    ).encode()


@pytest.mark.parametrize("suffix", [".bz2", ".gz"])
def test_a_flipped_byte_in_a_compressed_dump_reports_a_corrupt_file(
    tmp_path: Path, suffix: str
) -> None:
    data = _write(tmp_path / f"good.ttl{suffix}", _dump_lines(3000)).read_bytes()
    middle = len(data) // 2
    messages = []
    for position in range(middle - 100, middle + 100, 5):
        corrupt = bytearray(data)
        corrupt[position] ^= 0x10
        path = tmp_path / f"flipped_{position}.ttl{suffix}"
        path.write_bytes(bytes(corrupt))
        with pytest.raises(DumpError) as info:
            list(read_triples(path))
        messages.append(str(info.value))
    assert all(m.startswith(str(tmp_path / "flipped_")) for m in messages)
    assert [m for m in messages if "truncated or corrupt compressed file" not in m] == []


def test_a_corrupt_later_stream_of_a_multi_stream_bz2_is_an_error(tmp_path: Path) -> None:
    """pbzip2 writes one stream per ~900 kB: `bz2.open` read a later stream whose start is
    corrupt as trailing garbage and ended the file there, without an error (the parallel
    build, which reads the streams in parts, failed on the same file)."""
    lines = _dump_lines(3000).splitlines(keepends=True)
    streams = [bz2.compress(b"".join(lines[i : i + 1000])) for i in range(0, 3000, 1000)]
    whole = b"".join(streams)
    (tmp_path / "good.ttl.bz2").write_bytes(whole + b"\0trailing, no stream")
    assert len(list(read_triples(tmp_path / "good.ttl.bz2"))) == 3000  # garbage: ignored
    for flip in (0, 5, 200):  # the header, the block magic, the block's data
        corrupt = bytearray(whole)
        corrupt[len(streams[0]) + flip] ^= 0x10
        path = tmp_path / f"flip{flip}.ttl.bz2"
        path.write_bytes(bytes(corrupt))
        with pytest.raises(DumpError, match="truncated or corrupt compressed file"):
            list(read_triples(path))


def test_invalid_utf8_in_a_sound_compressed_dump_is_still_invalid_utf8(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "latin1.ttl.bz2", _dump_lines(10) + b'<http://a/x> <http://a/p> "K\xf6ln" .\n'
    )
    with pytest.raises(DumpError, match=r"latin1.ttl.bz2:11: invalid UTF-8 \(byte 0xf6"):
        list(read_triples(path))


@pytest.mark.parametrize(
    "line",
    [
        "<http://a/s> <http://a/p> <http://a/o> <http://a/graph> .",
        '<http://a/s> <http://a/p> "v"@en <http://a/graph> .',
        "<http://a/s> <http://a/p> _:o _:graph .",
    ],
)
def test_an_nquads_line_says_so(tmp_path: Path, line: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_line(line)
    assert "fourth term" in str(info.value) and "N-Quads" in str(info.value)
    stats = ReadStats()
    assert list(read_triples(_write(tmp_path / "q.nq", (line + "\n").encode()), stats=stats)) == []
    assert (
        stats.errors[0].endswith(": N-Quads (a graph term) is not N-Triples")
        and "expected ' .' after the object, got a fourth term '" in stats.errors[0]
    )


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("<http://a/x\x00y> <http://a/p> <http://a/o> .", "<http://a/x\\x00y>"),
        ("<http://a/x\x85 y> <http://a/p> <http://a/o> .", "<http://a/x\\x85 y>"),
        ("<http://a/x\u2028\x7f\x01> <http://a/p> <http://a/o> .", "<http://a/x\\u2028\\x7f\\x01>"),
    ],
)
def test_control_characters_in_messages_are_escaped(tmp_path: Path, line: str, shown: str) -> None:
    stats = ReadStats()
    list(read_triples(_write(tmp_path / "c.nt", (line + "\n").encode()), stats=stats))
    (message,) = stats.errors
    assert shown in message and "in the subject IRI" in message
    assert message.isprintable()


# --- relative IRIs ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "role"),
    [
        ("<Relative> <http://a/p> <http://a/o> .", "subject"),
        ('<Relative> <http://a/p> "x"@en .', "subject"),
        ("<http://a/s> <p> <http://a/o> .", "predicate"),
        ('<http://a/s> <p> "x" .', "predicate"),
        ("<http://a/s> <http://a/p> <o> .", "object"),
        ("<http://a/s> <http://a/p> <httpfoo/x> .", "object"),
        ("<http://a/s> <http://a/p> <a/b:c> .", "object"),
        ("_:b <http://a/p> <#frag> .", "object"),
        ('<http://a/s> <http://a/p> "1"^^<integer> .', "datatype"),
        ("<http/x> <http://a/p> <http://a/o> .", "subject"),
        ("<1http:x> <http://a/p> <http://a/o> .", "subject"),
    ],
)
def test_relative_iris_are_malformed(tmp_path: Path, line: str, role: str) -> None:
    with pytest.raises(ValueError, match=f"relative IRI <[^>]*> in the {role}"):
        parse_line(line)
    stats = ReadStats()
    path = _write(tmp_path / "relative.nt", (line + "\n").encode())
    assert list(read_triples(path, stats=stats)) == []
    assert stats.malformed == 1
    assert f"in the {role}: N-Triples needs an absolute IRI" in stats.errors[0]


def test_absolute_iris_of_any_scheme_are_read(tmp_path: Path) -> None:
    text = (
        "<https://a/s> <http://a/p> <https://a/o> .\n"
        "<urn:isbn:0451450523> <http://a/p> <mailto:a@b.c> .\n"
        '<x-y.z+1:s> <tag:a,2020:p> "v"^^<xsd:integer> .\n'
        '<https://a/s> <http://a/p> "v"@de .\n'
    )
    assert list(read_triples(_write(tmp_path / "schemes.nt", text.encode()))) == [
        ("https://a/s", "http://a/p", "https://a/o"),
        ("urn:isbn:0451450523", "http://a/p", "mailto:a@b.c"),
        ("x-y.z+1:s", "tag:a,2020:p", Literal("v", None, "xsd:integer")),
        ("https://a/s", "http://a/p", Literal("v", "de")),
    ]


# --- the fast path gives what the full grammar gives -------------------------------------
_BASE_LINES = [
    "<http://de.dbpedia.org/resource/Köln> <http://dbpedia.org/ontology/p> <http://x.org/o> .",
    '<http://de.dbpedia.org/resource/Köln> <http://www.w3.org/2000/01/rdf-schema#label> "Köln"@de .',
    '<https://a/s> <http://a/p> "4"^^<http://www.w3.org/2001/XMLSchema#integer> .',
    '<http://a/s> <http://a/p> "say \\"hi\\" \\u00E9" .',
    "_:b1 <http://a/p> <http://a/o> .",
]
_NOISE = ['"', "<", ">", " ", "\\", "^", "@", "_:", "#", ".", "\t", "\x00", "|", "u", ":", "s"]


def test_fast_path_agrees_with_the_full_grammar_on_mutated_lines(tmp_path: Path) -> None:
    rng = random.Random(0)
    lines = []
    for _ in range(3000):
        line = rng.choice(_BASE_LINES)
        for _ in range(rng.randint(1, 2)):
            at = rng.randrange(len(line) + 1)
            cut = rng.choice([0, 0, 1])
            line = line[:at] + rng.choice(_NOISE) + line[at + cut :]
        lines.append(line)
    expected_triples, expected_errors = [], []
    for number, line in enumerate(lines, 1):
        try:
            triple = parse_line(line)
        except ValueError as err:
            expected_errors.append(f"{number}: {err}")
            continue
        if triple is not None:
            expected_triples.append(triple)
    path = _write(tmp_path / "mutated.nt", ("\n".join(lines) + "\n").encode())
    stats = ReadStats(max_reported=len(lines))
    assert list(read_triples(path, stats=stats)) == expected_triples
    assert stats.errors == [f"{path}:{e}" for e in expected_errors]
    assert 300 < len(expected_triples) and 300 < len(expected_errors)
