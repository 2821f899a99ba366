"""Values of Arrow string arrays as the row-by-row reader makes them, for `read_blocks`:
byte slices, `canonical_iri`, the white-space collapse of labels and `language_of_iri`,
with only the values that need Python sent to it (once per distinct value)."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from prixlm.data.dbpedia.dumps import language_of_iri
from prixlm.data.ntriples import canonical_iri

# Python's `str.split()` white space that a common line's value may hold, or a space at an
# end or two in a row: the values whose collapse (`" ".join(value.split())`) is not the
# value itself.
_UNUSUAL_SPACE = (
    r"^ | $|  |[\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
)
# `language_of_iri`'s two cases: the English edition, another edition (a host label).
_ENGLISH = r"^https?://dbpedia\.org/resource/"
_EDITION = r"^https?://[A-Za-z0-9_-]+\.dbpedia\.org/resource/"
_BINARY = pa.binary()


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
    """`" ".join(value.split())` of each value (the unusual ones in Python)."""
    return _python_map(
        values, pc.match_substring_regex(values, _UNUSUAL_SPACE), lambda v: " ".join(v.split())
    )


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
