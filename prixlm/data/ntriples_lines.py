"""Dump files to blocks of decoded lines, for `prixlm.data.ntriples.read_triples`.

A plain, `.bz2` or `.gz` file is read `block_size` bytes at a time and cut after its last
line end, so that every block holds whole lines. Line ends are any of LF, CRLF and CR
(N-Triples: `EOL ::= [#xD#xA]+`; each CRLF, CR or LF ends one line, as in Python and
rdflib, so that line numbers match an editor's); the blocks hold them as LF.

A line that spans blocks is kept as a list of pieces and joined once, when its end comes:
time and memory stay linear in the line's length, and a line longer than `max_line_bytes`
raises `DumpError` as soon as it is seen, before it fills the memory.

A file is checked at its ends only (no work per line): a UTF-8 byte-order mark at its
start is dropped; a last line without a line end is marked (`LineBlock.open_end`: the
readers take it for a cut-short file unless it is a triple, comment or blank line); a file
that opens with DBpedia's `# started` line must close with its `# completed` line (the
last line that is not blank), or it was cut short.

Errors name the file and line: a missing file, an empty (0-byte) compressed file, invalid
UTF-8, a truncated or corrupt compressed file, a cut-short DBpedia dump. A corrupt `.bz2`
or `.gz` may first give garbage (its checksum is checked only at the end of a bzip2 block
or a gzip member), so invalid UTF-8 in a compressed file is reported as a corrupt file
when the rest of the stream proves it is one.
"""

from __future__ import annotations

import bz2
import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, NamedTuple

import numpy as np

from prixlm.data.dbpedia.bz2_streams import StreamPart

DEFAULT_MAX_LINE_BYTES = 16 << 20  # 16 MiB; DBpedia's longest lines (abstracts) are a few KB
# Decompressed bytes read past invalid UTF-8 to find a checksum error: more than a bzip2
# block decompresses to (900 kB of input, after run-length expansion up to about 46 MB).
CORRUPTION_LOOKAHEAD = 64 << 20
COMPRESSION_ERRORS = (EOFError, OSError, zlib.error)
BOM = b"\xef\xbb\xbf"  # UTF-8 byte-order mark
DBPEDIA_HEADER = b"# started"  # DBpedia's first line: `# started <date>` ...
DBPEDIA_FOOTER = b"# completed"  # ... and its last: `# completed <date>`


class DumpError(Exception):
    """A dump file cannot be read: missing, truncated, corrupt, not UTF-8, or a line too long."""


class LineBlock(NamedTuple):
    """Whole lines of a dump: `data` (UTF-8, each line ending in LF), its `text`, and
    `lines`, the text split at the line ends, the first one line number `first_line`;
    `open_end`: the last line had no line end in the file (the file's last line)."""

    first_line: int
    data: bytes
    text: str
    lines: list[str]
    open_end: bool = False


def open_dump(path: str | Path) -> BinaryIO:
    """Open a plain, `.bz2` or `.gz` dump for binary reading; `DumpError` if it is missing
    or an empty (0-byte) compressed file (no archive: a failed download, not an empty
    dump, which compresses to some bytes)."""
    path = Path(path)
    if not path.is_file():
        raise DumpError(f"{path}: no such dump file")
    try:
        suffix = path.suffix.lower()  # the dump names match in any case (.BZ2)
        if suffix in (".bz2", ".gz") and path.stat().st_size == 0:
            raise DumpError(
                f"{path}: empty file (0 bytes), not a {suffix} archive: a failed download?"
            )
        _check_compression(path, suffix)
        if suffix == ".bz2":  # not `bz2.open`: a corrupt later stream ended the file quietly
            return StreamPart(path)  # type: ignore[return-value]
        if suffix == ".gz":
            return gzip.open(path, "rb")
        return open(path, "rb")
    except OSError as err:
        raise DumpError(f"{path}: cannot open the dump file ({err})") from None


#: The compressions a dump may be in, by the bytes a file of each starts with.
MAGIC = {".gz": (b"\x1f\x8b", "gzip"), ".bz2": (b"BZh", "bzip2")}


def _check_compression(path: Path, suffix: str) -> None:
    """`DumpError` where `path`'s first bytes are those of another compression than its
    name says (a gzip file named `.bz2`, a bzip2 file named `.gz` or with no such suffix),
    naming the compression it holds and the name to give it; "truncated or corrupt
    compressed file" said neither."""
    with open(path, "rb") as handle:
        head = handle.read(3)
    for other, (magic, what) in MAGIC.items():
        if other == suffix or not head.startswith(magic):
            continue
        base = path.name[: -len(suffix)] if suffix in MAGIC else path.name
        said = f"named {path.suffix}" if suffix in MAGIC else "named as a plain file"
        raise DumpError(
            f"{path}: holds {what} data (its first bytes), but is {said}: rename it to "
            f"{base + other}"
        )


def opens_as_dbpedia_dump(path: str | Path) -> bool:
    """Whether the dump `path` opens with DBpedia's `# started` line (after a byte-order
    mark): for a part of it that ends at its end (`line_blocks(header=...)`)."""
    with open_dump(path) as handle:
        head = handle.read(len(BOM) + len(DBPEDIA_HEADER))
    return head.removeprefix(BOM).startswith(DBPEDIA_HEADER)


def _last_line(block: bytes) -> bytes:
    """The last line of `block` (whole lines) that is not blank."""
    body = block.rstrip()
    return body[body.rfind(b"\n") + 1 :]


def _cut_short(name: str) -> DumpError:
    return DumpError(
        f"{name}: DBpedia dump without its closing '# completed' line: cut short? (it opens "
        "with '# started'; an excerpt must end with a '# completed' line too)"
    )


def _to_lf(block: bytes, after_cr: bool) -> tuple[bytes, bool]:
    """`block` with every CRLF and CR as LF, and whether it ended in CR.

    `after_cr`: the block before ended in CR, so a LF at the start of this one completes
    that CRLF and is dropped.
    """
    if after_cr and block[:1] == b"\n":
        block = block[1:]
    return block.replace(b"\r\n", b"\n").replace(b"\r", b"\n"), block[-1:] == b"\r"


def _too_long(name: str, line: int, max_line_bytes: int) -> DumpError:
    return DumpError(
        f"{name}:{line}: line longer than {max_line_bytes} bytes; "
        f"raise it with max_line_bytes=... (e.g. {2 * max_line_bytes}) if the file is right"
    )


def line_blocks(
    handle: BinaryIO,
    name: str,
    block_size: int = 1 << 16,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    split: bool = True,
    *,
    at_start: bool = True,
    at_end: bool = True,
    header: bool = False,
) -> Iterator[LineBlock]:
    """The lines of an open dump, decoded, in blocks of about `block_size` bytes.

    Args:
        handle: the file (`open_dump`), read from its current position to its end.
        name: the file's name in error messages.
        block_size: bytes read at a time; at most `max_line_bytes` are.
        max_line_bytes: the longest line allowed, in bytes without its line end.
        split: `False` leaves each block's `lines` empty and, for valid UTF-8 (checked all
            the same, by Arrow: faster than decoding), its `text` too: `data` only, for a
            caller that splits `data` itself.
        at_start: `handle` starts at the file's start: a byte-order mark is dropped and the
            first line tells whether the file is a DBpedia dump (`# started`).
        at_end: `handle` ends at the file's end: a DBpedia dump must close with its
            `# completed` line there.
        header: for a part that does not start at the file's start: whether the file opens
            with `# started` (`opens_as_dbpedia_dump`).

    Raises `DumpError` for invalid UTF-8, a line longer than `max_line_bytes` and a DBpedia
    dump without its `# completed` line (after its last block); the compressed stream's
    own errors (`COMPRESSION_ERRORS`) pass through.
    """
    if not isinstance(max_line_bytes, int) or max_line_bytes < 1:
        raise ValueError(
            f"max_line_bytes must be a positive number of bytes, got {max_line_bytes!r}"
        )
    # A line within one block is shorter than the block: only lines that span blocks need
    # checking against the limit.
    block_size = max(1, min(block_size, max_line_bytes))
    first_line = 1
    unfinished: list[bytes] = []  # the pieces of the line that the last block left open
    unfinished_bytes = 0
    after_cr = False
    # The file's first bytes, without a byte-order mark, read before its blocks.
    pending = _head(handle, block_size) if at_start else []
    dbpedia: bool | None = None if at_start else header  # None: found from the first line
    last = b""  # the last block that is not all blank, of a DBpedia dump
    while True:
        block = pending.pop() if pending else handle.read(block_size)
        if not block:
            if unfinished:  # a last line without a line end
                data = b"".join(unfinished) + b"\n"
                if dbpedia is None:
                    dbpedia = data.startswith(DBPEDIA_HEADER)
                if dbpedia and not data.isspace():
                    last = data
                yield _decode(data, first_line, handle, name, split)._replace(open_end=True)
            if at_end and dbpedia and not _last_line(last).startswith(DBPEDIA_FOOTER):
                raise _cut_short(name)
            return
        if after_cr or b"\r" in block:
            block, after_cr = _to_lf(block, after_cr)
            if not block:  # the LF of a CRLF whose CR ended the last block
                continue
        cut = block.rfind(b"\n") + 1
        if cut == 0:  # the open line goes on
            unfinished.append(block)
            unfinished_bytes += len(block)
            if unfinished_bytes > max_line_bytes:
                raise _too_long(name, first_line, max_line_bytes)
            continue
        if unfinished:
            if unfinished_bytes + block.index(b"\n") > max_line_bytes:
                raise _too_long(name, first_line, max_line_bytes)
            unfinished.append(block[:cut])
            data = b"".join(unfinished)
            unfinished.clear()
        else:
            data = block[:cut] if cut < len(block) else block
        if cut < len(block):
            unfinished.append(block[cut:])
        unfinished_bytes = len(block) - cut
        del block  # not held while the caller reads the lines
        if dbpedia is None:  # the file's first line
            dbpedia = data.startswith(DBPEDIA_HEADER)
        if dbpedia and not data.isspace():  # stops at the first byte that is not blank
            last = data
        lines = _decode(data, first_line, handle, name, split)
        yield lines
        first_line += len(lines.lines) if split else count_lines(data)
        del lines  # freed before the next block is read


def _head(handle: BinaryIO, block_size: int) -> list[bytes]:
    """The file's first bytes (up to a byte-order mark's length), without a byte-order mark,
    in blocks of at most `block_size`, last first (for `list.pop`)."""
    head = handle.read(len(BOM))
    if head == BOM:
        return []
    return [head[i : i + block_size] for i in range(0, len(head), block_size)][::-1]


def _is_utf8(data: bytes) -> bool:
    """Whether `data` is valid UTF-8 (Arrow's check, as strict as Python's decoder; on
    `False` the decoder is asked again and reports the error)."""
    import pyarrow as pa  # only here: the Python reader does not need it

    offsets = pa.py_buffer(np.array([0, len(data)], np.int64))
    text = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def count_lines(data: bytes) -> int:
    """The number of LF in `data` (numpy: several times faster than `bytes.count`)."""
    return int(np.count_nonzero(np.frombuffer(data, np.uint8) == 10))


def _decode(
    data: bytes, first_line: int, handle: BinaryIO, name: str, split: bool = True
) -> LineBlock:
    """`data`, whole lines ending in LF, as a `LineBlock` (`lines` left empty unless
    `split`); `DumpError` for invalid UTF-8."""
    if not split and _is_utf8(data):
        return LineBlock(first_line, data, "", [])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = first_line + data.count(b"\n", 0, err.start)
        column = err.start - data.rfind(b"\n", 0, err.start)
        where = f"{name}:{line}"
        _raise_if_corrupt(handle, where)
        raise DumpError(
            f"{where}: invalid UTF-8 (byte {data[err.start]:#04x} at column {column})"
        ) from None
    if not split:
        return LineBlock(first_line, data, text, [])
    lines = text.split("\n")
    lines.pop()  # the empty string after the last line end
    return LineBlock(first_line, data, text, lines)


def _raise_if_corrupt(handle: BinaryIO, where: str) -> None:
    """Raise `DumpError` if `handle` is a compressed stream that fails within the next
    `CORRUPTION_LOOKAHEAD` decompressed bytes (then the invalid UTF-8 was its garbage)."""
    if not isinstance(handle, (bz2.BZ2File, gzip.GzipFile, StreamPart)):
        return
    try:
        remaining = CORRUPTION_LOOKAHEAD
        while remaining > 0 and (chunk := handle.read(min(remaining, 1 << 20))):
            remaining -= len(chunk)
    except COMPRESSION_ERRORS as err:
        raise DumpError(
            f"{where}: truncated or corrupt compressed file ({err}; "
            "it decompressed to invalid UTF-8 here)"
        ) from None


__all__ = [
    "BOM",
    "COMPRESSION_ERRORS",
    "DEFAULT_MAX_LINE_BYTES",
    "DumpError",
    "LineBlock",
    "count_lines",
    "line_blocks",
    "open_dump",
    "opens_as_dbpedia_dump",
]
