"""Filtered ranks, hits@k and MRR for link prediction.

Definitions (those of PyKEEN's rank-based evaluator, "realistic" rank type):

- Filtered setting: before ranking a query's gold object, every *other* known true object
  of the query is removed from the candidates; the gold itself always stays.
- With scores (higher is better), the optimistic rank is `1 + #{c : s_c > s_gold}`, the
  pessimistic rank `#{c : s_c >= s_gold}` (the gold included), and the realistic rank their
  mean: the expected rank when ties are broken at random. Without scores, a ranked list has
  no ties and the rank is the 1-based position of the gold after filtering.
- `hits@k = mean_q [rank_q <= k]`, `MRR = mean_q 1 / rank_q` (realistic ranks, so a gold
  tied with one other candidate at the top has rank 1.5: no hit at 1).
- Truncated lists (e.g. the entities a beam search completed): a gold missing from its list
  is a miss, counts 0 for every hits@k and 0 for MRR. The MRR of truncated lists is a lower
  bound of the true MRR and is reported as `mrr@K` (K = the list bound, e.g. the beam size),
  never as `mrr`.

Plain functions, no framework: `evaluate_metrics/{hits_at_k,mrr}` wrap them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch

#: A rank: 1-based, possibly fractional (ties); `None` when the gold is missing from its list.
Rank = float | None


def filtered_rank(
    ranked: Sequence[str],
    gold: str,
    scores: Sequence[float] | None = None,
    filter_objects: Iterable[str] = (),
) -> Rank:
    """Filtered realistic rank of `gold` in one query's ranked predictions.

    Args:
        ranked: predictions, best first. A repeated prediction counts once (its first place).
        gold: the object to rank.
        scores: optional, one per prediction, higher is better. With scores, ties are ranked
            realistically and the list order is ignored; without, the rank is the position.
        filter_objects: other true objects of the query, removed before ranking (the gold
            stays even if listed here).
    Returns:
        The 1-based rank, a multiple of 0.5; `None` if `gold` is not in `ranked`.
    """
    if scores is not None and len(scores) != len(ranked):
        raise ValueError(f"{len(scores)} scores for {len(ranked)} predictions")
    removed = set(filter_objects) - {gold}
    seen: set[str] = set()
    kept_scores: list[float] = []
    position = None
    for index, label in enumerate(ranked):
        if label in removed or label in seen:
            continue
        seen.add(label)
        if label == gold:
            position = len(kept_scores) + 1
        kept_scores.append(float(scores[index]) if scores is not None else 0.0)
    if position is None:
        return None
    if scores is None:
        return float(position)
    if any(math.isnan(s) for s in kept_scores):
        raise ValueError("scores contain NaN")
    gold_score = kept_scores[position - 1]
    optimistic = 1 + sum(s > gold_score for s in kept_scores)
    pessimistic = sum(s >= gold_score for s in kept_scores)
    return (optimistic + pessimistic) / 2


def filtered_ranks_from_scores(
    scores: torch.Tensor, gold: torch.Tensor, filter_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Filtered realistic ranks from a full score matrix (every candidate scored).

    Args:
        scores: `(queries, candidates)` float, higher is better; no NaN.
        gold: `(queries,)` long, the column of each query's gold candidate.
        filter_mask: `(queries, candidates)` bool, True for the other known true objects to
            remove; a query's own gold column is kept whatever the mask says.
    Returns:
        `(queries,)` float64 realistic ranks (1-based, multiples of 0.5).
    """
    if scores.dim() != 2 or gold.shape != (scores.shape[0],):
        raise ValueError(f"scores {tuple(scores.shape)} and gold {tuple(gold.shape)} disagree")
    if torch.isnan(scores).any():
        raise ValueError("scores contain NaN")
    scores = scores.double()
    rows = torch.arange(scores.shape[0], device=scores.device)
    gold_scores = scores[rows, gold][:, None]
    counted = torch.ones_like(scores, dtype=torch.bool)
    if filter_mask is not None:
        counted = ~filter_mask.bool()
        counted[rows, gold] = True
    optimistic = ((scores > gold_scores) & counted).sum(dim=1) + 1
    pessimistic = ((scores >= gold_scores) & counted).sum(dim=1)
    return (optimistic + pessimistic).double() / 2


def _as_floats(ranks: Iterable[Rank] | torch.Tensor) -> list[float]:
    """Ranks as floats, `inf` for a miss (None, NaN or inf)."""
    if isinstance(ranks, torch.Tensor):
        ranks = ranks.tolist()
    values = [math.inf if r is None or math.isnan(r) else float(r) for r in ranks]
    if any(r < 1 for r in values):
        raise ValueError("ranks are 1-based: got a rank below 1")
    if not values:
        raise ValueError("no ranks: at least one query is needed")
    return values


def hits_at_k(ranks: Iterable[Rank] | torch.Tensor, k: int) -> float:
    """Fraction of queries whose rank is at most `k` (a miss is never a hit)."""
    if k < 1:
        raise ValueError(f"k={k}: expected k >= 1")
    values = _as_floats(ranks)
    return sum(r <= k for r in values) / len(values)


def mean_reciprocal_rank(ranks: Iterable[Rank] | torch.Tensor) -> float:
    """Mean of `1 / rank` over queries; a miss contributes 0."""
    values = _as_floats(ranks)
    return sum(1.0 / r for r in values) / len(values)


def mrr_key(cutoff: int | None) -> str:
    """`"mrr"` for full rankings, `"mrr@K"` for lists truncated at K."""
    return "mrr" if cutoff is None else f"mrr@{cutoff}"


def ranking_metrics(
    ranks: Iterable[Rank] | torch.Tensor,
    ks: Sequence[int] = (1, 3, 10),
    cutoff: int | None = None,
) -> dict[str, float | int]:
    """hits@k for each k in `ks` and MRR, as a flat dict.

    Args:
        ranks: one per query; `None` (or NaN/inf) for a gold missing from its list.
        ks: the k of each hits@k.
        cutoff: `None` when every list is a full ranking (key `"mrr"`); the bound K of
            truncated lists otherwise (key `"mrr@K"`, misses count 0).
    Raises:
        ValueError: `cutoff` is None but some gold is missing (the lists are truncated).
    Returns:
        `{"hits@1": ..., "hits@3": ..., "hits@10": ..., "mrr" or "mrr@K": ...,
        "num_queries": n, "num_missing": misses}`.
    """
    values = _as_floats(ranks)
    missing = sum(math.isinf(r) for r in values)
    if cutoff is None and missing:
        raise ValueError(
            f"{missing} gold objects are missing from their lists: the lists are truncated, "
            "pass cutoff=K to report MRR@K instead of a full-ranking MRR"
        )
    metrics: dict[str, float | int] = {f"hits@{k}": hits_at_k(values, k) for k in ks}
    metrics[mrr_key(cutoff)] = mean_reciprocal_rank(values)
    metrics["num_queries"] = len(values)
    metrics["num_missing"] = missing
    return metrics


def ranks_for_lists(
    predictions: Sequence[Sequence[str]],
    references: Sequence[str],
    prediction_scores: Sequence[Sequence[float]] | None = None,
    filter_objects: Sequence[Iterable[str]] | None = None,
) -> list[Rank]:
    """`filtered_rank` of every query (the inputs of the evaluate metrics)."""
    n = len(predictions)
    if len(references) != n:
        raise ValueError(f"{n} predictions but {len(references)} references")
    for name, column in (
        ("prediction_scores", prediction_scores),
        ("filter_objects", filter_objects),
    ):
        if column is not None and len(column) != n:
            raise ValueError(f"{n} predictions but {len(column)} {name}")
    return [
        filtered_rank(
            predictions[i],
            references[i],
            None if prediction_scores is None else prediction_scores[i],
            () if filter_objects is None else filter_objects[i],
        )
        for i in range(n)
    ]


__all__ = [
    "Rank",
    "filtered_rank",
    "filtered_ranks_from_scores",
    "hits_at_k",
    "mean_reciprocal_rank",
    "mrr_key",
    "ranking_metrics",
    "ranks_for_lists",
]
