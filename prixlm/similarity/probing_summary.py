"""How probing results are summed up: per language over its relations, and over languages.

A language's `accuracy` is the mean over its relations (mLAMA's average), `micro_accuracy`
the share over its probes. The multi-token protocol's `average` is over the languages the
model was trained on: a Prix-LM model that has no language token for a language (config
`language_token_ids`, as `prixlm.complete` checks its target language) writes that
language's answers through `<unk>`, its different answers tokenise alike and rank as one
candidate (`merged_candidates`), and its accuracy says nothing of what the model knows
(4 probes, 4 different answers: accuracy 1.0, chance 1.0). Such a language is still
scored and shown, marked `"model_language": false`, and listed in `not_averaged`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

#: Counts a language sums over its relations, where its relations have them (the last three
#: only where not 0: `probing_multi_token`).
SUMMED = ("merged_candidates", "num_missing", "candidates_unreadable",
          "probes_with_candidates_too_long")  # fmt: skip


def summarise_relations(per_relation: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One language's figures from its relations' (`per_relation` kept inside): `accuracy`,
    `micro_accuracy`, `num_probes`, `num_unaskable`, the mean `mrr`, `chance_accuracy` and
    `chance_mrr` where every relation with probes has them, and the `SUMMED` counts where
    the relations have them."""
    counted = {r: m for r, m in per_relation.items() if m["num_probes"]}
    total = sum(m["num_probes"] for m in counted.values())
    hits = sum(m["accuracy"] * m["num_probes"] for m in counted.values())
    summary: dict[str, Any] = {
        "accuracy": (
            sum(m["accuracy"] for m in counted.values()) / len(counted) if counted else None
        ),
        "micro_accuracy": hits / total if total else None,
        "num_probes": total,
        "num_unaskable": sum(m["num_unaskable"] for m in per_relation.values()),
        "per_relation": per_relation,
    }
    for key in ("mrr", "chance_accuracy", "chance_mrr"):
        if counted and all(key in m for m in counted.values()):
            summary[key] = sum(m[key] for m in counted.values()) / len(counted)
    for key in SUMMED:
        if any(key in m for m in per_relation.values()):
            summary[key] = sum(m.get(key, 0) for m in per_relation.values())
    return summary


def average(per_language: Mapping[str, Mapping[str, Any]], key: str = "accuracy") -> float | None:
    """The mean of `key` over the languages that have it (not None), or None."""
    values = [m[key] for m in per_language.values() if m.get(key) is not None]
    return sum(values) / len(values) if values else None


def languages_not_in_model(model: Any, languages: Iterable[str]) -> list[str]:
    """Those of `languages` the model has no language token for (config
    `language_token_ids`, codes compared as `language_key` spells them); none for a model
    whose config records no languages (a masked LM)."""
    from modeling_prixlm.formatting import language_key

    known = getattr(model.config, "language_token_ids", None) or {}
    keys = {language_key(code) for code in known}
    return sorted(code for code in languages if keys and language_key(code) not in keys)


def multi_token_summary(model: Any, per_language: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The multi-token protocol's results: `per_language` (each marked `model_language`
    when the model records its languages), `average`, `average_mrr` and `average_chance`
    over the model's languages, and `not_averaged`, the languages left out (warned)."""
    left_out = languages_not_in_model(model, per_language)
    if getattr(model.config, "language_token_ids", None):
        for language, summary in per_language.items():
            summary["model_language"] = language not in left_out
    if left_out:
        known = sorted(model.config.language_token_ids)
        warnings.warn(
            f"probing languages {', '.join(left_out)}: the model has no language token for "
            f"them (its languages: {', '.join(known)}); their answers may be written through "
            "<unk> and merge, so their multi-token accuracy is shown but left out of the "
            "averages",
            stacklevel=3,
        )
    averaged = {lang: m for lang, m in per_language.items() if lang not in left_out}
    return {
        "per_language": per_language,
        "average": average(averaged),
        "average_mrr": average(averaged, "mrr"),
        "average_chance": average(averaged, "chance_accuracy"),
        "not_averaged": left_out,
    }


__all__ = ["average", "languages_not_in_model", "multi_token_summary", "summarise_relations"]
