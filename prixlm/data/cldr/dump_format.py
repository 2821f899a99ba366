r"""DBpedia 2016-10 dump conventions: file names, language codes, IRIs and N-Triples terms.

- Language code: a CLDR locale id lower-cased with `_` read as `-` (`de` -> `de`,
  `zh_Hant` -> `zh-hant`, `pt_PT` -> `pt-pt`): a valid BCP 47 tag for `"..."@tag`, a valid
  host label for `http://zh-hant.dbpedia.org/`, and the `{lang}` of the file names.
- Resource IRI: `http://dbpedia.org/resource/<name>` for `en`, else
  `http://{lang}.dbpedia.org/resource/<name>`, where `<name>` is the label with spaces as
  `_` (no case change). Characters that an IRI path cannot hold (ASCII outside unreserved,
  sub-delims, `:`, `@`, `/`; `%`; controls; non-ASCII outside RFC 3987 `ucschar`) are
  percent-encoded as UTF-8 with upper-case hex; other non-ASCII stays raw, as in the
  2016-10 dumps.
- Literal: `"..."@lang` with `\`, `"`, newline, carriage return and tab escaped (`\\`,
  `\"`, `\n`, `\r`, `\t`) and other C0 controls as `\u00XX`; UTF-8 otherwise.
"""

from __future__ import annotations

from prixlm.data.dbpedia.schema import DBPEDIA_ONTOLOGY, OWL_SAME_AS, RDFS_LABEL
from prixlm.data.iri_chars import iri_char_ok, percent_encoded

__all__ = [
    "DBPEDIA_ONTOLOGY",
    "OWL_SAME_AS",
    "RDFS_LABEL",
    "dbpedia_language",
    "interlanguage_links_file",
    "iri_path",
    "labels_file",
    "literal",
    "mappingbased_objects_file",
    "resource_iri",
]


_LITERAL_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def dbpedia_language(locale_id: str) -> str:
    """The dump language code of a CLDR locale id (`zh_Hant` -> `zh-hant`)."""
    return locale_id.replace("_", "-").lower()


def labels_file(language: str) -> str:
    """`labels_{language}.ttl`."""
    return f"labels_{language}.ttl"


def mappingbased_objects_file(language: str) -> str:
    """`mappingbased_objects_{language}.ttl`."""
    return f"mappingbased_objects_{language}.ttl"


def interlanguage_links_file(language: str) -> str:
    """`interlanguage_links_{language}.ttl`."""
    return f"interlanguage_links_{language}.ttl"


def iri_path(label: str) -> str:
    """The IRI path segment of `label`: spaces as `_`, the rest percent-encoded where needed."""
    parts = []
    for char in label.replace(" ", "_"):
        parts.append(char if iri_char_ok(char) else percent_encoded(char))
    return "".join(parts)


def resource_iri(language: str, label: str) -> str:
    """The DBpedia resource IRI of `label` in the `language` edition (no angle brackets)."""
    host = "dbpedia.org" if language == "en" else f"{language}.dbpedia.org"
    return f"http://{host}/resource/{iri_path(label)}"


def literal(text: str, language: str) -> str:
    """`text` as an N-Triples language-tagged literal, e.g. `"Euro"@de`."""
    escaped = []
    for char in text:
        if char in _LITERAL_ESCAPES:
            escaped.append(_LITERAL_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04X}")
        else:
            escaped.append(char)
    return f'"{"".join(escaped)}"@{language}'
