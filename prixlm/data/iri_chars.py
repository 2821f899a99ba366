"""Which characters an IRI holds as they are (RFC 3987), the rest being percent-encoded.

One rule for the IRIs the project writes (`prixlm.data.cldr.dump_format.iri_path`) and the
IRI form the build reads them into (`prixlm.data.ntriples.canonical_iri`), so that one
entity has one IRI in the dumps, the dataset and what is written from it. The Space keeps a
copy of its own (`space/batch_io.py`: it imports nothing of this package).
"""

from __future__ import annotations

#: ASCII characters a path segment holds unescaped (unreserved, sub-delims, `:`, `@`, `/`).
IRI_SAFE_ASCII = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/"
)
#: RFC 3987 ucschar ranges (non-ASCII characters an IRI may hold unescaped).
UCSCHAR_RANGES = (
    (0xA0, 0xD7FF),
    (0xF900, 0xFDCF),
    (0xFDF0, 0xFFEF),
    *((plane + 0x0000, plane + 0xFFFD) for plane in range(0x10000, 0xE0000, 0x10000)),
    (0xE1000, 0xEFFFD),
)
#: Bidirectional formatting characters: an IRI must not hold them (RFC 3987 4.1).
BIDI_FORMATTING = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def raw_non_ascii_ok(char: str) -> bool:
    """Whether the non-ASCII `char` stays as it is in an IRI: a `ucschar` that is neither
    white space (N-Triples readers such as rdflib's refuse it) nor bidirectional
    formatting."""
    point = ord(char)
    if char.isspace() or char in BIDI_FORMATTING:
        return False
    return any(low <= point <= high for low, high in UCSCHAR_RANGES)


def iri_char_ok(char: str) -> bool:
    """Whether `char` stays as it is in an IRI path segment (else it is percent-encoded)."""
    if char in IRI_SAFE_ASCII:
        return True
    return ord(char) >= 0x80 and raw_non_ascii_ok(char)


def percent_encoded(char: str) -> str:
    """`char` as `%XX` escapes of its UTF-8 bytes."""
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))


__all__ = [
    "BIDI_FORMATTING",
    "IRI_SAFE_ASCII",
    "UCSCHAR_RANGES",
    "iri_char_ok",
    "percent_encoded",
    "raw_non_ascii_ok",
]
