"""Candidate labels the model's positions can hold: one rule for every candidate set.

A candidate is fed after its query's prompt, and the two must fit the model's positions.
A label longer than the positions less the shortest prompt of the queries asked
(`modeling_prixlm.position_checks.candidate_room`: one-token names) fits no query: it is
left out, counted (`candidates_too_long`) and named in a warning, and a query whose gold
answer it is cannot be answered (a miss). The release's `candidates.json`
(`prixlm.release.folder`), link-prediction evaluation (`evaluation.evaluate_protocols`:
`evaluate_lp` and the training curve) and the training curve's record use this rule;
completion (`prixlm.completion.propose.fit_to_model`) measures labels the same way and
fits them after the longest prompt of its queries instead. A query whose own prompt is
longer is ranked among the candidates that fit after it (`prompt_groups`, its own module).
Labels holding a control token's text are left out the same way (`readable_labels_trie`,
`candidates_unreadable`), and so is a query whose subject or relation holds one
(`unreadable_queries`, `queries_unreadable`: a miss, as training left its facts out).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modeling_prixlm.candidate_checks import (
    readable_split,
    readable_trie,
    trie_within,
    unreadable_message,
)
from modeling_prixlm.constrained_decoding import EntityTrie
from modeling_prixlm.formatting import control_token_ids
from modeling_prixlm.label_encoding import encode_labels
from modeling_prixlm.position_checks import (
    SHORTEST_PROMPT_TOKENS,
    PositionBudgetError,
    candidate_room,
    positions_of,
    query_kind,
)
from prixlm.link_prediction.ranking import hits_key
from prixlm.link_prediction.scorer import canonical_labels

#: Labels a warning quotes (each cut to `EXAMPLE_CHARACTERS` characters).
EXAMPLES_SHOWN = 3
EXAMPLE_CHARACTERS = 60


def label_token_counts(tokenizer: Any, labels: Sequence[str]) -> list[int]:
    """Tokens of each label as the model reads it (composed, NFC, as the trie and the
    prompts; no special tokens, its `[EOS]` not counted)."""
    # one batch through the tokenizer's Rust backend where it gives the same ids
    # (`label_encoding.encode_labels`): transformers built a Python object per label
    return [len(ids) for ids in encode_labels(tokenizer, labels)]


def too_long_labels(
    tokenizer: Any,
    config: Any,
    labels: Sequence[str],
    kinds: Iterable[str] = ("triple",),
    counts: Sequence[int] | None = None,
) -> list[str]:
    """The labels (in order) that fit no query of `kinds` in the positions of a model with
    `config`: longer than `candidate_room` (none for a config without positions). `counts`:
    the labels' `label_token_counts` when already known (not tokenised again)."""
    positions = positions_of(config)
    if positions is None or not labels:
        return []
    room = candidate_room(positions, kinds)
    if counts is None:
        counts = label_token_counts(tokenizer, labels)
    return [label for label, count in zip(labels, counts, strict=True) if count > room]


class CandidatesLeftOutWarning(UserWarning):
    """Candidate labels left out: longer than the model's positions hold after a prompt."""


def warn_too_long(left_out: Sequence[str], total: int, where: str, room: int) -> None:
    """One `CandidatesLeftOutWarning`: how many of the `total` candidate labels of `where`
    were left out, with a few examples."""
    examples = []
    for label in left_out[:EXAMPLES_SHOWN]:
        cut = label if len(label) <= EXAMPLE_CHARACTERS else label[:EXAMPLE_CHARACTERS] + "…"
        examples.append(repr(cut))
    more = ", …" if len(left_out) > EXAMPLES_SHOWN else ""
    warnings.warn(
        f"{where}: {len(left_out)} of the {total} candidate labels are longer than the "
        f"{room} tokens that the model's positions hold after the shortest prompt: left out, "
        f"no query can reach them (e.g. {', '.join(examples)}{more})",
        CandidatesLeftOutWarning,
        stacklevel=3,
    )


def fitting_candidates(
    tokenizer: Any,
    config: Any,
    candidates: Mapping[str, Sequence[str]],
    kinds: Iterable[str] = ("triple",),
    counts: Mapping[str, Sequence[int]] | None = None,
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """`({language: labels that fit}, {language: labels left out})` of `candidates`, a
    warning per language with labels left out; a language none of whose labels fits is
    left out whole (and listed in the second value). `counts`: `{language: each label's
    token count}` where already known (`readable_candidates`; not tokenised again)."""
    kinds = list(kinds)
    positions = positions_of(config)
    kept: dict[str, list[str]] = {}
    left_out: dict[str, list[str]] = {}
    for language, labels in candidates.items():
        labels = list(labels)
        known = (counts or {}).get(language)
        too_long = too_long_labels(tokenizer, config, labels, kinds, known)
        if too_long:
            whole = " (the language is left out)" if len(too_long) == len(labels) else ""
            room = candidate_room(positions, kinds)
            warn_too_long(too_long, len(labels), f"candidates[{language!r}]{whole}", room)
            left_out[language] = too_long
            dropped = set(too_long)
            labels = [label for label in labels if label not in dropped]
        if labels:
            kept[language] = labels
    return kept, left_out


class UnreadableCandidatesWarning(UserWarning):
    """Candidate labels (or queries) left out: they hold a control token's text (`[O]`,
    `</s>`, `[en]`), which the model reads as that token and not as a name."""


def query_names(rows: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    """Each row's prompt names: its subject, and a triple's relation (a link has none)."""
    return [
        [row.get("subject")] + [row.get("relation")] * (row.get("kind", "triple") != "link")
        for row in rows
    ]


def encoded_names(tokenizer: Any, names: Iterable[str]) -> dict[str, list[int]]:
    """The ids of each distinct name of `names`, composed (NFC) as prompts are encoded
    (`formatting`), no special tokens, in one tokenizer call."""
    distinct = list(dict.fromkeys(names))
    if not distinct:
        return {}
    return dict(zip(distinct, encode_labels(tokenizer, distinct), strict=True))


def unreadable_queries(tokenizer: Any, rows: Sequence[Mapping[str, Any]]) -> list[bool]:
    """Whether each row's prompt names (`query_names`) hold a control token's text:
    `encode_query` refuses them (`formatting.ControlTokenError`). A name that is not a
    string is left to `encode_query` to refuse."""
    names = query_names(rows)
    ids = encoded_names(tokenizer, (n for one in names for n in one if isinstance(n, str)))
    controls = control_token_ids(tokenizer)
    bad = {name for name, one in ids.items() if not controls.isdisjoint(one)}
    return [any(isinstance(n, str) and n in bad for n in one) for one in names]


def readable_labels_trie(
    tokenizer: Any, labels: Sequence[str], where: str
) -> tuple[EntityTrie, list[str]]:
    """`(trie of the readable labels, unreadable labels)`, each label tokenised once
    (`candidate_checks.readable_trie`), one `UnreadableCandidatesWarning` naming how many
    were left out and one of them.

    Raises:
        ValueError: every label is unreadable (none is left to rank), or none is given.
    """
    trie, readable, unreadable = readable_trie(tokenizer, labels)
    if unreadable:
        message = unreadable_message(unreadable, len(readable) + len(unreadable), where)
        if trie is None:
            raise ValueError(f"{message}; none is left to rank")
        warnings.warn(message, UnreadableCandidatesWarning, stacklevel=2)
    assert trie is not None  # every label unreadable raised above
    return trie, unreadable


def readable_candidates(
    tokenizer: Any,
    candidates: Mapping[str, Sequence[str]],
    counts: dict[str, list[int]] | None = None,
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """`({language: readable labels}, {language: unreadable labels})` of `candidates`, one
    warning per language with labels left out; a language with no readable label is left
    out whole (and listed in the second value). `counts`, when given, gets each readable
    label's token count per language (`label_token_counts`, for `fitting_candidates`)."""
    kept: dict[str, list[str]] = {}
    left_out: dict[str, list[str]] = {}
    for language, labels in candidates.items():
        readable, unreadable, encoded = readable_split(tokenizer, labels)
        if counts is not None:
            counts[language] = [len(ids) for ids in encoded]
        if unreadable:
            whole = " (the language is left out)" if not readable else ""
            message = unreadable_message(
                unreadable, len(labels), f"candidates[{language!r}]{whole}"
            )
            warnings.warn(message, UnreadableCandidatesWarning, stacklevel=3)
            left_out[language] = unreadable
        if readable:
            kept[language] = readable
    return kept, left_out


@dataclass
class FittedCandidates:
    """A trie and rows cut to what the model's positions hold (`fit_trie`): `trie` ranks
    the candidates that fit, `rows` are the queries whose gold is among them, and
    `unreachable` counts the queries whose gold was left out (each a miss); `gold_too_long`
    those of them whose gold was left out as too long (`too_long`)."""

    trie: EntityTrie
    rows: list[Mapping[str, Any]]
    too_long: list[str] = field(default_factory=list)
    unreachable: int = 0
    unreadable: list[str] = field(default_factory=list)
    queries_unreadable: int = 0  # queries naming a control token's text: misses
    gold_too_long: int = 0  # queries whose gold no prompt fits beside: misses

    def no_ranks(self, mrr: str, ks: Sequence[int]) -> dict[str, Any]:
        """The metrics of no ranked query, under the MRR key `mrr` (every query unreachable:
        `counted` adds them as misses)."""
        metrics: dict[str, Any] = {hits_key(k): 0.0 for k in ks}
        canonical = canonical_labels(self.trie)
        merged = sum(label != first for label, first in canonical.items())
        return {
            **metrics,
            mrr: 0.0,
            "num_queries": 0,
            "num_missing": 0,
            "merged_candidates": merged,
        }

    def counted(self, metrics: dict[str, Any]) -> dict[str, Any]:
        """`metrics` of `rows` as metrics of every query: each unreachable one a miss (hits
        and reciprocal rank 0, `num_missing`); with labels left out, `candidates_too_long`,
        and `queries_gold_too_long` where some queries' golds are among them (added to the
        count of golds that did not fit after their own prompt, `prompt_groups.combined`)."""
        if self.too_long:
            metrics["candidates_too_long"] = len(self.too_long)
        if self.gold_too_long:
            known = metrics.get("queries_gold_too_long", 0)
            metrics["queries_gold_too_long"] = known + self.gold_too_long
        if self.unreadable:
            metrics["candidates_unreadable"] = len(self.unreadable)
        if self.queries_unreadable:
            metrics["queries_unreadable"] = self.queries_unreadable
        if not self.unreachable:
            return metrics
        ranked = metrics["num_queries"]
        total = ranked + self.unreachable
        for key, value in metrics.items():
            if key.startswith(("hits_at_", "mrr")):
                metrics[key] = value * ranked / total
        metrics["num_queries"] = total
        metrics["num_missing"] += self.unreachable
        return metrics


def fit_trie(
    tokenizer: Any,
    config: Any,
    trie: EntityTrie,
    rows: Sequence[Mapping[str, Any]],
    unreadable: Sequence[str] = (),
) -> FittedCandidates:
    """`trie` (built with labels) without the candidates that fit no query of the kinds of
    `rows` (a warning names them), and `rows` without those whose gold was left out, here
    or before as `unreadable` (`readable_labels_trie`; counted as `candidates_unreadable`),
    and without those whose subject or relation holds a control token's text
    (`unreadable_queries`: a warning, counted as `queries_unreadable`); each is a miss.

    Raises:
        PositionBudgetError: no candidate fits.
    """
    rows = list(rows)
    flags = unreadable_queries(tokenizer, rows)
    asked = [row for row, bad in zip(rows, flags, strict=True) if not bad]
    if len(asked) < len(rows):
        first = rows[flags.index(True)]
        warnings.warn(
            f"link prediction: {len(rows) - len(asked)} of the {len(rows)} queries name an "
            "entity or relation holding the text of one of the model's control tokens (e.g. "
            f"{first.get('subject')!r} | {first.get('relation')!r}), which the model reads "
            "as that token and not as a name (training left such facts out): counted as misses",
            UnreadableCandidatesWarning,
            stacklevel=2,
        )
    unread = set(unreadable)
    readable = [row for row in asked if row["object"] not in unread]
    fitted = _fit_positions(tokenizer, config, trie, readable)
    fitted.unreadable = list(unreadable)
    fitted.queries_unreadable = len(rows) - len(asked)
    fitted.unreachable += len(rows) - len(readable)  # an unreadable gold or query: a miss
    return fitted


def _fit_positions(
    tokenizer: Any, config: Any, trie: EntityTrie, rows: list[Mapping[str, Any]]
) -> FittedCandidates:
    """`fit_trie` of readable candidates."""
    positions = positions_of(config)
    if positions is None or trie.labels is None:
        return FittedCandidates(trie, rows)
    kinds = sorted({query_kind(row) for row in rows})
    room = candidate_room(positions, kinds)
    if trie.max_length - 1 <= room:
        return FittedCandidates(trie, rows)
    over = (trie.entity_lengths() - 1 > room).tolist()
    too_long = [label for label, long in zip(trie.labels, over, strict=True) if long]
    kept = [label for label, long in zip(trie.labels, over, strict=True) if not long]
    if not kept:
        shortest = max(SHORTEST_PROMPT_TOKENS[kind] for kind in kinds)
        raise PositionBudgetError(
            f"none of the {len(too_long)} candidates fits the model's {positions} positions "
            f"after the shortest prompt ({shortest} tokens): each is longer than {room} tokens"
        )
    warn_too_long(too_long, len(trie.labels), "link prediction", room)
    dropped = set(too_long)
    reachable = [row for row in rows if row["object"] not in dropped]
    fitted = trie_within(trie, room + 1)  # its own ids: no label tokenised again
    missed = len(rows) - len(reachable)
    return FittedCandidates(fitted, reachable, too_long, missed, gold_too_long=missed)


__all__ = [
    "CandidatesLeftOutWarning",
    "FittedCandidates",
    "UnreadableCandidatesWarning",
    "fit_trie",
    "fitting_candidates",
    "label_token_counts",
    "readable_candidates",
    "encoded_names",
    "query_names",
    "readable_labels_trie",
    "too_long_labels",
    "unreadable_queries",
    "warn_too_long",
]
