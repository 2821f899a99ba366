"""XEL queries on the embedded default: the CLDR KB's cross-lingual links.

A query is an entity's label in language L (the mention); its gold is the entity's English
label among **all** English labels of the KB (the target set: every entity `en` names,
territories, languages, scripts, currencies, cities and time zones alike). Labels are those
of the CLDR export (`prixlm.data.cldr.export.build_locale_kb`: unique per language, the same
strings the dataset build and the model see). Entities are identified by their CLDR code.

Which queries, and what the model saw:

- Languages: by default the paper's eight non-English languages (it, de, fr, fi, et, tr, hu,
  ja) plus LR-XEL's three low-resource ones, te, lo and mr, which CLDR covers (about 1,600
  entities each).
- Seen or not: the CLDR build puts every link in the `links` config's train split.
  `training_dataset` names the dataset folder the model was trained on; a query whose link
  the run trained on is marked *seen* (with the model's folder: only between its languages,
  with links, and shorter than its `max_fact_length`: train.py drops longer facts), and the
  CLI reports the metrics of the unseen queries alone as well. Languages outside the model's training set (te, lo, mr in the demo)
  are entirely unseen: that is the held-out part of this benchmark.
- A mention spelled like its English label (case-insensitively) is dropped by default: a
  string match, not cross-lingual linking (CLDR falls back to English-like city names where a
  locale has none). The counts dropped are reported.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prixlm.similarity.xel_readers import XelQuery, XelTarget

#: LR-XEL's languages (paper Table 2); CLDR names enough entities in each.
LOW_RESOURCE_LANGUAGES = ("te", "lo", "mr")
TARGET_LANGUAGE = "en"


def default_languages() -> list[str]:
    """The paper's eight non-English languages, then te, lo, mr."""
    from prixlm.data.cldr.export import PAPER_LOCALES

    return [code for code in PAPER_LOCALES if code != TARGET_LANGUAGE] + list(
        LOW_RESOURCE_LANGUAGES
    )


@dataclass
class CldrXel:
    """Queries, targets and, per query, whether its link was in the training data."""

    queries: list[XelQuery]
    targets: list[XelTarget]
    seen: list[bool]
    info: dict[str, Any] = field(default_factory=dict)


def _entity_id(entity: Any) -> str:
    return f"{entity.kind}:{entity.code}"


def training_links(
    dataset: str | Path, model: str | Path | None = None
) -> set[tuple[str, str, str, str]]:
    """`(subject_language, subject, object_language, object)` of every link row of the
    dataset's `links` config (both directions are rows), or, with `model` (a release folder
    with `train_results.json`), of the link rows that run trained on: none without links
    (`--variant single`, `--links false`), only between its languages, only facts shorter
    than its `max_fact_length` in its tokenizer's tokens, none with a name read as a control
    token (train.py drops the others)."""
    from prixlm.data.columns import columns
    from prixlm.data.loading import load_kb

    rows = load_kb(dataset, "links", split="train", argument="--training_dataset")
    names = ("subject_language", "subject", "object_language", "object")
    results = Path(model) / "train_results.json" if model is not None else None
    if results is None or not results.is_file():
        return set(zip(*columns(rows, names), strict=True))
    run = json.loads(results.read_text(encoding="utf-8"))
    base = _continued_links(dataset, run.get("continued_from"))
    if run.get("variant", "all") != "all" or not run.get("links", True):
        return base
    from transformers import AutoTokenizer

    from modeling_prixlm.formatting import (
        MAX_FACT_LENGTH,
        ControlTokenError,
        encode_row,
        special_token_ids,
        within_length,
    )
    from prixlm.model_loading import is_prixlm
    from prixlm.training.data import BatchTokenized

    languages = set(run.get("languages") or [])
    longest = run.get("max_fact_length", MAX_FACT_LENGTH) or None
    tokenizer = AutoTokenizer.from_pretrained(str(model), trust_remote_code=is_prixlm(model))
    kept = [
        row
        for row in rows.to_list()  # at once: a `Dataset` read row by row formats each row
        if row["subject_language"] in languages and row["object_language"] in languages
    ]
    # as train.py encodes them: the names tokenised in one call, the fact tokens looked up
    # once (a row's language without a token is looked up again by encode_row, naming it)
    fast = BatchTokenized(tokenizer, [row[c] for row in kept for c in ("subject", "object")])
    ids = special_token_ids(tokenizer)

    def trained(row: dict[str, Any]) -> bool:
        try:
            return within_length(encode_row(fast, row, ids), longest)
        except ControlTokenError:  # a name holding `[O]`: train.py drops it (encode_batch)
            return False

    return base | {tuple(row[c] for c in names) for row in kept if trained(row)}


def _continued_links(dataset: str | Path, release: dict | None) -> set[tuple[str, str, str, str]]:
    """The links a release that a run continued (`train_results.json`'s `continued_from`)
    trained on: those of its own record where its folder holds one, else (a Hub id, the
    converted official checkpoint, a folder gone) every link of the dataset; none where
    the run continued no release."""
    if not release:
        return set()
    folder = release.get("folder")
    return training_links(dataset, folder if folder and Path(folder).is_dir() else None)


def cldr_xel_queries(
    languages: Sequence[str] | None = None,
    training_dataset: str | Path | None = None,
    drop_identical: bool = True,
    model: str | Path | None = None,
) -> CldrXel:
    """XEL queries from CLDR: each entity's label in L -> its English label.

    Args:
        languages: CLDR locale ids of the mentions (default: `default_languages()`).
        training_dataset: the dataset folder the model was trained on (marks seen links).
        drop_identical: drop mentions equal to their English label (case-folded).
        model: the model's folder: only the links its run trained on are seen
            (`training_links`).
    Returns:
        `CldrXel` with `info[lang] = {"queries", "seen", "identical_dropped"}` and
        `info["targets"]` (the number of English labels).
    """
    from prixlm.data.cldr.export import build_locale_kb, resolve_locales

    locale_ids = resolve_locales(list(languages) if languages else default_languages())
    english = build_locale_kb(TARGET_LANGUAGE)
    targets = [XelTarget(label, _entity_id(e)) for e, label in sorted(english.labels.items())]
    links = training_links(training_dataset, model) if training_dataset is not None else set()
    queries, seen, info = [], [], {"targets": len(targets)}
    for locale_id in locale_ids:
        kb = build_locale_kb(locale_id)
        if kb.language == TARGET_LANGUAGE:
            raise ValueError("XEL links mentions to English: drop 'en' from the languages")
        counts = {"queries": 0, "seen": 0, "identical_dropped": 0}
        for entity, label in sorted(kb.labels.items()):
            gold = english.labels.get(entity)
            if gold is None:
                continue
            if drop_identical and label.casefold() == gold.casefold():
                counts["identical_dropped"] += 1
                continue
            was_seen = (kb.language, label, TARGET_LANGUAGE, gold) in links or (
                TARGET_LANGUAGE,
                gold,
                kb.language,
                label,
            ) in links
            queries.append(XelQuery(label, frozenset([_entity_id(entity)]), kb.language))
            seen.append(was_seen)
            counts["queries"] += 1
            counts["seen"] += int(was_seen)
        info[kb.language] = counts
    return CldrXel(queries, targets, seen, info)


def split_seen(
    queries: Sequence[XelQuery], seen: Sequence[bool]
) -> tuple[list[XelQuery], list[XelQuery]]:
    """`(seen queries, unseen queries)`."""
    if len(queries) != len(seen):
        raise ValueError(f"{len(queries)} queries but {len(seen)} seen flags")
    return (
        [q for q, s in zip(queries, seen, strict=True) if s],
        [q for q, s in zip(queries, seen, strict=True) if not s],
    )


__all__ = [
    "LOW_RESOURCE_LANGUAGES",
    "CldrXel",
    "cldr_xel_queries",
    "default_languages",
    "split_seen",
    "training_links",
]
