"""Table 1's metrics over any `CandidateScorer` (Prix-LM or a PyKEEN model), full ranking.

The ranking itself is `prixlm.link_prediction.scorer.scorer_ranks` (every candidate scored,
the other known true objects filtered, PyKEEN's realistic ties); this module only names the
metrics as `results/table1.json` does. So Prix-LM's `mrr` here is the same quantity as the
KGE baselines' (not an MRR@K of a truncated beam).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from prixlm.link_prediction.ranking import ranking_metrics
from prixlm.link_prediction.scorer import KS, CandidateScorer, PrixLMScorer, scorer_ranks


def table_metrics(ranks: torch.Tensor) -> dict[str, float]:
    """`{"hits_at_1", "hits_at_3", "hits_at_10", "mrr", "num_queries"}` of full rankings."""
    metrics = ranking_metrics(ranks, KS)
    return {
        "hits_at_1": metrics["hits@1"],
        "hits_at_3": metrics["hits@3"],
        "hits_at_10": metrics["hits@10"],
        "mrr": metrics["mrr"],
        "num_queries": int(metrics["num_queries"]),
    }


def evaluate_scorer(
    scorer: CandidateScorer,
    rows: Sequence[Mapping[str, Any]],
    candidates: Sequence[str],
    batch_size: int = 64,
) -> dict[str, float]:
    """`table_metrics` of one language's rows ranked among its `candidates`."""
    return table_metrics(scorer_ranks(scorer, rows, candidates, batch_size))


__all__ = ["CandidateScorer", "PrixLMScorer", "evaluate_scorer", "table_metrics"]
