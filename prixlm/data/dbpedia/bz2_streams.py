"""Parts of a multi-stream `.bz2` dump, each decompressed on its own (Python's `bz2`).

pbzip2 and lbzip2 (and DBpedia's Databus tooling when it uses them) write a file as a
series of independent bzip2 streams, each a few hundred KB of input; `bzip2` itself writes
one stream. A stream starts at a byte boundary with its header and its first block's magic
(`BZh` + a level digit + `1AY&SY`), so `stream_starts` finds every stream by a byte search,
and `StreamPart` decompresses the streams that start in a byte range of the compressed file
with a fresh `bz2.BZ2Decompressor` each: a file of many streams is read by several
processes at once (`convert`). A one-stream file has one start and is read whole.

Lines cross streams, so the decompressed text is shared out by line ends: part k (of the
streams starting at compressed offsets `start:stop`) skips its text up to and including
its first LF (unless it is the first part) and reads on past its last stream into the next
ones up to and including the first LF there. A line is thus read by exactly one part, each
part is whole lines, and the parts' lines in order are the file's (`convert` adds up the
line numbers). A corrupt or truncated stream raises `OSError`/`EOFError` as `bz2.open` does,
and, as there, bytes after the last stream that are no stream are ignored; but a later
stream whose start is corrupt raises too (`bz2.open` took it, and the rest of the file, for
such bytes: the file ended there without an error). `open_dump` reads a whole `.bz2` file
through `StreamPart` for that reason.
"""

from __future__ import annotations

import bz2
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

STREAM_MAGIC = re.compile(rb"BZh[1-9]1AY&SY")
_SCAN_BYTES = 16 << 20
_CHUNK_BYTES = 1 << 18


def stream_starts(path: str | Path) -> list[int]:
    """The byte offsets at which the bzip2 streams of `path` start (0 first)."""
    starts: list[int] = []
    overlap = 9  # a magic split between two reads is found in the next
    with open(path, "rb") as handle:
        offset, tail = 0, b""
        while chunk := handle.read(_SCAN_BYTES):
            data = tail + chunk
            base = offset - len(tail)
            for match in STREAM_MAGIC.finditer(data):
                if not starts or base + match.start() > starts[-1]:
                    starts.append(base + match.start())
            offset += len(chunk)
            tail = data[-overlap:]
    return starts


def _decompressed(path: Path, start: int) -> Iterator[tuple[bytes, int]]:
    """The decompressed bytes of the streams from offset `start` on, in pieces, each with
    the offset at which its stream starts."""
    with open(path, "rb") as handle:
        handle.seek(start)
        position = start  # of the next byte to read
        stream_start = start
        decompressor = bz2.BZ2Decompressor()
        fresh = False
        data = b""
        while True:
            if not data:
                data = handle.read(_CHUNK_BYTES)
                if not data:
                    if not decompressor.eof and position > stream_start:
                        raise EOFError("compressed file ended before the end-of-stream marker")
                    return
                position += len(data)
            if fresh:  # after a stream's end, data that is no stream ends it (as `bz2.open`)
                try:
                    out = decompressor.decompress(data)
                except OSError:
                    if _stream_follows(handle, data):
                        raise OSError(
                            f"invalid data stream: the bzip2 stream at byte {stream_start} is "
                            "corrupt"
                        ) from None
                    return
                fresh = False
            else:
                out = decompressor.decompress(data)
            if decompressor.eof:  # the next stream starts after this one's last byte
                data = decompressor.unused_data
                if out:
                    yield out, stream_start
                stream_start = position - len(data)
                decompressor = bz2.BZ2Decompressor()
                fresh = True
            else:
                data = b""
                if out:
                    yield out, stream_start


def _stream_follows(handle: BinaryIO, data: bytes) -> bool:
    """Whether the bytes after a stream's end (`data`, then the rest of `handle`) hold a
    stream: a header (`BZh`) at their start, or a stream's magic anywhere in them."""
    if data.startswith(b"BZh") or STREAM_MAGIC.search(data):
        return True
    tail = data[-9:]  # a magic split between two reads
    while chunk := handle.read(_SCAN_BYTES):
        if STREAM_MAGIC.search(tail + chunk):
            return True
        tail = chunk[-9:]
    return False


def _owned(path: Path, start: int, stop: float) -> Iterator[bytes]:
    """The decompressed bytes of the part `start:stop` (module doc): whole lines."""
    skipping = start > 0
    for out, stream_start in _decompressed(path, start):
        beyond = stream_start >= stop
        if skipping:
            if beyond:  # the first line end is past the part's streams: no line starts here
                return
            end = out.find(b"\n")
            if end < 0:
                continue
            out, skipping = out[end + 1 :], False
        if beyond:  # the line under way ends at the next LF
            end = out.find(b"\n")
            if end >= 0:
                yield out[: end + 1]
                return
        if out:
            yield out


class StreamPart:
    """The decompressed lines of the streams of `path` that start in `start:stop`, read
    like a file (`read`, `close`, a context manager); `stop=None`: the whole file."""

    def __init__(self, path: str | Path, start: int = 0, stop: int | None = None) -> None:
        self._pieces = _owned(Path(path), start, stop if stop is not None else math.inf)
        self._buffer = bytearray()

    def __enter__(self) -> StreamPart:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._pieces.close()  # closes the file

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            piece = next(self._pieces, None)
            if piece is None:
                break
            self._buffer += piece
        if size < 0 or size >= len(self._buffer):
            data, self._buffer = bytes(self._buffer), bytearray()
            return data
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data


__all__ = ["STREAM_MAGIC", "StreamPart", "stream_starts"]
