"""The metric cards' path: a release folder's pipeline answers scored by the evaluate metrics.

With the pipeline's default `top_k` (5) the lists are cut: a gold the model ranks 6th or 7th
among the tiny release's 7 English candidates is missing, and hits@10 / MRR@50 count it as a
miss; the metrics say so. With `top_k=num_beams` (the cards' call) every completed entity is
listed and nothing is said.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

evaluate = pytest.importorskip("evaluate")

METRICS = Path(__file__).resolve().parents[2] / "evaluate_metrics"
QUERIES = [{"subject": s, "relation": r, "language": "en"}
           for s, r in (("Germany", "currency"), ("Japan", "official language"))]  # fmt: skip


def _scored(metric, answers, references, **options) -> tuple[dict, list[str]]:
    """The metric over the pipeline's `answers`, and the texts of the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = metric.compute(
            predictions=[[item["object"] for item in ranked] for ranked in answers],
            prediction_scores=[[item["score"] for item in ranked] for ranked in answers],
            references=references,
            **options,
        )
    return result, [str(w.message) for w in caught if "prediction lists" in str(w.message)]


def test_the_pipelines_default_top_k_warns_and_top_k_num_beams_does_not(released):
    from transformers import pipeline

    complete = pipeline(model=str(released[2]), trust_remote_code=True)
    hits = evaluate.load(str(METRICS / "hits_at_k"))
    mrr = evaluate.load(str(METRICS / "mrr"))
    full = complete(QUERIES, top_k=50, num_beams=50)
    assert [len(ranked) for ranked in full] == [7, 7]  # every English candidate completed
    # golds the model ranks last (7th): the default 5 answers leave them out
    references = [ranked[-1]["object"] for ranked in full]
    cut = complete(QUERIES)
    assert [len(ranked) for ranked in cut] == [5, 5]
    result, said = _scored(hits, cut, references)
    assert result["hits_at_10"] == 0.0 and result["num_missing"] == 2
    assert len(said) == 1 and said[0].startswith(
        "2 of the 2 prediction lists have fewer than k=10 entries (the shortest 5) and 2 of "
        "these lack their gold object"
    )
    result, said = _scored(mrr, cut, references, cutoff=50)
    assert result["mrr_at_50"] == 0.0
    assert len(said) == 1 and "fewer than cutoff=50 entries" in said[0]
    assert "top_k=num_beams" in said[0]
    # the cards' call: every completed entity, each gold ranked 7th (7 entries, fewer than 10,
    # but each holds its gold: ranked exactly, no warning)
    result, said = _scored(hits, full, references)
    assert result["hits_at_10"] == 1.0 and result["hits_at_3"] == 0.0 and said == []
    result, said = _scored(mrr, full, references, cutoff=50)
    assert result["mrr_at_50"] == pytest.approx(1 / 7) and said == []
