"""Full-ranking link prediction over any candidate scorer (Prix-LM or a PyKEEN model).

A scorer has `score(queries, candidates) -> (num_queries, num_candidates)` float tensor,
higher is better (the `CandidateScorer` shape of `prixlm.link_prediction`). Every candidate
is scored, the other known true objects (`all_objects`) are filtered, ties get PyKEEN's
realistic rank, and the metrics come from `prixlm.link_prediction.ranking`. So Prix-LM's
`mrr` here is the same quantity as the KGE baselines' (not an MRR@K of a truncated beam).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import torch

from prixlm.link_prediction.ranking import filtered_ranks_from_scores, ranking_metrics

KS = (1, 3, 10)


class CandidateScorer(Protocol):
    def score(
        self, queries: Sequence[Mapping[str, Any]], candidates: Sequence[str]
    ) -> torch.Tensor: ...


def query_ranks(
    scorer: CandidateScorer,
    rows: Sequence[Mapping[str, Any]],
    candidates: Sequence[str],
    batch_size: int = 64,
) -> torch.Tensor:
    """Filtered realistic ranks `(len(rows),)` of each row's gold object among `candidates`.

    Raises:
        ValueError: no rows, or a gold object that is not a candidate (names the row).
    """
    if not rows:
        raise ValueError("no rows to rank")
    column = {label: j for j, label in enumerate(candidates)}
    for index, row in enumerate(rows):
        if row["object"] not in column:
            raise ValueError(f"row {index}: gold object {row['object']!r} is not a candidate")
    ranks = []
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        scores = scorer.score(batch, candidates)
        if scores.shape != (len(batch), len(candidates)):
            raise ValueError(
                f"scorer returned {tuple(scores.shape)}, expected {(len(batch), len(candidates))}"
            )
        gold = torch.tensor([column[row["object"]] for row in batch])
        mask = torch.zeros(scores.shape, dtype=torch.bool)
        for i, row in enumerate(batch):
            others = [column[o] for o in row.get("all_objects") or () if o in column]
            mask[i, others] = True
        ranks.append(filtered_ranks_from_scores(scores, gold, mask))
    return torch.cat(ranks)


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
    """`table_metrics` of `query_ranks` (one language's rows and candidates)."""
    return table_metrics(query_ranks(scorer, rows, candidates, batch_size))


class PrixLMScorer:
    """Exact log-likelihood of every candidate (`score_candidates`), one trie per candidate list.

    `batch_size` queries share a forward of up to `max_rows` rows: raise both on a GPU.
    """

    def __init__(self, model: Any, tokenizer: Any, batch_size: int = 8, max_rows: int = 512):
        self.model, self.tokenizer = model, tokenizer
        self.batch_size, self.max_rows = batch_size, max_rows
        self._tries: dict[tuple[str, ...], Any] = {}

    def score(
        self, queries: Sequence[Mapping[str, Any]], candidates: Sequence[str]
    ) -> torch.Tensor:
        from modeling_prixlm.constrained_decoding import EntityTrie
        from prixlm.link_prediction.decoding import score_candidates

        key = tuple(candidates)
        if key not in self._tries:
            self._tries = {key: EntityTrie.from_labels(self.tokenizer, list(candidates))}
        batch_size = min(self.batch_size, self.max_rows)
        return score_candidates(
            self.model, self.tokenizer, queries, self._tries[key], batch_size, self.max_rows
        )


__all__ = [
    "KS",
    "CandidateScorer",
    "PrixLMScorer",
    "evaluate_scorer",
    "query_ranks",
    "table_metrics",
]
