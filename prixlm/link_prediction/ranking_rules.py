"""Filtered realistic ranks, hits@k and MRR over ranked prediction lists: the Python standard
library only.

This file is the one home of the ranking rules. `prixlm.link_prediction.ranking` re-exports
it (and adds the tensor path), and the Hub metrics `evaluate_metrics/hits_at_k` and
`evaluate_metrics/mrr` carry it as `ranking_rules.py` (a link to this file in the
repository, the file itself once uploaded), so `evaluate.load("<org>/hits_at_k")` works where
the `prixlm` package is not installed. Keep it free of imports beyond the standard library.

Definitions (those of PyKEEN's rank-based evaluator, "realistic" rank type):

- Filtered setting: before ranking a query's gold object, every *other* known true object
  of the query is removed from the candidates; the gold itself always stays.
- With scores (higher is better), the optimistic rank is `1 + #{c : s_c > s_gold}`, the
  pessimistic rank `#{c : s_c >= s_gold}` (the gold included), and the realistic rank their
  mean: the expected rank when ties are broken at random. Without scores, a ranked list has
  no ties and the rank is the 1-based position of the gold after filtering.
- A label repeated in a list counts once: at its first place without scores, with its best
  (highest) score with scores, so with scores the list order never matters.
- `ranks_for_lists` (the metrics' path) composes every label (Unicode NFC) before comparing,
  as the model encodes names; `filtered_rank` compares labels exactly as given.
- `hits_at_k = mean_q [rank_q <= k]`, `MRR = mean_q 1 / rank_q` (realistic ranks, so a gold
  tied with one other candidate at the top has rank 1.5: no hit at 1).
- Truncated lists (e.g. the entities a beam search completed): a gold missing from its list
  is a miss, counts 0 for every hits@k and 0 for MRR. The MRR of truncated lists counts a
  gold ranked below K as 0 too and is reported as `mrr_at_K` (K = the list bound, e.g. the
  beam size), never as `mrr`. It is not a bound of the full-ranking MRR either way: a
  candidate the beam pruned may score above the gold (a lower full rank) or be left out
  (a higher beam rank).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

#: A rank: 1-based, possibly fractional (ties); `None` when the gold is missing from its list.
Rank = float | None


def _check_labels(name: str, labels: Any) -> None:
    """Refuse a string where a collection of labels is expected (it would be read as characters)."""
    if isinstance(labels, (str, bytes)):
        raise TypeError(
            f"{name} is a string ({labels!r}): expected a list of labels, e.g. [{labels!r}]"
        )


def filtered_rank(
    ranked: Sequence[str],
    gold: str,
    scores: Sequence[float] | None = None,
    filter_objects: Iterable[str] = (),
) -> Rank:
    """Filtered realistic rank of `gold` in one query's ranked predictions.

    Labels are compared as given (exact strings); `ranks_for_lists`, the metrics' path,
    composes them (NFC) first.

    Args:
        ranked: predictions, best first. A repeated prediction counts once: at its first
            place without scores, with its best (highest) score with scores.
        gold: the object to rank.
        scores: optional, one per prediction, higher is better. With scores, ties are ranked
            realistically and the list order is ignored (the rank depends only on the
            (label, score) pairs); without, the rank is the position.
        filter_objects: other true objects of the query, removed before ranking (the gold
            stays even if listed here).
    Returns:
        The 1-based rank, a multiple of 0.5; `None` if `gold` is not in `ranked`.
    Raises:
        TypeError: `ranked` or `filter_objects` is a string (a collection of labels is
            expected: a string would be read as its single characters).
        ValueError: `scores` and `ranked` differ in length, or a score of a prediction that
            is not filtered out is NaN (whether or not `gold` is in `ranked`).
    """
    _check_labels("ranked", ranked)
    _check_labels("filter_objects", filter_objects)
    if scores is not None and len(scores) != len(ranked):
        raise ValueError(f"{len(scores)} scores for {len(ranked)} predictions")
    removed = set(filter_objects) - {gold}
    # each kept label once: its first place (no scores) or its best score (with scores)
    best: dict[str, float] = {}
    for index, label in enumerate(ranked):
        if label in removed:
            continue
        score = float(scores[index]) if scores is not None else 0.0
        if label not in best:
            best[label] = score
        elif score > best[label] or math.isnan(score):
            best[label] = score  # a NaN is kept, to be refused below
    kept_scores = list(best.values())
    if scores is not None and any(math.isnan(s) for s in kept_scores):
        raise ValueError("scores contain NaN")  # also when the gold is missing: no silent miss
    if gold not in best:
        return None
    if scores is None:
        return float(list(best).index(gold) + 1)
    gold_score = best[gold]
    optimistic = 1 + sum(s > gold_score for s in kept_scores)
    pessimistic = sum(s >= gold_score for s in kept_scores)
    return (optimistic + pessimistic) / 2


def rank_values(ranks: Iterable[Rank] | Any) -> list[float]:
    """Ranks as floats, `inf` for a miss (None, NaN or inf).

    Args:
        ranks: one per query; a sequence, or anything with `tolist()` (a `(queries,)` tensor).
    """
    if hasattr(ranks, "tolist"):
        ranks = ranks.tolist()
    values = [math.inf if r is None or math.isnan(r) else float(r) for r in ranks]
    if any(r < 1 for r in values):
        raise ValueError("ranks are 1-based: got a rank below 1")
    if not values:
        raise ValueError("no ranks: at least one query is needed")
    return values


def hits_at_k(ranks: Iterable[Rank] | Any, k: int) -> float:
    """Fraction of queries whose rank is at most `k` (a miss is never a hit)."""
    if k < 1:
        raise ValueError(f"k={k}: expected k >= 1")
    values = rank_values(ranks)
    return sum(r <= k for r in values) / len(values)


def mean_reciprocal_rank(ranks: Iterable[Rank] | Any) -> float:
    """Mean of `1 / rank` over queries; a miss contributes 0."""
    values = rank_values(ranks)
    return sum(1.0 / r for r in values) / len(values)


def hits_key(k: int) -> str:
    """The key of hits@k in every metrics dict and JSON file: `"hits_at_<k>"`."""
    return f"hits_at_{k}"


def metric_label(key: str) -> str:
    """How a metric key is shown: `hits_at_1` -> `Hits@1`, `mrr_at_50` -> `MRR@50`, `mrr` -> `MRR`."""
    name, _, cutoff = key.partition("_at_")
    shown = "Hits" if name == "hits" else name.upper()
    return f"{shown}@{cutoff}" if cutoff else shown


def mrr_key(cutoff: int | None) -> str:
    """`"mrr"` for full rankings, `"mrr_at_K"` for lists truncated at K."""
    return "mrr" if cutoff is None else f"mrr_at_{cutoff}"


def _composed(label: Any) -> Any:
    """`label` composed (NFC), as `modeling_prixlm.formatting` encodes every name; a
    non-string is returned as it is."""
    return unicodedata.normalize("NFC", label) if isinstance(label, str) else label


def _filter_labels(i: int, labels: Iterable[Any]) -> list[str]:
    """`filter_objects[i]` as composed labels: every entry must be a string (an entry of
    another type, e.g. the int 2 for the label "2", would filter nothing)."""
    _check_labels(f"filter_objects[{i}]", labels)
    composed = []
    for label in labels:
        if not isinstance(label, str):
            raise TypeError(
                f"filter_objects[{i}] holds a value of type {type(label).__name__} "
                f"({label!r}): expected string labels, e.g. {str(label)!r}"
            )
        composed.append(unicodedata.normalize("NFC", label))
    return composed


def check_filter_objects(
    filter_objects: Iterable[Iterable[Any]] | None,
) -> list[list[str]] | None:
    """`filter_objects` read once, as lists of composed labels (`None` stays `None`).

    Raises the `TypeError` of `ranks_for_lists` for a `filter_objects` entry that is not a
    collection of strings (`["Paris"]` for `[["Paris"]]`, `[[2]]`) on its own: the metrics
    check their arguments before `evaluate` caches anything, then pass on the lists returned
    here, since an entry that is an iterator can be read only once.
    """
    if filter_objects is None:
        return None
    _check_labels("filter_objects", filter_objects)
    return [_filter_labels(i, labels) for i, labels in enumerate(filter_objects)]


def ranks_for_lists(
    predictions: Sequence[Sequence[str]],
    references: Sequence[str],
    prediction_scores: Sequence[Sequence[float]] | None = None,
    filter_objects: Sequence[Iterable[str]] | None = None,
) -> list[Rank]:
    """`filtered_rank` of every query (the inputs of the evaluate metrics).

    Labels (predictions, references, filter objects) are composed (Unicode NFC) before they
    are compared, as the model encodes every name: "Französisch" spelled with a combining
    diaeresis (NFD) is the same label as with "ö" (NFC). Two predictions that compose to the
    same label are one repeated prediction (`filtered_rank`: first place, or best score).

    Raises:
        ValueError: the columns differ in length.
        TypeError: some `predictions[i]` or `filter_objects[i]` is a string rather than a
            list of labels (`filter_objects=["Paris"]` for `[["Paris"]]`), or an entry of
            `filter_objects[i]` is not a string (`[[2]]` for `[["2"]]`), or some
            `references[i]` is not a string (`2` for `"2"`).
    """
    n = len(predictions)
    if len(references) != n:
        raise ValueError(f"{n} predictions but {len(references)} references")
    for name, column in (
        ("prediction_scores", prediction_scores),
        ("filter_objects", filter_objects),
    ):
        if column is not None and len(column) != n:
            raise ValueError(f"{n} predictions but {len(column)} {name}")
    for i in range(n):
        _check_labels(f"predictions[{i}]", predictions[i])
        if not isinstance(references[i], str):  # the int 2 never equals the label "2"
            raise TypeError(
                f"references[{i}] is of type {type(references[i]).__name__} "
                f"({references[i]!r}): expected a string label, e.g. {str(references[i])!r}"
            )
    filters = [
        [] if filter_objects is None else _filter_labels(i, filter_objects[i]) for i in range(n)
    ]
    return [
        filtered_rank(
            [_composed(label) for label in predictions[i]],
            _composed(references[i]),
            None if prediction_scores is None else prediction_scores[i],
            filters[i],
        )
        for i in range(n)
    ]


__all__ = [
    "Rank",
    "check_filter_objects",
    "filtered_rank",
    "hits_at_k",
    "hits_key",
    "mean_reciprocal_rank",
    "metric_label",
    "mrr_key",
    "rank_values",
    "ranks_for_lists",
]
