"""XEL's `num_gold_missing`: the queries whose gold entity is not among the targets (an
infinite rank) are counted, in `xel_metrics` and in `evaluate_xel`'s per-language results
(written to results/similarity.json)."""

from __future__ import annotations

import math

import pytest
import torch

from prixlm.similarity.xel import XEL_KS, evaluate_xel, xel_metrics
from prixlm.similarity.xel_readers import XelQuery, XelTarget


def test_xel_metrics_count_the_queries_whose_gold_is_missing():
    ranks = [1.0, 2.5, math.inf, 12.0, math.inf]
    expected = {
        "hits_at_1": 1 / 5,
        "hits_at_10": 2 / 5,
        "accuracy": 1 / 5,
        "mrr": pytest.approx((1 + 1 / 2.5 + 1 / 12) / 5),
        "num_queries": 5,
        "num_gold_missing": 2,
    }
    assert XEL_KS == (1, 10)
    assert xel_metrics(ranks) == expected
    assert xel_metrics(torch.tensor(ranks, dtype=torch.float64)) == expected
    assert xel_metrics([3.0])["num_gold_missing"] == 0


class TableEmbedder:
    """A `TextEmbedder` with fixed vectors per text."""

    def __init__(self, table: dict[str, list[float]]):
        self.table = table

    def embed(self, texts):
        return torch.tensor([self.table[t] for t in texts])


def test_evaluate_xel_reports_a_gold_entity_no_target_names_as_missing():
    embedder = TableEmbedder(
        {
            "Germany": [1.0, 0.0],
            "France": [0.0, 1.0],
            "Deutschland": [0.9, 0.1],  # Germany first: a hit
            "Frankreich": [0.9, 0.2],  # France second: rank 2
            "Atlantis": [0.5, 0.5],  # its gold entity is not a target: a miss
        }
    )
    targets = [XelTarget(name, name) for name in ("Germany", "France")]
    queries = [
        XelQuery("Deutschland", frozenset({"Germany"}), "de"),
        XelQuery("Frankreich", frozenset({"France"}), "de"),
        XelQuery("Atlantis", frozenset({"Q-lost"}), "de"),
    ]
    results = evaluate_xel(embedder, queries, targets)
    assert list(results["per_language"]) == ["de"]
    assert results["per_language"]["de"] == {
        "hits_at_1": 1 / 3,
        "hits_at_10": 2 / 3,
        "accuracy": 1 / 3,
        "mrr": 0.5,  # (1 + 1/2 + 0) / 3
        "num_queries": 3,
        "num_gold_missing": 1,
    }
