"""The release pipeline's inputs (`pipeline_prixlm`): parsing a query and checking its limits.

A query is `"subject | relation"`, `"subject | relation | language"`, a mapping
`{"subject", "relation"[, "language"]}` (a triple query) or
`{"subject", "language", "target_language"}` (a link query).

Limits (a public endpoint's memory stays bounded; each breach is a `ValueError` naming the
limit, raised before any decoding): at most `MAX_QUERIES` (256) queries per call,
`MAX_QUERY_CHARS` (1,000) characters per query field, `num_beams` and `max_rows` at most
`MAX_NUM_BEAMS` (500) and `MAX_ROWS` (4,096: the logits of a decoding step take
`max_rows x vocabulary x 4` bytes). A query may not hold control characters, zero-width
spaces (U+200B, U+2060, U+FEFF) or lone surrogates: they are not text of any entity.
A relation is read composed (NFC) with runs of spaces as one (`relation_key`); one the
folder does not list gets a warning (`unknown_relation_message`).

Hub custom code: imports only the standard library.
"""

from __future__ import annotations

import difflib
import numbers
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

SEPARATOR = "|"
TRIPLE_KEYS = {"subject", "relation", "language"}
LINK_KEYS = {"subject", "language", "target_language"}
#: Limits of one call (module docstring).
MAX_QUERIES = 256
MAX_QUERY_CHARS = 1000
MAX_NUM_BEAMS = 500
MAX_ROWS = 4096
#: Characters that are no entity's text: zero-width spaces (controls are checked by category).
ZERO_WIDTH = {"\u200b", "\u2060", "\ufeff"}


def default_language(languages: Sequence[str]) -> str | None:
    """The language of a query that names none: the only one, else `en` if present, else None."""
    languages = list(languages)
    if len(languages) == 1:
        return languages[0]
    return "en" if "en" in languages else None


def shown(value: Any, limit: int = 80) -> str:
    """`repr(value)`, cut to `limit` characters (an error never echoes a huge input)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def check_text(name: str, text: str) -> None:
    """`ValueError` for a query field longer than `MAX_QUERY_CHARS` or holding a lone
    surrogate, a control character or a zero-width space (named with its position)."""
    if len(text) > MAX_QUERY_CHARS:
        raise ValueError(
            f"input {name} {shown(text)} has {len(text)} characters; at most "
            f"{MAX_QUERY_CHARS} per query field"
        )
    for position, char in enumerate(text):
        category = unicodedata.category(char)
        if category in ("Cc", "Cs") or char in ZERO_WIDTH:
            what = {"Cc": "a control character", "Cs": "a lone surrogate"}.get(
                category, "a zero-width space"
            )
            raise ValueError(
                f"input {name} {shown(text)} holds {what} (U+{ord(char):04X}) at position "
                f"{position}: no entity's text does; remove it"
            )


def check_input(item: Any) -> None:
    """The limits of one input (module docstring), checked before it is parsed."""
    fields = item.items() if isinstance(item, Mapping) else [("query", item)]
    if isinstance(item, Mapping) and len(item) > len(TRIPLE_KEYS | LINK_KEYS):
        raise ValueError(f"input {shown(item)} has {len(item)} keys; a query has at most 4")
    if not isinstance(item, (str, Mapping)):
        raise TypeError(f"input must be a string or a mapping, got {type(item).__name__}")
    for key, value in fields:
        if not isinstance(value, str):
            raise ValueError(f"input {shown(key)} must be a string, got {type(value).__name__}")
        check_text(str(key)[:20], value)


def parse_query(item: Any) -> dict[str, str | None]:
    """One input -> `{"subject", "relation", "language", "target_language"}` (None: absent).

    Raises:
        ValueError: a string without exactly one or two `|`, a mapping with unknown or
            missing keys, an empty field.
        TypeError: an input that is neither a string nor a mapping.
    """
    if isinstance(item, str):
        fields = [field.strip() for field in item.split(SEPARATOR)]
        if len(fields) not in (2, 3):
            raise ValueError(
                f"input {item!r}: expected 'subject | relation' or 'subject | relation | "
                f"language' (separator {SEPARATOR!r}), e.g. 'Germany | currency', or a mapping "
                "{'subject': ..., 'relation': ...}"
            )
        query = dict(zip(("subject", "relation", "language"), fields, strict=False))
    elif isinstance(item, Mapping):
        keys = set(item)
        allowed = LINK_KEYS if "target_language" in keys else TRIPLE_KEYS
        required = (
            {"subject", "language", "target_language"}
            if allowed is LINK_KEYS
            else {"subject", "relation"}
        )
        if keys - allowed or required - keys:
            raise ValueError(
                f"input {dict(item)!r}: a triple query has the keys {sorted(TRIPLE_KEYS)} "
                f"(language optional), a link query {sorted(LINK_KEYS)}"
            )
        query = {key: item[key] for key in keys}
    else:
        raise TypeError(f"input must be a string or a mapping, got {type(item).__name__}: {item!r}")
    for key, value in query.items():
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"input {item!r}: {key} must be a non-empty string, got {value!r}")
    query = {key: value.strip() for key, value in query.items()}  # as the string form's fields
    return {key: query.get(key) for key in ("subject", "relation", "language", "target_language")}


def checked_parameter(name: str, value: Any, most: int | None = None) -> int:
    """`value` as an int if it is an integer >= 1 (NumPy's too, not a bool) and at most
    `most`, else `ValueError` naming `name`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name}={shown(value)}: expected an integer >= 1")
    if most is not None and value > most:
        raise ValueError(f"{name}={value}: at most {most} (the pipeline's limit)")
    return int(value)


def check_no_other_parameters(others: Mapping[str, Any], accepted: Sequence[str]) -> None:
    """`ValueError` naming the keyword arguments `others` that the pipeline does not take
    (`generate()`'s `max_new_tokens`, `do_sample`, `generation_config`, ...) and those it
    takes (`accepted`); nothing if `others` is empty."""
    if others:
        raise ValueError(
            f"unknown parameters {', '.join(map(repr, sorted(others)))}: the pipeline ranks the "
            "candidate entities by constrained beam search, not by generate(), so generation "
            f"settings do not apply; its parameters: {', '.join(accepted)}"
        )


def relation_key(name: str) -> str:
    """A relation name as the model reads it: composed (NFC), runs of spaces as one."""
    return " ".join(unicodedata.normalize("NFC", name).split())


def unknown_relation_message(
    relation: str, language: str, known: Sequence[str], relations_file: str
) -> str:
    """The warning for a relation outside `known` (listed in `relations_file`): the close
    names first, then every name."""
    close = difflib.get_close_matches(relation, known, n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(map(repr, close))}? " if close else ""
    return (
        f"relation {relation!r} is not one of the {len(known)} relations of language "
        f"{language!r} this model was trained on; {hint}relation names are English in every "
        f"language. The answers are a guess. Known relations ({relations_file}): "
        + ", ".join(known)
    )


__all__ = [
    "LINK_KEYS",
    "MAX_NUM_BEAMS",
    "MAX_QUERIES",
    "MAX_QUERY_CHARS",
    "MAX_ROWS",
    "SEPARATOR",
    "TRIPLE_KEYS",
    "check_input",
    "check_no_other_parameters",
    "check_text",
    "checked_parameter",
    "default_language",
    "parse_query",
    "relation_key",
    "shown",
    "unknown_relation_message",
]
