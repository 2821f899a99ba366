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

RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
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


# --- the line grammar ------------------------------------------------------------------
# Characters allowed unescaped in an IRI (N-Triples IRIREF), written as "not these".
_IRI_CHARS = r'[^<>"{}|^`\\\x00-\x20]'
_UCHAR = r"\\(?:u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})"
_IRI = rf"<({_IRI_CHARS}*(?:{_UCHAR}{_IRI_CHARS}*)*)>"
_BNODE = r"_:([A-Za-z0-9_][^\s<>\"'.]*(?:\.+[^\s<>\"'.]+)*)"
_STRING = r'"([^"\\\r\n]*(?:\\.[^"\\\r\n]*)*)"'
_LANG = r"@([A-Za-z]+(?:-[A-Za-z0-9]+)*)"
_TRIPLE = re.compile(
    rf"[ \t]*(?:{_IRI}|{_BNODE})[ \t]*{_IRI}[ \t]*"
    rf"(?:{_IRI}|{_BNODE}|{_STRING}(?:{_LANG}|\^\^{_IRI})?)"
    r"[ \t]*\.[ \t\r]*(?:#[^\n]*)?"
)
# The common case, with no escapes and no blank nodes (groups 1-6: subject, predicate,
# object IRI, literal value, language, datatype), so that most lines need no further check.
# `_PLAIN_IRI` allows the characters of `_IRI_CHARS` as positive ranges (sre is faster so).
_PLAIN_IRI = r"<([!#-;=?-\[\]_a-z~\x7f-\U0010FFFF]*)>"
_FAST_TRIPLE = (
    rf"[ \t]*{_PLAIN_IRI}[ \t]*{_PLAIN_IRI}[ \t]*"
    rf'(?:{_PLAIN_IRI}|"([^"\\\r\n]*)"(?:{_LANG}|\^\^{_PLAIN_IRI})?)'
    r"[ \t]*\.[ \t\r]*(?:#[^\n]*)?"
)
# One line with its newline: the fast case, any triple (groups 7-14), a comment or blank
# line, or (group 15) anything else. The last group matched tells which (`read_triples`).
_LINE = re.compile(rf"(?:{_FAST_TRIPLE}|{_TRIPLE.pattern}|[ \t\r]*(?:#[^\n]*)?|([^\n]*))\n")
_BAD_GROUP = 15
_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.S)
_SURROGATE = re.compile("[\ud800-\udfff]")
_new_tuple = tuple.__new__
_ECHARS = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _unescape(text: str, allow_echar: bool) -> str:
    """Resolve `\\uXXXX`, `\\UXXXXXXXX` (and, in literals, `\\n`, `\\"`...) escapes.

    Raises `ValueError` with the reason for an unknown escape or a lone surrogate.
    """

    def replace(match: re.Match[str]) -> str:
        short, long, char = match.groups()
        if char is not None:
            if allow_echar and char in _ECHARS:
                return _ECHARS[char]
            raise ValueError(f"invalid escape \\{char}")
        code = int(short or long, 16)
        if code > 0x10FFFF:
            raise ValueError(f"escape \\U{long} is beyond U+10FFFF")
        return chr(code)

    value = _ESCAPE.sub(replace, text)
    if _SURROGATE.search(value):
        # Java-era dumps write astral characters as surrogate pairs: join them.
        try:
            value = value.encode("utf-16", "surrogatepass").decode("utf-16")
        except UnicodeDecodeError as err:
            raise ValueError("escape of a lone UTF-16 surrogate") from err
    return value


def _diagnose(line: str) -> str:
    """Why `line` is not a triple (called only for lines the grammar rejects)."""
    text = line.strip()
    position = 0
    for role in ("subject", "predicate", "object"):
        rest = text[position:].lstrip(" \t")
        position = len(text) - len(rest)
        if rest.startswith("<"):
            end = rest.find(">")
            if end < 0:
                return f"unterminated IRI in the {role}"
            body = rest[1:end]
            bad = re.search(r'[<"{}|^`\x00-\x20]|\\(?![uU])', body)
            if bad:
                what = body[bad.start() : bad.start() + 2] if bad.group() == "\\" else bad.group()
                kind = "escape" if bad.group() == "\\" else "character"
                return f"invalid {kind} {what!r} in the {role} IRI <{body}>"
            position += end + 1
        elif rest.startswith("_:") and role != "predicate":
            match = re.match(_BNODE, rest)
            if not match:
                return f"invalid blank node in the {role}"
            position += match.end()
        elif rest.startswith('"') and role == "object":
            match = re.match(_STRING, rest)
            if not match:
                return "unterminated string literal in the object"
            position += match.end()
            rest = text[position:]
            if rest.startswith("^^") and not rest.startswith("^^<"):
                name = rest[2:].split()[0] if rest[2:].split() else ""
                return f"datatype must be a full IRI, got the prefixed name {name!r}"
            if rest.startswith("@") and not re.match(_LANG, rest):
                return "invalid language tag"
        elif not rest:
            return f"missing {role}"
        else:
            allowed = "an IRI" if role == "predicate" else "an IRI or a blank node"
            if role == "object":
                allowed += " or a literal"
            return f"{role} must be {allowed}, got {rest[:20]!r}"
    return "expected ' .' after the object"


def _make_triple(groups: tuple[str | None, ...]) -> Triple:
    """A triple from the eight groups of `_TRIPLE`; `ValueError` for a bad escape."""
    s_iri, s_bnode, predicate, o_iri, o_bnode, value, language, datatype = groups[:8]
    subject: str = BlankNode(s_bnode) if s_iri is None else s_iri
    if s_iri is not None and "\\" in s_iri:
        subject = _unescape(s_iri, allow_echar=False)
    if "\\" in predicate:
        predicate = _unescape(predicate, allow_echar=False)
    if o_iri is not None:
        if "\\" in o_iri:
            o_iri = _unescape(o_iri, allow_echar=False)
        return subject, predicate, o_iri
    if o_bnode is not None:
        return subject, predicate, BlankNode(o_bnode)
    if "\\" in value:
        value = _unescape(value, allow_echar=True)
    if language is not None:
        return subject, predicate, Literal(value, language.lower(), None)
    if datatype is not None and "\\" in datatype:
        datatype = _unescape(datatype, allow_echar=False)
    if datatype == RDF_LANG_STRING:
        raise ValueError("rdf:langString literal without a language tag")
    return subject, predicate, Literal(value, None, datatype)


def parse_line(line: str) -> Triple | None:
    """One N-Triples line to `(subject, predicate, object)`; `None` for comments and blanks.

    Raises `ValueError(reason)` when the line is not a triple.
    """
    match = _TRIPLE.fullmatch(line)
    if match is None:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            return None
        raise ValueError(_diagnose(line))
    return _make_triple(match.groups())


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


def _lines_in_blocks(handle: BinaryIO, name: str, block_size: int) -> Iterator[tuple[int, str]]:
    """Whole lines, decoded, in blocks of about `block_size` bytes, each ending in `\\n`.

    Yields `(number of the block's first line, text)`; `DumpError` for invalid UTF-8.
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
        yield first_line, text
        first_line += text.count("\n")


def read_triples(
    path: str | Path,
    *,
    strict: bool = False,
    stats: ReadStats | None = None,
    progress: bool = False,
    block_size: int = 1 << 18,
) -> Iterator[Triple]:
    """Yield the triples of one dump file, streaming.

    Args:
        path: a plain, `.bz2` or `.gz` N-Triples / line-Turtle file.
        strict: raise `MalformedLineError` at the first malformed line instead of counting it.
        stats: counts lines, triples, comments and malformed lines (with the first reasons).
        progress: show a tqdm line counter.
        block_size: bytes decoded and matched at a time (memory stays within a few blocks).
    """
    name = str(path)
    stats = stats if stats is not None else ReadStats()
    bar = tqdm(desc=Path(name).name, unit=" lines", unit_scale=True, disable=not progress)
    line_number = 0
    lower_tags: dict[str, str] = {}
    triples = 0
    try:
        with open_dump(path) as handle:
            for first_line, text in _lines_in_blocks(handle, name, block_size):
                for match in _LINE.finditer(text):
                    # Which group closed last tells the kind of line (see `_LINE`).
                    last = match.lastindex
                    if last == 3:  # <s> <p> <o> .
                        triples += 1
                        yield match.group(1, 2, 3)
                        continue
                    if last == 5:  # <s> <p> "value"@language .
                        subject, predicate, value, language = match.group(1, 2, 4, 5)
                        tag = lower_tags.get(language) or lower_tags.setdefault(
                            language, language.lower()
                        )
                        triples += 1
                        yield subject, predicate, _new_tuple(Literal, (value, tag, None))
                        continue
                    if last == 4 or last == 6:  # <s> <p> "value"[^^<datatype>] .
                        subject, predicate, value, datatype = match.group(1, 2, 4, 6)
                        if datatype != RDF_LANG_STRING:
                            triples += 1
                            yield subject, predicate, _new_tuple(Literal, (value, None, datatype))
                            continue
                        reason = "rdf:langString literal without a language tag"
                    elif last is None:  # comment or blank line
                        stats.comments += 1
                        continue
                    elif last == _BAD_GROUP:
                        reason = _diagnose(match.group(_BAD_GROUP))
                    else:  # escapes or blank nodes: the full grammar
                        try:
                            triple = _make_triple(match.groups()[6:14])
                        except ValueError as err:
                            reason = str(err)
                        else:
                            triples += 1
                            yield triple
                            continue
                    bad_line = first_line + text.count("\n", 0, match.start())
                    if strict:
                        raise MalformedLineError(name, bad_line, reason)
                    stats.report(name, bad_line, reason)
                line_number = first_line + text.count("\n") - 1
                bar.update(text.count("\n"))
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
