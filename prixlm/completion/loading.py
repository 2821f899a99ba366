"""Read a Prix-LM dataset (folder or Hub id) for completion, checking it before any work.

Errors name the argument: a dataset path that does not exist or holds no configs, a target
or evidence language the dataset does not have, a split the target config lacks, a language
config without rows, a target without triples in the splits read (its relations are named by
the target's own labels: with none, nothing can be asked), a dataset without the `links`
config, an evidence language named in `--evidence_languages` that holds no triples. An
evidence language taken by default (every language but the target) that holds no triples (a
language with links only) is skipped, not refused: `CompletionKB.skipped_note` names it.
What is no fault of the dataset is not reported as one
(`prixlm.data.load_errors.not_the_dataset`): a Hub id that cannot be reached says so, and a
system error (the datasets cache read-only or full) names its path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prixlm.cli import UsageError
from prixlm.completion.knowledge import LINKS_CONFIG, NON_LANGUAGE_CONFIGS, LanguageFacts, Links
from prixlm.model_loading import HUB_ID


class CompletionInputError(UsageError):
    """A command-line input that cannot work (raised before any model or decoding work)."""


def dataset_languages(dataset: str) -> list[str]:
    """The language configs of `dataset` (every config but `links` and `all`)."""
    if not Path(dataset).exists() and not HUB_ID.fullmatch(dataset):
        raise CompletionInputError(f"--dataset {dataset}: no such folder")
    from prixlm.data.load_errors import hub_error, not_the_dataset
    from prixlm.data.loading import DatasetInputError, config_names

    try:
        configs = config_names(dataset)
    except DatasetInputError as err:  # a file, a folder without a card
        raise CompletionInputError(str(err)) from err
    except Exception as err:  # datasets raises several types for an unreadable dataset
        cause = hub_error(err, f"--dataset {dataset}", dataset) or not_the_dataset(err)
        if cause is err:
            raise
        if cause is not None:
            raise cause from err
        raise CompletionInputError(f"--dataset {dataset}: cannot read its configs ({err})") from err
    if LINKS_CONFIG not in configs:
        raise CompletionInputError(
            f"--dataset {dataset}: no '{LINKS_CONFIG}' config (configs: {sorted(configs)}); "
            "completion maps subjects and objects through the cross-lingual links"
        )
    languages = sorted(c for c in configs if c not in NON_LANGUAGE_CONFIGS)
    if not languages:
        raise CompletionInputError(f"--dataset {dataset}: no language configs")
    return languages


@dataclass
class CompletionKB:
    """The target's visible facts, the evidence languages' facts and the links."""

    target: LanguageFacts
    evidence: list[LanguageFacts]
    links: Links
    target_rows: dict[str, list[dict[str, Any]]]  # every split of the target config
    #: default evidence languages left out: their configs hold no triples (links only)
    skipped_evidence: list[str] = field(default_factory=list)

    def skipped_note(self) -> str | None:
        """One line naming the default evidence languages skipped, or None."""
        if not self.skipped_evidence:
            return None
        return (
            f"evidence languages skipped, their configs holding no triples: "
            f"{', '.join(self.skipped_evidence)}"
        )


def read_config(dataset: str, config: str) -> dict[str, list[dict[str, Any]]]:
    """Every split of `config` as row dicts (`prixlm.data.loading.load_kb`: no stale caches).
    A Hub id that cannot be reached and a system error (the datasets cache read-only or full)
    pass as `load_kb` raises them; any other failure names the config."""
    from prixlm.data.load_errors import not_the_dataset
    from prixlm.data.loading import load_kb

    try:
        return _to_rows(load_kb(dataset, config))
    except Exception as err:  # datasets raises several types for unreadable files
        cause = not_the_dataset(err)
        if cause is err:
            raise
        if cause is not None:
            raise cause from err
        message = f"--dataset {dataset}: config {config!r} is empty or unreadable ({err})"
        raise CompletionInputError(message) from err


def _to_rows(splits: Any) -> dict[str, list[dict[str, Any]]]:
    return {name: split.to_list() for name, split in splits.items()}


def load_completion_kb(
    dataset: str,
    target_language: str,
    evidence_languages: Sequence[str] | None = None,
    target_splits: Sequence[str] | None = None,
) -> CompletionKB:
    """Load the target (only `target_splits`, default all, count as facts it holds), the
    evidence languages (every split; default every other language holding triples: the others
    are skipped, `CompletionKB.skipped_evidence`) and the links.

    Raises:
        CompletionInputError: see the module doc.
    """
    languages = dataset_languages(dataset)
    if target_language not in languages:
        raise CompletionInputError(
            f"--target_language {target_language!r}: not a language of {dataset} ({languages})"
        )
    named = bool(evidence_languages)
    evidence_languages = list(evidence_languages or [c for c in languages if c != target_language])
    unknown = [c for c in evidence_languages if c not in languages or c == target_language]
    if unknown or not evidence_languages:
        raise CompletionInputError(
            f"--evidence_languages {','.join(evidence_languages)}: need languages of {dataset} "
            f"other than the target ({[c for c in languages if c != target_language]})"
        )
    target_rows = read_config(dataset, target_language)
    splits = list(target_rows) if target_splits is None else list(target_splits)
    missing = [s for s in splits if s not in target_rows]
    if missing:
        raise CompletionInputError(
            f"--target_splits: {missing} not in config {target_language!r} ({sorted(target_rows)})"
        )
    target = LanguageFacts(target_language)
    for split in splits:
        target.add_rows(target_rows[split])
    if not any(target_rows.values()):
        raise CompletionInputError(f"--dataset {dataset}: config {target_language!r} has no rows")
    if not target.objects:
        where = f"--dataset {dataset}" if target_splits is None else "--target_splits"
        raise CompletionInputError(
            f"{where}: config {target_language!r} holds no triples in the splits read "
            f"({', '.join(splits) or 'none'}); relations are named by the target's own "
            "labels, so nothing could be asked"
        )
    evidence, skipped = [], []
    for language in evidence_languages:
        facts = LanguageFacts(language)
        for rows in read_config(dataset, language).values():
            facts.add_rows(rows)
        if facts.objects:
            evidence.append(facts)
        elif named:
            raise CompletionInputError(
                f"--evidence_languages: config {language!r} of {dataset} has no triples"
            )
        else:
            skipped.append(language)
    if not evidence:
        raise CompletionInputError(
            f"--dataset {dataset}: no language but {target_language!r} holds triples "
            f"({', '.join(skipped)}: links only); there is no evidence to complete from"
        )
    links = Links()
    for rows in read_config(dataset, LINKS_CONFIG).values():
        links.add_rows(rows)
    if not links.targets:
        raise CompletionInputError(f"--dataset {dataset}: the '{LINKS_CONFIG}' config is empty")
    return CompletionKB(target, evidence, links, target_rows, skipped)


__all__ = [
    "CompletionInputError",
    "CompletionKB",
    "dataset_languages",
    "load_completion_kb",
    "read_config",
]
