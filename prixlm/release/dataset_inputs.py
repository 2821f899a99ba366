"""What a release folder takes from its built dataset: the candidate labels
(`candidates.json`) and relation names (`relations.json`) of each language, and the model
card's widget examples. `prixlm.release.folder` writes them (and re-exports these)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from modeling_prixlm.pipeline_queries import SEPARATOR, default_language


def dataset_candidates(dataset_dir: str | Path, languages: Iterable[str]) -> dict[str, list[str]]:
    """`candidates.json`: every label of each language in a built dataset's triples (all
    splits) or link ends, the candidates `evaluate_lp`, training's link prediction and
    `prixlm.complete` rank (`prixlm.link_prediction.candidate_files.dataset_candidates`)."""
    from prixlm.link_prediction.candidate_files import dataset_candidates as candidates

    return candidates(dataset_dir, languages)


def dataset_relations(dataset_dir: str | Path, languages: Iterable[str]) -> dict[str, list[str]]:
    """The relation names of each language's triples in a built dataset (all splits), sorted."""
    from prixlm.data.columns import column
    from prixlm.data.loading import load_kb

    return {
        language: sorted(
            {
                name
                for split in load_kb(dataset_dir, language).values()
                for name in column(split, "relation")
            }
            - {""}
        )
        for language in languages
    }


def widget_examples(
    rows: Iterable[Mapping[str, Any]], languages: Sequence[str], limit: int = 3
) -> list[dict[str, str]]:
    """Pipeline inputs for the model card's widget: `[{"text": "Germany | currency"}, ...]`.

    The first distinct (subject, relation) triple query of each language in `rows` (dataset
    rows), languages taken in turn, at most `limit`; a language other than the pipeline's
    default for `languages` (the stored candidate languages) is named: `"s | r | de"`.
    """
    default = default_language(sorted(languages))
    queues: dict[str, list[str]] = {language: [] for language in languages}
    for row in rows:
        language = row.get("subject_language")
        if row.get("kind", "triple") != "triple" or language not in queues:
            continue
        subject, relation = row["subject"], row["relation"]
        if SEPARATOR in subject + relation:  # not expressible as a text input
            continue
        text = f"{subject} {SEPARATOR} {relation}"
        if language != default:
            text += f" {SEPARATOR} {language}"
        queue = queues[language]
        if len(queue) < limit and text not in queue:
            queue.append(text)
    examples: list[dict[str, str]] = []
    for depth in range(limit):
        for language in languages:
            if len(examples) < limit and depth < len(queues[language]):
                examples.append({"text": queues[language][depth]})
    return examples


__all__ = ["dataset_candidates", "dataset_relations", "widget_examples"]
