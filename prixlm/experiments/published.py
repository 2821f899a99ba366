"""Published DBP-5L figures (`dbp5l_published.json`), checked, and as a markdown table.

The file maps a system to `{language: {metric: fraction}}` plus its `source` (where each
number was read), `source_kind` and an optional `caveat`; keys starting with `_` are notes.
Only numbers read in a source text are there: a missing metric was not found. The protocol
each paper's code follows is in docs/dbp5l_protocol.md; compare our `kens` protocol rows
(`evaluate_lp --protocol ours,kens`) with these.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PUBLISHED_FILE = Path(__file__).with_name("dbp5l_published.json")
LANGUAGES = ("el", "ja", "es", "fr", "en")
METRICS = ("hits_at_1", "hits_at_10", "mrr")
_FIELDS = {"source", "source_kind", "caveat"}


def load_published(path: str | Path = PUBLISHED_FILE) -> dict[str, dict[str, Any]]:
    """The systems of the file at `path` (notes left out), each checked.

    Raises:
        ValueError: naming the file and system: no `source`, an unknown language or
            metric, or a value outside [0, 1] (a percentage where a fraction belongs).
    """
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    systems = {name: entry for name, entry in data.items() if not name.startswith("_")}
    for name, entry in systems.items():
        where = f"{path}: {name!r}"
        if not entry.get("source"):
            raise ValueError(f"{where}: no source")
        for language, metrics in entry.items():
            if language in _FIELDS:
                continue
            if language not in LANGUAGES:
                raise ValueError(f"{where}: unknown language {language!r}")
            for metric, value in metrics.items():
                if metric not in METRICS:
                    raise ValueError(f"{where}: {language} has unknown metric {metric!r}")
                if not isinstance(value, int | float) or not 0 <= value <= 1:
                    raise ValueError(f"{where}: {language} {metric}={value!r} is not in [0, 1]")
    return systems


def published_markdown(systems: dict[str, dict[str, Any]]) -> str:
    """One row per system, one column per language: `hits@1 / hits@10 / MRR` in %, `-` for
    a number not found."""
    lines = [
        "| system | " + " | ".join(LANGUAGES) + " |",
        "|---|" + "---:|" * len(LANGUAGES),
    ]
    for name, entry in systems.items():
        cells = []
        for language in LANGUAGES:
            metrics = entry.get(language, {})
            values = [metrics.get(m) for m in METRICS]
            cells.append(" / ".join("-" if v is None else f"{100 * v:.1f}" for v in values))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


__all__ = ["LANGUAGES", "METRICS", "PUBLISHED_FILE", "load_published", "published_markdown"]
