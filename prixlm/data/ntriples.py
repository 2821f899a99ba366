"""A streaming reader for N-Triples and line-based Turtle dumps (DBpedia's `.ttl`/`.nt`).

One line, one triple: `<s> <p> <o> .`, `<s> <p> "literal"@lang .`,
`<s> <p> "literal"^^<datatype> .`, blank nodes `_:b1`, comment and blank lines; IRIs are
absolute (`scheme:...`). Plain, `.bz2` and `.gz` files with LF, CRLF or CR line ends are read
in blocks of lines (`prixlm.data.ntriples_lines`), so memory does not grow with the file,
and a line longer than `max_line_bytes` (16 MiB by default) is an error.

Terms come back as plain Python values:

* an IRI is a `str` (after `\\uXXXX`/`\\UXXXXXXXX` unescaping; percent-escapes are kept
  as written, see `canonical_iri`),
* a blank node is a `BlankNode` (a `str` subclass holding the label without `_:`),
* a literal is a `Literal(value, language, datatype)` with escapes resolved and the
  language tag lower-cased.

Most lines are taken apart with `str` methods (`_iri_triple`, `_literal_triple`), the others
by regular expression, with the same result (`prixlm.data.ntriples_grammar`).

A malformed line is counted in `ReadStats` and the first ones are kept as
`file:line: reason`; with `strict=True` the first one raises `MalformedLineError`. A
malformed last line without a line end is a file cut short: it raises `MalformedLineError`
in any mode (`cut_short_line`). A missing file, an empty compressed file, a truncated or
corrupt compressed file, a DBpedia dump without its `# completed` line, invalid UTF-8 and a
line too long raise `DumpError` naming the file (and the line, where there is one).

Example::

    stats = ReadStats()
    for subject, predicate, obj in read_triples("labels_de.ttl.bz2", stats=stats):
        ...
    print(stats.summary())
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from prixlm.data.iri_chars import percent_encoded, raw_non_ascii_ok
from prixlm.data.ntriples_grammar import (
    FLAG,
    LINE,
    PLAIN_GROUPS,
    RARE,
    RDF_LANG_STRING,
    TRIPLE,
    TRIPLE_GROUPS,
    LookupCache,
    check_iri,
    check_literal_parts,
    diagnose,
    find_rare_lines,
    has_rare_bytes,
    split_escaped_literal,
    unescape,
)
from prixlm.data.ntriples_lines import (
    COMPRESSION_ERRORS,
    DEFAULT_MAX_LINE_BYTES,
    DumpError,
    line_blocks,
    open_dump,
)
from prixlm.library_bars import progress_bar

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


class MalformedLineError(DumpError):
    """A line that is not a triple (raised in strict mode, and for the last line of a file
    cut short: `cut_short_line`)."""

    def __init__(self, path: str, line_number: int, reason: str) -> None:
        super().__init__(f"{path}:{line_number}: {reason}")
        self.path = path
        self.line_number = line_number
        self.reason = reason

    def __reduce__(self) -> tuple:  # picklable: raised in the build's worker processes
        return type(self), (self.path, self.line_number, self.reason)


def cut_short_line(path: str, line_number: int, reason: str) -> MalformedLineError:
    """The error for a malformed last line without a line end: the file was cut short
    (a last line without a line end that is a triple is read: hand-written files)."""
    return MalformedLineError(
        path, line_number, f"{reason}, on the last line, which has no line end: file cut short?"
    )


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


def _make_triple(match: re.Match[str]) -> Triple:
    """A triple from a match of `TRIPLE` (or of its part of `LINE`); `ValueError` for a bad
    escape."""
    s_iri, s_bnode, predicate, o_iri, o_bnode, value, language, datatype = match.group(
        *TRIPLE_GROUPS
    )
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
    return _make_triple(match)


def _read_line(line: str) -> Triple | str | None:
    """One line (without its line end) by the full grammar, as `read_triples` reads it:
    the triple, `None` for a comment or blank line, or why the line is not a triple."""
    match = LINE.match(line + "\n")
    if match.lastgroup is None:  # no group matched: a comment or blank line
        return None
    if match.lastgroup == "bad":
        return diagnose(line)
    if match["plain_subject"] is not None:  # no escapes, no blank nodes: terms as written
        subject, predicate, obj, value, language, datatype = match.group(*PLAIN_GROUPS)
        if obj is not None:
            return subject, predicate, obj
        if language is not None:
            return subject, predicate, _new_tuple(Literal, (value, language.lower(), None))
        if datatype == RDF_LANG_STRING:
            return "rdf:langString literal without a language tag"
        return subject, predicate, _new_tuple(Literal, (value, None, datatype))
    try:
        return _make_triple(match)
    except ValueError as err:
        return str(err)


# --- The fast path: the common line shapes, taken apart with `str` methods --------------
# Each piece is checked for what the grammar forbids there and the split did not rule out;
# a line that fails any check goes to the full grammar (`_read_line`), which is the
# reference. Only IRIs with the scheme `http:` or `https:` (all of DBpedia's) are taken
# here, checked by comparing strings (`"http:" <= iri < "http;"`: the cheapest anchored
# test in CPython): the full grammar checks any other scheme, and rejects relative IRIs.
_PREDICATES = LookupCache(check_iri)  # validated bare predicates
_LITERAL_PARTS = LookupCache(check_literal_parts)  # validated `(head, tail)` of a literal
_predicate_of, _literal_parts_of = _PREDICATES.get, _LITERAL_PARTS.get


def _iri_triple(line: str) -> Triple | None:
    """`<subject> <predicate> <object> .`, single spaces, no escapes, `line` starting with
    `<http:` or `<https:`: the triple, or `None` (any other line, for the full grammar)."""
    if "\\" in line or "^" in line or not line.endswith("> ."):
        return None
    try:
        subject, predicate, obj = line[1:-3].split("> <")
    except ValueError:  # not three IRIs so separated
        return None
    if " " in subject or "<" in subject or ">" in subject:
        return None
    if " " in obj or "<" in obj or ">" in obj:
        return None
    if not ("http:" <= obj < "http;" or "https:" <= obj < "https;"):
        return None  # another scheme, or a relative IRI
    predicate = _predicate_of(predicate) or _PREDICATES.miss(predicate)
    if predicate is None:
        return None
    return subject, predicate, obj


def _literal_triple(line: str) -> Triple | None:
    """`<subject> <predicate> "value"` then `@lang .`, `^^<datatype> .` or ` .`, single
    spaces, escapes only in the value, `line` starting with `<http:` or `<https:`: the
    triple, or `None` (any other line, for the full grammar)."""
    subject, _, rest = line.partition(" ")
    try:
        if "\\" not in line:
            head, value, tail = rest.split('"')  # head: "<predicate> "
        else:  # resolves the escapes of the value
            head, value, tail = split_escaped_literal(subject, rest)
    except ValueError:  # quotes in the value, escapes outside it, an invalid escape
        return None
    key = head, tail
    parts = _literal_parts_of(key) or _LITERAL_PARTS.miss(key)
    if parts is None or subject[-1] != ">":
        return None
    subject = subject[1:-1]
    if '"' in subject or "<" in subject or ">" in subject or "^" in subject:
        return None
    predicate, language, datatype = parts
    return subject, predicate, _new_tuple(Literal, (value, language, datatype))


def read_line(line: str) -> Triple | str | None:
    """One line (without its line end) as `read_triples` reads it: the triple, `None` for a
    comment or blank line, or why the line is malformed.

    For callers that pick lines out one at a time (`prixlm.data.dbpedia.read_blocks`);
    `read_triples` runs the same steps inline, finding the rare characters a block at a time.
    """
    if RARE.search(line):  # `read_triples` marks the line for the full grammar
        return _read_line(line)
    if "<http:" <= line < "<http;" or "<https:" <= line < "<https;":
        triple = _literal_triple(line) if '"' in line else _iri_triple(line)
        if triple is not None:
            return triple
    elif line[:1] == "#":
        return None
    return _read_line(line)


def read_triples(
    path: str | Path,
    *,
    strict: bool = False,
    stats: ReadStats | None = None,
    progress: bool = False,
    block_size: int = 1 << 16,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Iterator[Triple]:
    """Yield the triples of one dump file, streaming.

    Args:
        path: a plain, `.bz2` or `.gz` N-Triples / line-Turtle file (LF, CRLF or CR line
            ends).
        strict: raise `MalformedLineError` at the first malformed line instead of counting it.
        stats: counts lines, triples, comments and malformed lines (with the first reasons).
        progress: show a tqdm line counter.
        block_size: bytes decoded and split at a time (memory stays within a few blocks;
            64 KiB measured fastest, 256 KiB about 8% slower).
        max_line_bytes: the longest line allowed (16 MiB by default); a longer one raises
            `DumpError` naming the file and line, before it fills the memory.
    """
    name = str(path)
    stats = stats if stats is not None else ReadStats()
    handle = open_dump(path)
    bar = progress_bar(desc=Path(name).name, unit=" lines", unit_scale=True, disable=not progress)
    line_number = 0
    triples = 0
    try:
        for block in line_blocks(handle, name, block_size, max_line_bytes):
            lines, first_line, open_end = block.lines, block.first_line, block.open_end
            if has_rare_bytes(block.data, len(lines)):
                find_rare_lines(block.text, lines)  # those lines now start with FLAG
            del block  # only the lines are held from here (memory: about one block)
            searched = 0  # where to look for the next malformed line in `lines`
            for line in lines:
                # The line starts with an IRI of scheme http or https: try the common shapes.
                if "<http:" <= line < "<http;" or "<https:" <= line < "<https;":
                    triple = _literal_triple(line) if '"' in line else _iri_triple(line)
                    if triple is not None:
                        triples += 1
                        yield triple
                        continue
                elif line[:1] == "#":
                    stats.comments += 1
                    continue
                result = _read_line(line[1:] if line[:1] == FLAG else line)
                if result is None:
                    stats.comments += 1
                elif type(result) is tuple:
                    triples += 1
                    yield result
                else:  # why the line is malformed
                    searched = lines.index(line, searched) + 1
                    if open_end and searched == len(lines):
                        raise cut_short_line(name, first_line + searched - 1, result)
                    if strict:
                        raise MalformedLineError(name, first_line + searched - 1, result)
                    stats.report(name, first_line + searched - 1, result)
            line_number = first_line + len(lines) - 1
            bar.update(len(lines))
    except COMPRESSION_ERRORS as err:
        where = f"{name}:{line_number + 1}" if line_number else name
        raise DumpError(f"{where}: truncated or corrupt compressed file ({err})") from None
    finally:
        handle.close()
        stats.lines += line_number
        stats.triples += triples
        bar.close()


def canonical_iri(iri: str) -> str:
    """The IRI form of an IRI: percent-escapes of non-ASCII UTF-8 decoded, others kept, as
    are those of characters an IRI does not hold raw (white space, bidirectional formatting:
    RFC 3987 3.2), so that an exported `%E2%80%8F` stays one.

    DBpedia's `.ttl` files write `http://de.dbpedia.org/resource/Köln` where its `.nt`
    files write `.../K%C3%B6ln`; both name one resource. ASCII escapes such as `%22` or
    `%2F` stay as they are because decoding them could change the IRI's meaning.
    """
    if "%" not in iri:
        return iri
    return re.sub(r"(?:%[89A-Fa-f][0-9A-Fa-f])+", lambda m: _decode_run(m.group()), iri)


def _decode_run(escaped: str) -> str:
    """A run of `%XX` escapes of bytes >= 0x80: each valid UTF-8 sequence decoded, the
    bytes of no valid sequence kept as written (a whole run was kept for one bad byte, so
    `%C3%B6%FF` did not join `ö%FF`)."""
    raw = bytes.fromhex(escaped.replace("%", ""))
    pieces, done = [], 0
    while done < len(raw):
        try:
            pieces.append(_kept_raw(raw[done:].decode("utf-8")))
            break
        except UnicodeDecodeError as error:
            bad, after = done + error.start, done + error.end
            pieces.append(_kept_raw(raw[done:bad].decode("utf-8")))
            pieces.append(escaped[3 * bad : 3 * after])
            done = after
    return "".join(pieces)


def _kept_raw(decoded: str) -> str:
    """`decoded` with the characters an IRI does not hold raw (white space, bidirectional
    formatting, no `ucschar`: `prixlm.data.iri_chars`) escaped again, in upper-case hex as
    the exporters write them."""
    if all(raw_non_ascii_ok(char) for char in decoded):
        return decoded
    return "".join(char if raw_non_ascii_ok(char) else percent_encoded(char) for char in decoded)


__all__ = [
    "BlankNode",
    "DumpError",
    "Literal",
    "MalformedLineError",
    "Node",
    "ReadStats",
    "Triple",
    "canonical_iri",
    "cut_short_line",
    "open_dump",
    "parse_line",
    "read_line",
    "read_triples",
]
