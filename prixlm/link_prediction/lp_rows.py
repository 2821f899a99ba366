"""The rows of a link-prediction config: the columns ranking reads, and their query groups.

`required_columns` names the columns every ranked row needs under the chosen protocols
(`all_objects` only where a protocol filters by it); `missing_columns` checks a split's
columns against them, so a dataset without one is refused before any model runs (a
dataset without `all_objects` was ranked unfiltered yet reported as filtered).
`query_groups` splits a config's rows by object language and kind, as they are reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from prixlm.link_prediction.candidate_files import row_kind
from prixlm.link_prediction.protocols import get_protocol

#: What every ranked row is read by: the query's prompt, its gold, its languages.
RANKED_COLUMNS = ("subject", "relation", "object", "subject_language", "object_language")
#: The other true objects of a query, which a protocol filtering `all` removes.
FILTER_COLUMN = "all_objects"


def required_columns(protocols: Sequence[str]) -> tuple[str, ...]:
    """The columns a split's rows need to be ranked under `protocols`: `RANKED_COLUMNS`,
    and `all_objects` where one of them filters every split's true objects (`ours`)."""
    filters = any(get_protocol(name).filter == "all" for name in protocols)
    return (*RANKED_COLUMNS, *((FILTER_COLUMN,) if filters else ()))


def missing_columns(names: Sequence[str], protocols: Sequence[str]) -> list[str]:
    """The `required_columns` of `protocols` that a split with columns `names` lacks."""
    return [name for name in required_columns(protocols) if name not in set(names)]


def query_groups(
    rows: Sequence[Mapping[str, Any]], config: str
) -> list[tuple[str, str, str, list[Mapping[str, Any]]]]:
    """`(name, object language, kind, rows)` per object language and kind, by language:
    triples as `config` (a language's own config) or `config/<language>`, links as
    `links/<language>` in the `links` config, `<config>/links/<language>` in another (`all`)."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in rows:
        kind = row_kind(row.get("kind"), row["subject_language"], row["object_language"])
        groups.setdefault((row["object_language"], kind), []).append(row)
    named = []
    for (language, kind), selected in sorted(groups.items()):
        name = config if config == language else f"{config}/{language}"
        if kind == "link" and config != "links":
            name = f"{config}/links/{language}"
        named.append((name, language, kind, selected))
    return named


__all__ = [
    "FILTER_COLUMN",
    "RANKED_COLUMNS",
    "missing_columns",
    "query_groups",
    "required_columns",
]
