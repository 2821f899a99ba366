"""The lines of a UTF-8 text file, each decoded on its own: bytes that are not UTF-8 raise
the reader's own error naming `file:line` (decoding the whole file named no line)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path


def utf8_lines(
    path: str | Path,
    error: type[ValueError] = ValueError,
    on_bytes: Callable[[int], None] | None = None,
) -> Iterator[tuple[int, str]]:
    """`(line number, line)` of the file, 1-based, without the line end (LF or CRLF) and
    without a leading byte order mark; `error("file:line: not UTF-8 (...)")` for a line that
    is not UTF-8. `on_bytes(n)` is told the bytes of each line (a progress bar)."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if on_bytes is not None:
                on_bytes(len(raw))
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as decoding:
                raise error(f"{path}:{number}: not UTF-8 ({decoding.reason})") from None
            yield number, line.rstrip("\r\n")
