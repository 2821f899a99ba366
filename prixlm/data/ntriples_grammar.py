"""The N-Triples line grammar behind `prixlm.data.ntriples`: regular expressions,
unescaping, diagnostics of malformed lines, and the checks that let most lines skip them.

`read_triples` takes the common line shapes (`<s> <p> <o> .`, `<s> <p> "v"@lang .`,
`<s> <p> "v"^^<dt> .`, `<s> <p> "v" .`, single spaces) apart with `str` methods, which cost
far less per line than a regular expression, and checks each piece for the characters the
grammar forbids there. What `str` methods cannot check cheaply is done here, once: the text
around a literal's value (`<p> ` before it; `@de .`, `^^<...> .` or ` .` after it) and a
bare predicate are validated by regular expression the first time they are seen and then
found in a small cache (`LookupCache`); escapes in a literal's value are resolved by
`split_escaped_literal`; the rare characters that may not appear unescaped in an IRI (`{}|`
and the backquote, control characters) or a literal (a carriage return) are looked for once
per block (`has_rare_bytes`), and the lines holding one marked (`find_rare_lines`). Any line
that is not one of these shapes goes through the full grammar (`LINE`), whose results are
the reference: the fast path gives the same triple for every line it accepts.

Every IRI must be absolute (`SCHEME`): the regular expressions require a scheme, and the
fast path takes only IRIs written `http:` or `https:`. Messages escape the non-printable
characters of what they quote (`printable`), and name an N-Quads line as such.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from typing import Generic, TypeVar

import numpy as np

RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

# An IRI must be absolute: it starts with a scheme (RFC 3987), e.g. `http:`.
SCHEME = r"[A-Za-z][A-Za-z0-9+.\-]*:"
# Characters allowed unescaped in an IRI (N-Triples IRIREF), written as "not these".
_IRI_CHARS = r'[^<>"{}|^`\\\x00-\x20]'
_UCHAR = r"\\(?:u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})"
# The same characters as positive ranges, without `\` (sre is faster so): an IRI without escapes.
_PLAIN_IRI_BODY = rf"{SCHEME}[!#-;=?-\[\]_a-z~\x7f-\U0010FFFF]*"
# A blank node label (W3C BLANK_NODE_LABEL, leniently): a letter of any script, a digit, `_`
# or `:` first, no dot last.
BNODE = r"_:([\w:][^\s<>\"'.]*(?:\.+[^\s<>\"'.]+)*)"
STRING = r'"([^"\\\r\n]*(?:\\.[^"\\\r\n]*)*)"'
LANG = r"@([A-Za-z]+(?:-[A-Za-z0-9]+)*)"


def _iri(name: str) -> str:
    """An IRI, escapes allowed, its text without `<>` in group `name`."""
    return rf"<(?P<{name}>{SCHEME}{_IRI_CHARS}*(?:{_UCHAR}{_IRI_CHARS}*)*)>"


def _plain_iri(name: str) -> str:
    """An IRI without escapes, its text in group `name`."""
    return rf"<(?P<{name}>{_PLAIN_IRI_BODY})>"


def _named(pattern: str, name: str) -> str:
    """`pattern`, whose one group becomes the group `name`."""
    return pattern.replace("(", f"(?P<{name}>", 1)


_END = r"[ \t]*\.[ \t\r]*(?:#[^\n]*)?"  # the final dot and an optional comment
# Any triple. `TRIPLE_GROUPS` name its groups, one per term or part of a literal.
TRIPLE = re.compile(
    rf"[ \t]*(?:{_iri('subject_iri')}|{_named(BNODE, 'subject_bnode')})[ \t]*"
    rf"{_iri('predicate')}[ \t]*"
    rf"(?:{_iri('object_iri')}|{_named(BNODE, 'object_bnode')}"
    rf"|{_named(STRING, 'value')}(?:{_named(LANG, 'language')}|\^\^{_iri('datatype')})?)" + _END
)
TRIPLE_GROUPS = (
    "subject_iri",
    "subject_bnode",
    "predicate",
    "object_iri",
    "object_bnode",
    "value",
    "language",
    "datatype",
)
# The common case: no escapes, no blank nodes, so that its terms need no further check.
_PLAIN_TRIPLE = (
    rf"[ \t]*{_plain_iri('plain_subject')}[ \t]*{_plain_iri('plain_predicate')}[ \t]*"
    rf'(?:{_plain_iri("plain_object")}|"(?P<plain_value>[^"\\\r\n]*)"'
    rf"(?:{_named(LANG, 'plain_language')}|\^\^{_plain_iri('plain_datatype')})?)" + _END
)
PLAIN_GROUPS = (
    "plain_subject",
    "plain_predicate",
    "plain_object",
    "plain_value",
    "plain_language",
    "plain_datatype",
)
# One line with its newline: a plain triple, any triple, a comment or blank line (no group),
# or anything else (group `bad`). `read_triples` tries them in this order.
LINE = re.compile(rf"(?:{_PLAIN_TRIPLE}|{TRIPLE.pattern}|[ \t\r]*(?:#[^\n]*)?|(?P<bad>[^\n]*))\n")
_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.S)
_SURROGATE = re.compile("[\ud800-\udfff]")
_ECHARS = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}

# --- the fast path's checks ------------------------------------------------------------
_IRI_BODY = re.compile(_PLAIN_IRI_BODY)
_HEAD = re.compile(_plain_iri("predicate") + " ")
# A literal's tail after its closing quote, in the one spelling the fast path accepts.
_TAIL = re.compile(rf"(?:{_named(LANG, 'language')}|\^\^{_plain_iri('datatype')})? \.")
# Characters that may not appear unescaped in an IRI and that the fast path's `str` checks
# do not look for (with `\r`, which may not appear in a literal either): "rare" characters.
RARE = re.compile(r"[\x00-\x09\x0b-\x1f{}|`]")
# A literal's text with escapes, each one N-Triples allows.
_STRING_BODY = re.compile(
    r'[^"\\\r\n]*(?:\\(?:[tbnrf"\'\\]|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})[^"\\\r\n]*)*'
)
_raw_unicode_escape_encode = codecs.raw_unicode_escape_encode
_unicode_escape_decode = codecs.unicode_escape_decode
FLAG = "\x00"  # put before a line that must take the full grammar (see `find_rare_lines`)

Key = TypeVar("Key")
Value = TypeVar("Value")


class LookupCache(Generic[Key, Value]):
    """`check(key)` results (`None`: invalid) for the keys seen, up to `size` of them.

    `cache.get(key)` is a plain dict lookup; `cache.miss(key)` computes, stores and returns.
    The dict is emptied when full, so that memory stays bounded whatever the input.
    """

    def __init__(self, check: Callable[[Key], Value | None], size: int = 4096) -> None:
        self._check = check
        self._size = size
        self._values: dict[Key, Value] = {}
        self.get = self._values.get

    def miss(self, key: Key) -> Value | None:
        value = self._check(key)
        if value is not None:
            if len(self._values) >= self._size:
                self._values.clear()
            self._values[key] = value
        return value


def check_iri(body: str) -> str | None:
    """`body` if it is an IRI's text between `<` and `>` without escapes, else `None`."""
    return body if _IRI_BODY.fullmatch(body) else None


def check_literal_parts(parts: tuple[str, str]) -> tuple[str, str | None, str | None] | None:
    """`(predicate, language, datatype)` from the `(head, tail)` around a literal's value,
    `head` being `<predicate> ` and `tail` one of `@lang .`, `^^<datatype> .` and ` .`, or
    `None` if they are not written so.

    The language is lower-cased; an `rdf:langString` datatype is left to the full grammar,
    which reports it.
    """
    head, tail = parts
    predicate = _HEAD.fullmatch(head)
    match = _TAIL.fullmatch(tail)
    if predicate is None or match is None:
        return None
    language, datatype = match["language"], match["datatype"]
    if datatype == RDF_LANG_STRING:
        return None
    return predicate["predicate"], (None if language is None else language.lower()), datatype


def split_escaped_literal(subject: str, rest: str) -> tuple[str, str, str]:
    """`(head, value, tail)` of a line `subject rest`, `rest` being `head"value"tail`, whose
    escapes are all in the value (resolved here).

    `ValueError` for any other line (no quote, escapes elsewhere, an invalid escape, an
    escaped surrogate or one beyond U+10FFFF), which the full grammar then reads.
    """
    head, quote, rest = rest.partition('"')
    body, quote, tail = rest.rpartition('"')
    if not quote or "\\" in subject or "\\" in head or _STRING_BODY.fullmatch(body) is None:
        raise ValueError("not a literal with simple escapes")
    # Each backslash starts an escape that `unicode_escape` reads as N-Triples does, and
    # `raw_unicode_escape` writes the other characters so that it gives them back.
    value = _unicode_escape_decode(_raw_unicode_escape_encode(body)[0])[0]  # or ValueError
    if _SURROGATE.search(value):
        raise ValueError("an escaped surrogate")
    return head, value, tail


def has_rare_bytes(data: bytes, newlines: int) -> bool:
    """Whether UTF-8 `data`, holding `newlines` newlines, has a rare character (`RARE`).

    (Faster than a regular expression: numpy counts the control bytes, `memchr` finds the
    others; in UTF-8 these bytes stand only for themselves.)
    """
    if np.count_nonzero(np.frombuffer(data, np.uint8) < 0x20) != newlines:
        return True
    return b"{" in data or b"}" in data or b"|" in data or b"`" in data


def find_rare_lines(text: str, lines: list[str]) -> None:
    """Mark (with a leading `FLAG`) each of `lines` that holds a rare character (`RARE`).

    `lines` is `text.split("\\n")`; `read_triples` sends a marked line, without its mark,
    to the full grammar. A line that starts with `FLAG` holds a rare character itself, so
    the mark is always exactly one character to drop.
    """
    index = position = 0
    marked = -1
    for match in RARE.finditer(text):
        index += text.count("\n", position, match.start())
        position = match.start()
        if index != marked:
            lines[index] = FLAG + lines[index]
            marked = index


# --- the full grammar's functions ------------------------------------------------------
def unescape(text: str, allow_echar: bool) -> str:
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


def printable(text: str) -> str:
    """`text` with its non-printable characters (controls such as NUL or U+0085, line
    separators) escaped as Python writes them (`\\x00`, `\\x85`, `\\u2028`), for messages."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def _iri_problem(body: str, role: str) -> str | None:
    """Why the text `body` between `<` and `>` is not an IRI, or `None`."""
    bad = re.search(r'[<"{}|^`\x00-\x20]|\\(?![uU])', body)
    if bad:
        what = body[bad.start() : bad.start() + 2] if bad.group() == "\\" else bad.group()
        kind = "escape" if bad.group() == "\\" else "character"
        return f"invalid {kind} {what!r} in the {role} IRI <{printable(body)}>"
    if not re.match(SCHEME, body):
        return (
            f"relative IRI <{printable(body)}> in the {role}: N-Triples needs an absolute "
            "IRI, starting with a scheme such as 'http:'"
        )
    return None


def _after_object(rest: str) -> str:
    """Why `rest`, the text after a valid object, is not ` .` and an optional comment."""
    if rest.startswith(("<", "_:")):
        term = rest.split()[0]
        return (
            f"expected ' .' after the object, got a fourth term {printable(term)!r}: "
            "N-Quads (a graph term) is not N-Triples"
        )
    return "expected ' .' after the object"


def diagnose(line: str) -> str:
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
            problem = _iri_problem(rest[1:end], role)
            if problem:
                return problem
            position += end + 1
        elif rest.startswith("_:") and role != "predicate":
            match = re.match(BNODE, rest)
            if not match:
                return f"invalid blank node in the {role}"
            position += match.end()
        elif rest.startswith('"') and role == "object":
            match = re.match(STRING, rest)
            if not match:
                return "unterminated string literal in the object"
            position += match.end()
            rest = text[position:]
            if rest.startswith("^^<"):
                end = rest.find(">")
                if end < 0:
                    return "unterminated IRI in the datatype"
                problem = _iri_problem(rest[3:end], "datatype")
                if problem:
                    return problem
                position += end + 1
            elif rest.startswith("^^"):
                name = rest[2:].split()[0] if rest[2:].split() else ""
                return f"datatype must be a full IRI, got the prefixed name {name!r}"
            elif rest.startswith("@"):
                match = re.match(LANG, rest)
                if not match:
                    return "invalid language tag"
                position += match.end()
        elif not rest:
            return f"missing {role}"
        else:
            allowed = "an IRI" if role == "predicate" else "an IRI or a blank node"
            if role == "object":
                allowed += " or a literal"
            return f"{role} must be {allowed}, got {rest[:20]!r}"
    return _after_object(text[position:].lstrip(" \t"))
