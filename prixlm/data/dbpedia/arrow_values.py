"""Values of Arrow string arrays as the row-by-row reader makes them, for `read_blocks`:
byte slices, `canonical_iri`, the clean-up of labels (`clean_label`) and `language_of_iri`,
with only the values that need Python sent to it (once per distinct value).

`clean_label` is also the row-by-row reader's rule (`read_rows`), the KG-layout reader's
(`kg_layout.read.entity_label`) and CLDR's (`cldr.cldr_labels`), so that every reader makes
the same labels: `DROPPED` characters (`ZERO_WIDTH`, `CONTROLS`) left out, white space
collapsed."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from prixlm.data.dbpedia.dumps import language_of_iri
from prixlm.data.ntriples import canonical_iri

#: Zero-width characters that `str.split` does not take for white space, dropped from
#: labels: the Hub pipeline (`modeling_prixlm.pipeline_queries.ZERO_WIDTH`, the same set)
#: refuses a query that holds one, so a label keeping one could not be asked about.
ZERO_WIDTH = frozenset({"\u200b", "\u2060", "\ufeff"})
#: Control characters (category Cc) that `str.split` does not take for white space
#: (U+0000-0008, U+000E-001B, U+007F-0084, U+0086-009F), dropped from labels as `ZERO_WIDTH`
#: is, for the same reason (the pipeline refuses every control character); the others (tab,
#: line ends, U+001C-001F, U+0085) are white space, collapsed.
CONTROLS = frozenset(
    c for c in map(chr, range(0xA0)) if unicodedata.category(c) == "Cc" and not c.isspace()
)
#: What `clean_label` drops.
DROPPED = ZERO_WIDTH | CONTROLS
_NO_DROPPED = {ord(character): None for character in DROPPED}
# Python's `str.split()` white space that a common line's value may hold, a space at an end
# or two in a row, or a `DROPPED` character: the values whose `clean_label` is not the value
# itself (a common line's value holds no U+0000-001F: they are listed all the same).
_UNUSUAL_SPACE = (
    r"^ | $|  |[\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
    r"\x{200b}\x{2060}\x{feff}\x{00}-\x{08}\x{0e}-\x{1b}\x{7f}-\x{84}\x{86}-\x{9f}]"
)
# `language_of_iri`'s two cases: the English edition, another edition (a host label).
_ENGLISH = r"^https?://dbpedia\.org/resource/"
_EDITION = r"^https?://[A-Za-z0-9_-]+\.dbpedia\.org/resource/"
_BINARY = pa.binary()


def clean_label(value: str) -> str:
    """A label as the build stores it: `DROPPED` characters (`ZERO_WIDTH`, `CONTROLS`)
    left out, then white space collapsed (`" ".join(value.split())`; empty if nothing is
    left, and an empty label is no label).

    >>> clean_label(" A\u200b  B\x7f ")
    'A B'
    """
    return " ".join(value.translate(_NO_DROPPED).split())


def _slice(strings: pa.Array, start: int, stop: int = 1 << 40) -> pa.Array:
    """Each string's bytes `start:stop` (cut at ASCII characters only). (`binary_slice`
    fails on `stop=None` and overflows on a huge `stop` in pyarrow 26, whence 2**40.)"""
    sliced = pc.binary_slice(strings.view(_BINARY), start, stop)
    return sliced.view(strings.type)


def _python_map(values: pa.Array, mask: pa.Array, function: Callable[[str], str]) -> pa.Array:
    """`values` with `function` applied (once per distinct value) where `mask` is true."""
    mask = pc.fill_null(mask, False)
    if not pc.any(mask).as_py():
        return values
    chosen = values.filter(mask)
    distinct = pc.unique(chosen)
    mapped = pa.array([function(v) for v in distinct.to_pylist()], values.type)
    return pc.replace_with_mask(values, mask, mapped.take(pc.index_in(chosen, distinct)))


def _canonical_iris(iris: pa.Array) -> pa.Array:
    """`canonical_iri` of each IRI (only those with a `%` go to Python)."""
    return _python_map(iris, pc.match_substring(iris, "%"), canonical_iri)


def _collapse(values: pa.Array) -> pa.Array:
    """`clean_label` of each value (the unusual ones in Python)."""
    return _python_map(values, pc.match_substring_regex(values, _UNUSUAL_SPACE), clean_label)


def _languages_of(iris: pa.Array) -> pa.Array:
    """`language_of_iri` of each IRI (null for None), called once per distinct host label."""
    languages = pc.if_else(pc.match_substring_regex(iris, _ENGLISH), "en", None)
    edition = pc.match_substring_regex(iris, _EDITION)
    if not pc.any(edition).as_py():
        return languages
    heads = pc.list_element(pc.split_pattern(iris.filter(edition), ".", max_splits=1), 0)
    labels = pc.list_element(pc.split_pattern(heads, "//", max_splits=1), 1)  # http://label
    distinct = pc.unique(labels)
    mapped = [
        language_of_iri(f"http://{label}.dbpedia.org/resource/") for label in distinct.to_pylist()
    ]
    found = pa.array(mapped, pa.string()).take(pc.index_in(labels, distinct))
    return pc.replace_with_mask(languages, edition, found)


def _same(iris: pa.Array) -> pa.Array:
    return iris
