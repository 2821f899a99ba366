"""The Space's languages as its model's pipeline reads them, and the model card's examples.

A language is typed in any spelling the pipeline accepts (`EN` for `en`: its
`candidate_language`), and a query that names none gets the pipeline's default (the only
candidate language, else `en`, else none: the query must name one). The page's examples are
the model card's widget queries, in the Space's languages.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml
from transformers.utils import cached_file


def candidate_code(pipe: Any, language: str, languages: Sequence[str]) -> str | None:
    """The code of `language` among `languages` (the Space's), in any spelling the pipeline
    accepts (`en` for `EN`: its `candidate_language`, where the model's code has it); None
    for a language the Space ranks no entities of."""
    lookup = getattr(pipe, "candidate_language", None)
    code: str | None = language
    if lookup is not None:
        try:
            code = lookup(language)
        except ValueError:  # no candidates in that language
            return None
    return code if code in languages else None


def stored_relations(pipe: Any, language: str) -> list[str]:
    """The relation names `relations.json` stores for `language`, looked up as the pipeline
    looks them up (its module's `_for_language`: the code itself, else another spelling,
    `pt-br` for `pt-BR`); [] for a language it stores none for."""
    stored = pipe.relations
    lookup = getattr(sys.modules.get(type(pipe).__module__), "_for_language", None)
    if lookup is None:  # model code without the rule as a function: the same rule
        key = language.replace("_", "-").lower()
        same = (code for code in stored if code.replace("_", "-").lower() == key)
        code = language if language in stored else next(same, None)
        return list(stored[code]) if code is not None else []
    return list(lookup(stored, language) or [])


def pipeline_default_language(pipe: Any, languages: Sequence[str]) -> str | None:
    """The language the pipeline gives a query that names none (its own rule, the
    `default_language` of its module: the only candidate language, else `en`, else none),
    if the Space ranks it (in `languages`); None where the pipeline refuses such a query."""
    rule = getattr(sys.modules.get(type(pipe).__module__), "default_language", None)
    stored = sorted(pipe.candidate_labels)
    if rule is None:  # model code without the rule as a function: the same rule
        default = stored[0] if len(stored) == 1 else "en" if "en" in stored else None
    else:
        default = rule(stored)
    return default if default in languages else None


def card_examples(
    source: str,
    code: Callable[[str], str | None],
    default: str | None,
    revision: str | None = None,
) -> list[list[str]]:
    """`[[subject, relation, language]]` from the model card's widget (`"s | r [| lang]"`),
    the card of `revision` for a Hub repo; `code` maps a language to the Space's code (None:
    not one of its languages, the example is left out), `default` is the language of an
    example that names none (None: such an example is left out)."""
    path = cached_file(
        source, "README.md", revision=revision, _raise_exceptions_for_missing_entries=False
    )
    if path is None:
        return []
    text = Path(path).read_text(encoding="utf-8")
    if not text.startswith("---"):
        return []
    try:
        metadata = yaml.safe_load(text.split("---", 2)[1]) or {}
    except yaml.YAMLError:
        return []
    examples = []
    for entry in metadata.get("widget") or []:
        fields = [part.strip() for part in str(entry.get("text", "")).split("|")]
        if len(fields) == 2 and default:
            fields.append(default)
        if len(fields) == 3 and all(fields) and (language := code(fields[2])) is not None:
            examples.append([*fields[:2], language])
    return examples


__all__ = ["candidate_code", "card_examples", "pipeline_default_language", "stored_relations"]
