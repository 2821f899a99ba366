"""Dumps cut short, empty archives and byte-order marks, through the build's command line.

A dump cut mid-line (its last line has no line end and is no triple) or a DBpedia dump
without its closing `# completed` line stops the build (exit 2, the file named, nothing
published), plain, `.bz2` or `.gz`, read whole or in parts; they used to build a dataset
that looked complete. A 0-byte `.bz2`/`.gz` is an error (it was read as an empty dump, its
links silently dropped). A UTF-8 byte-order mark at a file's start is dropped (it made
line 1 malformed, its triple lost).
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
from pathlib import Path

import pytest
from dbpedia_dumps import EN, LABEL, add_lines, write_dumps
from test_convert_parts import multi_stream

from prixlm.data.dbpedia import convert
from prixlm.data.dbpedia.build import main
from prixlm.data.ntriples import DumpError, ReadStats, read_triples

BOM = b"\xef\xbb\xbf"
CUT_SHORT = "on the last line, which has no line end: file cut short?"
NO_FOOTER = (
    "DBpedia dump without its closing '# completed' line: cut short? (it opens with "
    "'# started'; an excerpt must end with a '# completed' line too)"
)


def _build(dumps: Path, out: Path, num_proc: int = 1) -> int:
    argv = ["--dump_dir", str(dumps), "--output_dir", str(out), "--no_progress"]
    return main([*argv, "--num_proc", str(num_proc)])


def _read(path: Path) -> bytes:
    """The decompressed bytes of a dump written by `write_dumps`."""
    data = path.read_bytes()
    if path.suffix == ".bz2":
        return bz2.decompress(data)
    return gzip.decompress(data) if path.suffix == ".gz" else data


def _write(path: Path, data: bytes, stream_bytes: int | None = None) -> None:
    """`data` compressed as `path` names it (a `.bz2` in streams of `stream_bytes`)."""
    if path.suffix == ".bz2":
        data = multi_stream(data, stream_bytes) if stream_bytes else bz2.compress(data)
    elif path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)


def _parquet_digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*.parquet"))
    }


def _assert_nothing_published(out: Path) -> None:
    assert not out.exists()
    assert not list(out.parent.glob(f".{out.name}.*"))  # no staging folder left either


@pytest.mark.parametrize("suffix", ["", ".bz2", ".gz"])
def test_a_dump_cut_mid_line_stops_the_build_naming_file_and_line(
    tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dumps = write_dumps(tmp_path / "dumps", suffix)
    assert _build(dumps, tmp_path / "whole") == 0
    expected = _parquet_digests(tmp_path / "whole")
    capsys.readouterr()
    objects = dumps / f"mappingbased_objects_en.ttl{suffix}"
    data = _read(objects)
    # A last line without its line end that is a triple is read (hand-written files).
    _write(objects, data.removesuffix(b"\n"))
    assert _build(dumps, tmp_path / "no_line_end") == 0
    assert _parquet_digests(tmp_path / "no_line_end") == expected
    capsys.readouterr()
    cut = data[:-20]  # mid-way through the last line
    _write(objects, cut)
    out = tmp_path / "cut"
    assert _build(dumps, out) == 2
    line = cut.count(b"\n") + 1
    assert line == 18
    assert capsys.readouterr().err == (
        f"error: {objects}:{line}: unterminated IRI in the object, {CUT_SHORT}\n"
    )
    _assert_nothing_published(out)


@pytest.mark.parametrize("suffix", ["", ".bz2", ".gz"])
@pytest.mark.parametrize("cut", ["at a line end", "mid-line"])
def test_a_dbpedia_dump_without_its_closing_line_stops_the_build(
    tmp_path: Path, suffix: str, cut: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dumps = write_dumps(tmp_path / "dumps", suffix)
    labels = dumps / f"labels_de.ttl{suffix}"
    data = _read(labels)
    assert data.startswith(b"# started ") and data.endswith(b"\n# completed 2016-10-04T16:21:00Z\n")
    # Cut at a line end, the file ends with a malformed line, then with a comment (of the
    # `# completed` line's first bytes): a well-formed end, but not DBpedia's.
    end = data.rindex(b"# completed") + (0 if cut == "at a line end" else 7)
    _write(labels, data[:end])
    out = tmp_path / "out"
    assert _build(dumps, out) == 2
    assert capsys.readouterr().err == f"error: {labels}: {NO_FOOTER}\n"
    _assert_nothing_published(out)
    # trailing blank lines after the `# completed` line are no cut
    _write(labels, data + b"\n \n")
    assert _build(dumps, out) == 0


@pytest.mark.parametrize("suffix", ["", ".bz2"])
def test_a_dump_read_in_parts_is_checked_at_both_ends(
    tmp_path: Path, suffix: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """A large plain or multi-stream `.bz2` file is read in parts by several processes:
    only the first part sees the byte-order mark and the `# started` line, only the last
    one the file's end."""
    dumps = write_dumps(tmp_path / "dumps", suffix)
    labels = dumps / f"labels_en.ttl{suffix}"
    grown = tmp_path / "labels_en.ttl"
    grown.write_bytes(_read(labels))
    add_lines(grown, (f'<{EN}E{i}> {LABEL} "entity {i}"@en .' for i in range(3000)))
    data = grown.read_bytes()
    _write(labels, data, stream_bytes=5_000)
    assert _build(dumps, tmp_path / "whole") == 0
    expected = _parquet_digests(tmp_path / "whole")
    monkeypatch.setattr(convert, "POOL_MIN_BYTES", 0)
    monkeypatch.setattr(convert, "PART_MIN_BYTES", 300)
    parts: dict[str, int] = {}
    split_jobs = convert.split_jobs

    def counted(jobs, part_bytes):
        found = split_jobs(jobs, part_bytes)
        parts.update({job.path.name: len(found[job]) for job in jobs})
        return found

    monkeypatch.setattr(convert, "split_jobs", counted)
    _write(labels, BOM + data, stream_bytes=5_000)
    assert _build(dumps, tmp_path / "parts", num_proc=3) == 0
    assert parts[labels.name] >= 3
    assert _parquet_digests(tmp_path / "parts") == expected
    capsys.readouterr()
    without_footer = data[: data.rindex(b"# completed")]
    _write(labels, BOM + without_footer, stream_bytes=5_000)
    out = tmp_path / "cut"
    assert _build(dumps, out, num_proc=3) == 2
    assert capsys.readouterr().err == f"error: {labels}: {NO_FOOTER}\n"
    _assert_nothing_published(out)
    cut = without_footer[:-9]  # the last label's line, cut mid-way
    _write(labels, BOM + cut, stream_bytes=5_000)
    assert _build(dumps, out, num_proc=3) == 2
    line = cut.count(b"\n") + 1
    assert line == 3015 and parts[labels.name] >= 3
    assert capsys.readouterr().err == (
        f"error: {labels}:{line}: unterminated string literal in the object, {CUT_SHORT}\n"
    )
    _assert_nothing_published(out)


@pytest.mark.parametrize("suffix", [".bz2", ".gz", ".BZ2"])
def test_an_empty_compressed_dump_is_an_error(
    tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dumps = write_dumps(tmp_path / "dumps", suffix.lower())
    links = dumps / f"interlanguage_links_de.ttl{suffix}"
    (dumps / f"interlanguage_links_de.ttl{suffix.lower()}").rename(links)
    links.write_bytes(b"")
    out = tmp_path / "out"
    assert _build(dumps, out) == 2
    assert capsys.readouterr().err == (
        f"error: {links}: empty file (0 bytes), not a {suffix.lower()} archive: "
        "a failed download?\n"
    )
    _assert_nothing_published(out)
    plain = write_dumps(tmp_path / "plain")
    (plain / "interlanguage_links_de.ttl").write_bytes(b"")  # an empty plain dump is read
    assert _build(plain, out) == 0


@pytest.mark.parametrize(
    ("written", "named", "holds", "rename"),
    [(".gz", ".bz2", "gzip", ".gz"), (".bz2", ".gz", "bzip2", ".bz2"),
     (".gz", ".BZ2", "gzip", ".gz"), (".bz2", "", "bzip2", ".bz2")],
)  # fmt: skip
def test_a_dump_named_as_another_compression_says_what_it_holds(
    tmp_path: Path, written: str, named: str, holds: str, rename: str,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """A gzip file named `.bz2` (or a bzip2 one `.gz`) said "truncated or corrupt compressed
    file (Invalid data stream)": its first bytes say what it holds and what to call it."""
    dumps = write_dumps(tmp_path / "dumps", written)
    links = dumps / f"interlanguage_links_de.ttl{named}"
    (dumps / f"interlanguage_links_de.ttl{written}").rename(links)
    out = tmp_path / "out"
    assert _build(dumps, out) == 2
    said = f"named {named}" if named else "named as a plain file"
    assert capsys.readouterr().err == (
        f"error: {links}: holds {holds} data (its first bytes), but is {said}: rename it to "
        f"interlanguage_links_de.ttl{rename}\n"
    )
    _assert_nothing_published(out)


@pytest.mark.parametrize("suffix", ["", ".bz2", ".gz"])
def test_a_byte_order_mark_at_the_start_is_dropped(
    tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dumps = write_dumps(tmp_path / "dumps", suffix)
    assert _build(dumps, tmp_path / "plain") == 0
    expected, printed = _parquet_digests(tmp_path / "plain"), capsys.readouterr()
    # line 1: a fact, and DBpedia's `# started` line
    for name in ("mappingbased_objects_en.ttl", "labels_en.ttl"):
        path = dumps / f"{name}{suffix}"
        _write(path, BOM + _read(path))
    assert _build(dumps, tmp_path / "bom") == 0
    found = capsys.readouterr()
    assert _parquet_digests(tmp_path / "bom") == expected
    assert found.out.splitlines()[1:] == printed.out.splitlines()[1:]
    assert "(3 malformed lines skipped)" in found.out
    assert found.err == printed.err  # the same malformed lines (none on line 1)


@pytest.mark.parametrize("block_size", [1, 2, 3, 4, 1 << 16])
def test_the_ends_are_found_whatever_the_block_size(tmp_path: Path, block_size: int) -> None:
    """The byte-order mark, `# started` and `# completed` lines split between blocks."""
    line = b"<http://a/s> <http://a/p> <http://a/o> .\n"
    path = tmp_path / "d.nt"
    path.write_bytes(BOM + b"# started x\r\n" + line + b"# completed y\n\n \n")
    stats = ReadStats()
    assert len(list(read_triples(path, stats=stats, block_size=block_size))) == 1
    assert (stats.lines, stats.triples, stats.comments, stats.malformed) == (5, 1, 4, 0)
    path.write_bytes(BOM + b"# started x\r\n" + line + b"\n")
    with pytest.raises(DumpError, match="closing '# completed' line"):
        list(read_triples(path, block_size=block_size))
    path.write_bytes(BOM + line + line[:-3])
    with pytest.raises(DumpError, match=f"d.nt:2: expected ' .' after the object, {CUT_SHORT}"):
        list(read_triples(path, block_size=block_size))
