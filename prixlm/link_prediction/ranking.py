"""Filtered ranks, hits@k and MRR for link prediction.

The definitions (filtered setting, realistic ties, `mrr_at_K` for truncated lists) and the
list rules live in `ranking_rules.py`, a standard-library-only file that the Hub metrics
`evaluate_metrics/{hits_at_k,mrr}` carry; this module re-exports them and adds the tensor
path (`filtered_ranks_from_scores`) and the combined metrics dict (`ranking_metrics`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence

import torch

from prixlm.link_prediction.ranking_rules import (
    Rank,
    filtered_rank,
    hits_at_k,
    hits_key,
    mean_reciprocal_rank,
    metric_label,
    mrr_key,
    rank_values,
    ranks_for_lists,
)

#: How a gold tied with other candidates is ranked: `realistic` (PyKEEN: the mean of the
#: optimistic and pessimistic rank), `index` (a stable sort by column: a tied candidate in an
#: earlier column ranks above the gold, as `tf.nn.top_k` ranks KEnS' entity ids).
TIE_RULES = ("realistic", "index")


def check_scores_finite(scores: torch.Tensor) -> None:
    """ValueError if the `(queries, candidates)` scores hold NaN or `+inf`, or a row holds
    no finite score: a model whose outputs are not finite (one `+inf` logit makes every
    log-likelihood `-inf`, all tied: a chance-level rank, not an error) gives them."""
    problem = None
    if torch.isnan(scores).any():
        problem = "contain NaN"
    elif torch.isposinf(scores).any():
        problem = "contain +inf"
    elif scores.shape[1] and torch.isneginf(scores).all(dim=1).any():
        row = int(torch.isneginf(scores).all(dim=1).nonzero()[0, 0])
        problem = f"of query {row} are all -inf (every candidate tied)"
    if problem is not None:
        raise ValueError(
            f"scores {problem}: the scores of a model whose outputs are not finite (NaN or "
            "infinite weights or logits) cannot be ranked"
        )


def _check_gold_columns(gold: torch.Tensor, columns: int) -> None:
    """ValueError unless every gold column is in `0 <= gold < columns` (a negative index
    would pick a column from the end, e.g. a -1 meaning "no gold" the last candidate)."""
    outside = (gold < 0) | (gold >= columns)
    if outside.any():
        i = int(outside.nonzero()[0, 0])
        raise ValueError(
            f"gold[{i}] = {int(gold[i])}: expected a candidate column 0 <= gold < {columns}"
        )


def _check_cutoff(name: str, value: object) -> int:
    """`value` as an int if it is an integer >= 1 (NumPy's too, not a bool); ValueError
    naming `name` otherwise."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name}={value!r}: expected an integer >= 1")
    return int(value)


def filtered_ranks_from_scores(
    scores: torch.Tensor,
    gold: torch.Tensor,
    filter_mask: torch.Tensor | None = None,
    ties: str = "realistic",
) -> torch.Tensor:
    """Filtered ranks from a full score matrix (every candidate scored).

    Args:
        scores: `(queries, candidates)` float, higher is better; no NaN, no `+inf`, and
            some finite score in every row (`-inf` may mark candidates ruled out).
        gold: `(queries,)` long, the column of each query's gold candidate.
        filter_mask: `(queries, candidates)` bool, True for the other known true objects to
            remove; a query's own gold column is kept whatever the mask says.
        ties: a `TIE_RULES` entry.
    Returns:
        `(queries,)` float64 ranks (1-based; multiples of 0.5 with realistic ties).
    Raises:
        ValueError: unknown `ties`, shapes that disagree, a gold column outside
            `0 <= gold < candidates`, or scores that no finite model gives
            (`check_scores_finite`).
    """
    if ties not in TIE_RULES:
        raise ValueError(f"ties={ties!r}: expected one of {TIE_RULES}")
    if scores.dim() != 2 or gold.shape != (scores.shape[0],):
        raise ValueError(f"scores {tuple(scores.shape)} and gold {tuple(gold.shape)} disagree")
    _check_gold_columns(gold, scores.shape[1])
    check_scores_finite(scores)
    scores = scores.double()
    rows = torch.arange(scores.shape[0], device=scores.device)
    gold_scores = scores[rows, gold][:, None]
    counted = torch.ones_like(scores, dtype=torch.bool)
    if filter_mask is not None:
        counted = ~filter_mask.bool()
        counted[rows, gold] = True
    optimistic = ((scores > gold_scores) & counted).sum(dim=1) + 1
    if ties == "index":
        columns = torch.arange(scores.shape[1], device=scores.device)
        earlier = (scores == gold_scores) & counted & (columns[None, :] < gold[:, None])
        return (optimistic + earlier.sum(dim=1)).double()
    pessimistic = ((scores >= gold_scores) & counted).sum(dim=1)
    return (optimistic + pessimistic).double() / 2


def ranking_metrics(
    ranks: Iterable[Rank] | torch.Tensor,
    ks: Sequence[int] = (1, 3, 10),
    cutoff: int | None = None,
) -> dict[str, float | int]:
    """hits_at_k for each k in `ks` and MRR, as a flat dict.

    Args:
        ranks: one per query; `None` (or NaN/inf) for a gold missing from its list.
        ks: the k of each hits@k: integers >= 1 (NumPy integers too).
        cutoff: `None` when every list is a full ranking (key `"mrr"`); the bound K of
            truncated lists otherwise (key `"mrr_at_K"`: a gold missing from its list or
            ranked below K counts 0, as in the `mrr` Space; a beam's list may hold more
            than K completed entities).
    Raises:
        ValueError: `cutoff` is None but some gold is missing (the lists are truncated), or
            a k or `cutoff` is not an integer >= 1 (a bool, a float, 0).
    Returns:
        `{"hits_at_1": ..., "hits_at_3": ..., "hits_at_10": ..., "mrr" or "mrr_at_K": ...,
        "num_queries": n, "num_missing": misses}`.
    """
    if isinstance(ks, (str, bytes)):
        raise ValueError(f"ks={ks!r}: expected a list of integers >= 1")
    ks = [_check_cutoff("k", k) for k in ks]
    if cutoff is not None:
        cutoff = _check_cutoff("cutoff", cutoff)
    values = rank_values(ranks)
    missing = sum(math.isinf(r) for r in values)
    if cutoff is None and missing:
        raise ValueError(
            f"{missing} gold objects are missing from their lists: the lists are truncated, "
            "pass cutoff=K to report MRR@K instead of a full-ranking MRR"
        )
    metrics: dict[str, float | int] = {hits_key(k): hits_at_k(values, k) for k in ks}
    in_cutoff = values if cutoff is None else [r if r <= cutoff else math.inf for r in values]
    metrics[mrr_key(cutoff)] = mean_reciprocal_rank(in_cutoff)
    metrics["num_queries"] = len(values)
    metrics["num_missing"] = missing
    return metrics


__all__ = [
    "TIE_RULES",
    "Rank",
    "check_scores_finite",
    "filtered_rank",
    "filtered_ranks_from_scores",
    "hits_at_k",
    "hits_key",
    "mean_reciprocal_rank",
    "metric_label",
    "mrr_key",
    "ranking_metrics",
    "ranks_for_lists",
]
