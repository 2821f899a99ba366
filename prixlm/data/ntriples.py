"""A streaming reader for N-Triples and line-based Turtle dumps (DBpedia's `.ttl`/`.nt`).

One line, one triple: `<s> <p> <o> .`, `<s> <p> "literal"@lang .`,
`<s> <p> "literal"^^<datatype> .`, blank nodes `_:b1`, comment and blank lines. Plain,
`.bz2` and `.gz` files are read line by line, so memory does not grow with the file.

Terms come back as plain Python values:

* an IRI is a `str` (after `\\uXXXX`/`\\UXXXXXXXX` unescaping; percent-escapes are kept
  as written, see `canonical_iri`),
* a blank node is a `BlankNode` (a `str` subclass holding the label without `_:`),
* a literal is a `Literal(value, language, datatype)` with escapes resolved and the
  language tag lower-cased.

Most lines are taken apart with `str` methods, the others by regular expression, with the
same result (`prixlm.data.ntriples_grammar`).

A malformed line is counted in `ReadStats` and the first ones are kept as
`file:line: reason`; with `strict=True` the first one raises `MalformedLineError`. A missing
file, a truncated or corrupt compressed file and invalid UTF-8 raise `DumpError` naming the
file (and the line, where there is one).

Example::

    stats = ReadStats()
    for subject, predicate, obj in read_triples("labels_de.ttl.bz2", stats=stats):
        ...
    print(stats.summary())
"""

from __future__ import annotations

import bz2
import gzip
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, NamedTuple
from urllib.parse import unquote

from tqdm.auto import tqdm

from prixlm.data.ntriples_grammar import (
    BAD_GROUP,
    FLAG,
    LINE,
    RDF_LANG_STRING,
    TRIPLE,
    LookupCache,
    check_iri,
    check_literal_parts,
    diagnose,
    find_rare_lines,
    has_rare_bytes,
    split_escaped_literal,
    unescape,
)

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


class Literal(NamedTuple):
    """An RDF literal: its lexical `value`, lower-cased `language` tag or `datatype` IRI."""

    value: str
    language: str | None = None
    datatype: str | None = None


class BlankNode(str):
    """A blank node label (without the `_:` prefix)."""

    __slots__ = ()


Node = str | BlankNode | Literal
Triple = tuple[str, str, Node]


class DumpError(Exception):
    """A dump file cannot be read: missing, truncated, corrupt, or not UTF-8."""


class MalformedLineError(DumpError):
    """A line that is not a triple (raised in strict mode)."""

    def __init__(self, path: str, line_number: int, reason: str) -> None:
        super().__init__(f"{path}:{line_number}: {reason}")
        self.path = path
        self.line_number = line_number
        self.reason = reason


@dataclass
class ReadStats:
    """Counts for one or more files read with `read_triples`.

    `errors` keeps the first `max_reported` malformed lines as `file:line: reason`.
    """

    lines: int = 0
    triples: int = 0
    comments: int = 0
    malformed: int = 0
    errors: list[str] = field(default_factory=list)
    max_reported: int = 10

    def report(self, path: str, line_number: int, reason: str) -> None:
        """Count one malformed line and keep its message if fewer than `max_reported` are."""
        self.malformed += 1
        if len(self.errors) < self.max_reported:
            self.errors.append(f"{path}:{line_number}: {reason}")

    def summary(self) -> str:
        """One line of counts, then the reported malformed lines."""
        head = (
            f"{self.lines} lines: {self.triples} triples, {self.comments} comment/blank, "
            f"{self.malformed} malformed"
        )
        return "\n".join([head, *(f"  {e}" for e in self.errors)])


_new_tuple = tuple.__new__


def _make_triple(groups: tuple[str | None, ...]) -> Triple:
    """A triple from the eight groups of `TRIPLE`; `ValueError` for a bad escape."""
    s_iri, s_bnode, predicate, o_iri, o_bnode, value, language, datatype = groups[:8]
    subject: str = BlankNode(s_bnode) if s_iri is None else s_iri
    if s_iri is not None and "\\" in s_iri:
        subject = unescape(s_iri, allow_echar=False)
    if "\\" in predicate:
        predicate = unescape(predicate, allow_echar=False)
    if o_iri is not None:
        if "\\" in o_iri:
            o_iri = unescape(o_iri, allow_echar=False)
        return subject, predicate, o_iri
    if o_bnode is not None:
        return subject, predicate, BlankNode(o_bnode)
    if "\\" in value:
        value = unescape(value, allow_echar=True)
    if language is not None:
        return subject, predicate, Literal(value, language.lower(), None)
    if datatype is not None and "\\" in datatype:
        datatype = unescape(datatype, allow_echar=False)
    if datatype == RDF_LANG_STRING:
        raise ValueError("rdf:langString literal without a language tag")
    return subject, predicate, Literal(value, None, datatype)


def parse_line(line: str) -> Triple | None:
    """One N-Triples line to `(subject, predicate, object)`; `None` for comments and blanks.

    Raises `ValueError(reason)` when the line is not a triple.
    """
    match = TRIPLE.fullmatch(line)
    if match is None:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            return None
        raise ValueError(diagnose(line))
    return _make_triple(match.groups())


def _read_line(line: str) -> Triple | str | None:
    """One line (without its newline) by the full grammar, as `read_triples` reads it:
    the triple, `None` for a comment or blank line, or why the line is not a triple."""
    match = LINE.match(line + "\n")
    last = match.lastindex  # which group closed last tells the kind of line (see `LINE`)
    if last is None:
        return None
    if last == BAD_GROUP:
        return diagnose(line)
    if last <= 6:  # no escapes and no blank nodes
        subject, predicate, obj, value, language, datatype = match.groups()[:6]
        if obj is not None:
            return subject, predicate, obj
        if language is not None:
            return subject, predicate, _new_tuple(Literal, (value, language.lower(), None))
        if datatype == RDF_LANG_STRING:
            return "rdf:langString literal without a language tag"
        return subject, predicate, _new_tuple(Literal, (value, None, datatype))
    try:
        return _make_triple(match.groups()[6:14])
    except ValueError as err:
        return str(err)


def open_dump(path: str | Path) -> BinaryIO:
    """Open a plain, `.bz2` or `.gz` dump for binary reading; `DumpError` if it is missing."""
    path = Path(path)
    if not path.is_file():
        raise DumpError(f"{path}: no such dump file")
    if path.suffix == ".bz2":
        return bz2.open(path, "rb")
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    return open(path, "rb")


def _lines_in_blocks(
    handle: BinaryIO, name: str, block_size: int
) -> Iterator[tuple[int, list[str]]]:
    """Whole lines, decoded, in blocks of about `block_size` bytes.

    Yields `(number of the block's first line, lines without their newlines)`, the lines
    that hold a rare character marked (`find_rare_lines`); `DumpError` for
    invalid UTF-8.
    """
    first_line = 1
    pending = b""
    while True:
        block = handle.read(block_size)
        if not block:
            if not pending:
                return
            data, pending = pending + b"\n", b""
        else:
            data = pending + block
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                pending = data
                continue
            data, pending = data[:cut], data[cut:]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            line = first_line + data.count(b"\n", 0, err.start)
            column = err.start - data.rfind(b"\n", 0, err.start)
            raise DumpError(
                f"{name}:{line}: invalid UTF-8 (byte {data[err.start]:#04x} at column {column})"
            ) from None
        lines = text.split("\n")
        lines.pop()  # the empty string after the last newline
        if has_rare_bytes(data, len(lines)):
            find_rare_lines(text, lines)
        yield first_line, lines
        first_line += len(lines)


def read_triples(
    path: str | Path,
    *,
    strict: bool = False,
    stats: ReadStats | None = None,
    progress: bool = False,
    block_size: int = 1 << 16,
) -> Iterator[Triple]:
    """Yield the triples of one dump file, streaming.

    Args:
        path: a plain, `.bz2` or `.gz` N-Triples / line-Turtle file.
        strict: raise `MalformedLineError` at the first malformed line instead of counting it.
        stats: counts lines, triples, comments and malformed lines (with the first reasons).
        progress: show a tqdm line counter.
        block_size: bytes decoded and split at a time (memory stays within a few blocks;
            64 KiB measured fastest, 256 KiB about 8% slower).
    """
    name = str(path)
    stats = stats if stats is not None else ReadStats()
    bar = tqdm(desc=Path(name).name, unit=" lines", unit_scale=True, disable=not progress)
    line_number = 0
    triples = 0
    # Validated predicates: bare, and `(head, tail)` around a literal (`check_literal_parts`).
    predicates, literal_parts = LookupCache(check_iri), LookupCache(check_literal_parts)
    predicate_of, literal_parts_of = predicates.get, literal_parts.get
    new_tuple = _new_tuple
    try:
        with open_dump(path) as handle:
            for first_line, lines in _lines_in_blocks(handle, name, block_size):
                searched = 0  # where to look for the next malformed line in `lines`
                for line in lines:
                    # The fast path: the common shapes taken apart with `str` methods, each
                    # piece checked for what the grammar forbids there and the split did not
                    # rule out (`ntriples_grammar` explains the rest).
                    try:
                        if line[0] == "<":
                            if '"' not in line:  # <s> <p> <o> .
                                if "\\" not in line and "^" not in line and line.endswith("> ."):
                                    subject, predicate, obj = line[1:-3].split("> <")
                                    if not (
                                        " " in subject
                                        or "<" in subject
                                        or ">" in subject
                                        or " " in obj
                                        or "<" in obj
                                        or ">" in obj
                                    ):
                                        iri = predicate_of(predicate) or predicates.miss(predicate)
                                        if iri is not None:
                                            triples += 1
                                            yield subject, iri, obj
                                            continue
                            else:  # <s> <p> "value"<tail>, where `head` is "<p> "
                                subject, _, rest = line.partition(" ")
                                if "\\" not in line:
                                    head, value, tail = rest.split('"')
                                else:  # `ValueError` unless all escapes are in the value
                                    head, value, tail = split_escaped_literal(subject, rest)
                                key = head, tail
                                found = literal_parts_of(key) or literal_parts.miss(key)
                                if found and subject[-1] == ">":
                                    subject = subject[1:-1]
                                    if not (
                                        '"' in subject
                                        or "<" in subject
                                        or ">" in subject
                                        or "^" in subject
                                    ):
                                        iri, language, datatype = found
                                        literal = new_tuple(Literal, (value, language, datatype))
                                        triples += 1
                                        yield subject, iri, literal
                                        continue
                        elif line[0] == "#":
                            stats.comments += 1
                            continue
                    except (IndexError, ValueError):  # an empty line, other pieces
                        pass
                    # Anything else: the full grammar.
                    result = _read_line(line[1:] if line[:1] == FLAG else line)
                    if result is None:
                        stats.comments += 1
                    elif type(result) is tuple:
                        triples += 1
                        yield result
                    else:
                        searched = lines.index(line, searched) + 1
                        if strict:
                            raise MalformedLineError(name, first_line + searched - 1, result)
                        stats.report(name, first_line + searched - 1, result)
                line_number = first_line + len(lines) - 1
                bar.update(len(lines))
    except (EOFError, OSError, zlib.error) as err:
        where = f"{name}:{line_number + 1}" if line_number else name
        raise DumpError(f"{where}: truncated or corrupt compressed file ({err})") from None
    finally:
        stats.lines += line_number
        stats.triples += triples
        bar.close()


def canonical_iri(iri: str) -> str:
    """The IRI form of an IRI: percent-escapes of non-ASCII UTF-8 decoded, others kept.

    DBpedia's `.ttl` files write `http://de.dbpedia.org/resource/Köln` where its `.nt`
    files write `.../K%C3%B6ln`; both name one resource. ASCII escapes such as `%22` or
    `%2F` stay as they are because decoding them could change the IRI's meaning.
    """
    if "%" not in iri:
        return iri
    return re.sub(
        r"(?:%[89A-Fa-f][0-9A-Fa-f])+",
        lambda m: unquote(m.group(), errors="strict") if _is_utf8(m.group()) else m.group(),
        iri,
    )


def _is_utf8(escaped: str) -> bool:
    try:
        bytes.fromhex(escaped.replace("%", "")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


__all__ = [
    "BlankNode",
    "DumpError",
    "Literal",
    "MalformedLineError",
    "Node",
    "ReadStats",
    "Triple",
    "canonical_iri",
    "open_dump",
    "parse_line",
    "read_triples",
]
