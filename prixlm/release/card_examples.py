"""The model card's usage examples: the widget's queries, the candidates the pipeline example
ranks where a folder stores none, and every value the examples' code holds as a Python
literal (quotes, backslashes and line breaks of labels escaped)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

DEFAULT_QUERY = "Germany | currency"
#: The labels the card's pipeline example ranks when the folder stores no candidates.
EXAMPLE_CANDIDATES = ["euro", "US dollar", "Japanese yen"]


def example_candidates(query: str, languages: Sequence[str]) -> dict[str, list[str]]:
    """`candidates=` of the card's pipeline example for a folder without `candidates.json`:
    `EXAMPLE_CANDIDATES` under the query's language (`"s | r | lang"`), else `en` when the
    model has it (or names none), else its first language: the only candidate language, so
    the query without one uses it."""
    fields = [part.strip() for part in query.split("|")]
    if len(fields) >= 3 and fields[2]:
        language = fields[2]
    elif not languages or "en" in languages:
        language = "en"
    else:
        language = sorted(languages)[0]
    return {language: list(EXAMPLE_CANDIDATES)}


def example_code(
    repo_id: str, query: str, revision: str | None, candidates: Mapping[str, Any] | None
) -> dict[str, str | None]:
    """The Python literals of the card's code examples (JSON's string, list and object syntax
    is Python's: quotes, backslashes, line breaks escaped): the repo id, the widget query,
    its subject and relation (Germany's currency where it has none), `candidates=` and the
    `revision=` argument; and the repo id quoted for a shell."""
    fields = [part.strip() for part in query.split("|")]
    subject, relation = fields[:2] if len(fields) >= 2 else ("Germany", "currency")
    literal = partial(json.dumps, ensure_ascii=False)
    return {"repo_id_code": literal(repo_id), "repo_id_shell": shlex.quote(repo_id),
            "example_query_code": literal(query),
            "subject_code": literal(subject), "relation_code": literal(relation),
            "candidates_code": literal(candidates) if candidates else None,
            "revision_code": f", revision={literal(revision)}" if revision else ""}  # fmt: skip


def widget_entries(examples: Sequence[str | Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """The card's `widget:` entries (`{"text": query}`); `DEFAULT_QUERY` where none given."""
    if not examples:
        return [{"text": DEFAULT_QUERY}]
    return [{"text": e} if isinstance(e, str) else dict(e) for e in examples]
