"""Candidate lists from a file: `{language: [label, ...]}` in JSON (`evaluate_lp --candidates`).

The DBP-5L papers rank every entity of a KG's entity list, also those no triple names; a file
of that list per language (in entity-id order, for the `index` ties of the `kens` protocol)
makes `prixlm` rank the same candidates.
"""

from __future__ import annotations

import json

from prixlm.cli import UsageError


def read_candidates(path: str, argument: str = "--candidates") -> dict[str, list[str]]:
    """`{language: [label, ...]}` from the JSON file `path`.

    Raises:
        UsageError: naming `argument` and the file (and the line for malformed JSON) when it
            cannot be read, is not JSON, or is not an object of lists of distinct strings.
    """
    where = f"{argument} {path}"
    try:
        with open(path, encoding="utf-8") as handle:
            value = json.load(handle)
    except json.JSONDecodeError as error:
        raise UsageError(f"{where}:{error.lineno}: not JSON ({error.msg})") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{where}: cannot be read ({error})") from None
    if not isinstance(value, dict):
        raise UsageError(f"{where}: expected an object {{language: [labels]}}")
    for language, labels in value.items():
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise UsageError(f"{where}: {language!r} is not a list of strings")
        if len(set(labels)) != len(labels):
            raise UsageError(f"{where}: {language!r} repeats a label")
    return value


__all__ = ["read_candidates"]
