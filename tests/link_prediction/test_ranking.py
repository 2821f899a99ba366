"""prixlm.link_prediction.ranking: hand-computed cases and agreement with PyKEEN's filtered realistic ranks."""

from __future__ import annotations

import math

import pytest
import torch

from prixlm.link_prediction.ranking import (
    filtered_rank,
    filtered_ranks_from_scores,
    hits_at_k,
    mean_reciprocal_rank,
    ranking_metrics,
    ranks_for_lists,
)


def test_rank_is_position_without_scores():
    assert filtered_rank(["a", "b", "c"], "b") == 2.0
    assert filtered_rank(["a", "b", "c"], "a") == 1.0


def test_filtering_removes_other_true_objects_but_never_the_gold():
    assert filtered_rank(["a", "b", "c"], "c", filter_objects={"a", "b"}) == 1.0
    assert filtered_rank(["a", "b", "c"], "b", filter_objects={"a", "b"}) == 1.0
    assert filtered_rank(["a", "b", "c"], "c", filter_objects={"x"}) == 3.0


def test_missing_gold_is_a_miss():
    assert filtered_rank(["a", "b"], "z") is None
    assert filtered_rank([], "z") is None


def test_repeated_prediction_counts_once():
    assert filtered_rank(["a", "a", "b"], "b") == 2.0


def test_ties_are_ranked_realistically():
    # scores 3, 2, 2, 1: "c" ties with "b" -> optimistic 2, pessimistic 3.
    ranked, scores = ["a", "b", "c", "d"], [3.0, 2.0, 2.0, 1.0]
    assert filtered_rank(ranked, "c", scores) == 2.5
    assert filtered_rank(ranked, "b", scores) == 2.5
    assert filtered_rank(ranked, "d", scores) == 4.0
    # filtering the tied "b" away leaves "c" alone in second place
    assert filtered_rank(ranked, "c", scores, filter_objects=["b"]) == 2.0
    # all tied at the top: (1 + 4) / 2
    assert filtered_rank(ranked, "d", [0.0] * 4) == 2.5


def test_scores_override_list_order():
    assert filtered_rank(["a", "b"], "b", [1.0, 5.0]) == 1.0


def test_bad_inputs():
    with pytest.raises(ValueError, match="scores"):
        filtered_rank(["a", "b"], "a", [1.0])
    with pytest.raises(ValueError, match="NaN"):
        filtered_rank(["a", "b"], "a", [1.0, math.nan])
    with pytest.raises(ValueError, match="no ranks"):
        hits_at_k([], 1)
    with pytest.raises(ValueError, match="k=0"):
        hits_at_k([1.0], 0)
    with pytest.raises(ValueError, match="below 1"):
        mean_reciprocal_rank([0.5])
    with pytest.raises(ValueError, match="references"):
        ranks_for_lists([["a"]], ["a", "b"])


def test_metrics_by_hand():
    ranks = [1.0, 2.5, None, 4.0]
    assert hits_at_k(ranks, 1) == 0.25
    assert hits_at_k(ranks, 3) == 0.5
    assert hits_at_k(ranks, 10) == 0.75
    assert mean_reciprocal_rank(ranks) == pytest.approx((1 + 0.4 + 0 + 0.25) / 4)
    full = ranking_metrics([1.0, 2.5, 4.0])
    assert set(full) == {
        "hits_at_1",
        "hits_at_3",
        "hits_at_10",
        "mrr",
        "num_queries",
        "num_missing",
    }
    truncated = ranking_metrics(ranks, cutoff=50)
    assert "mrr" not in truncated
    assert truncated["mrr_at_50"] == pytest.approx(0.4125)
    assert truncated["num_missing"] == 1 and truncated["num_queries"] == 4
    # MRR@3: 4.0 lies below K (a beam's list may hold more than K entities): it counts 0
    assert ranking_metrics(ranks, cutoff=3)["mrr_at_3"] == pytest.approx((1 + 0.4) / 4)
    with pytest.raises(ValueError, match="cutoff=K"):
        ranking_metrics(ranks)


def test_a_string_is_not_a_list_of_labels():
    """A string where labels are expected would be read as its characters: refused."""
    with pytest.raises(TypeError, match=r"filter_objects is a string \('Paris'\)"):
        filtered_rank(["Paris", "Lyon"], "Lyon", filter_objects="Paris")
    with pytest.raises(TypeError, match="ranked is a string"):
        filtered_rank("ab", "a")
    with pytest.raises(TypeError, match=r"filter_objects\[1\] is a string \('a'\)"):
        ranks_for_lists([["a"], ["a", "b"]], ["a", "b"], filter_objects=[[], "a"])
    with pytest.raises(TypeError, match=r"predictions\[0\] is a string"):
        ranks_for_lists(["ab"], ["a"])
    assert ranks_for_lists([["Paris", "Lyon"]], ["Lyon"], filter_objects=[["Paris"]]) == [1.0]
    assert filtered_rank(("a", "b"), "b", filter_objects=frozenset({"a"})) == 1.0


def test_ranks_for_lists():
    ranks = ranks_for_lists(
        [["a", "b", "c"], ["x", "y"], ["p"]],
        ["c", "y", "q"],
        prediction_scores=[[3.0, 2.0, 2.0], [1.0, 0.0], [0.0]],
        filter_objects=[["a"], [], ["p"]],
    )
    assert ranks == [1.5, 2.0, None]


def _pykeen_filtered_realistic(scores, gold, filter_pairs):
    """PyKEEN's own filtered evaluation path on a score matrix (tail prediction)."""
    from pykeen.evaluation import RankBasedEvaluator
    from pykeen.evaluation.evaluator import filter_scores_
    from pykeen.evaluation.ranks import Ranks

    rows = torch.arange(scores.shape[0])
    true_scores = scores[rows, gold][:, None].clone()
    filtered = filter_scores_(scores.clone(), filter_pairs)
    filtered[rows, gold] = true_scores[:, 0]
    ranks = Ranks.from_scores(true_scores, filtered).realistic
    evaluator = RankBasedEvaluator(filtered=True)
    hrt = torch.stack([torch.zeros_like(gold), torch.zeros_like(gold), gold], dim=1)
    evaluator.process_scores_(
        hrt_batch=hrt, target="tail", scores=filtered, true_scores=true_scores
    )
    results = evaluator.finalize()
    metrics = {
        f"hits_at_{k}": results.get_metric(f"tail.realistic.hits_at_{k}") for k in (1, 3, 10)
    }
    metrics["mrr"] = results.get_metric("tail.realistic.inverse_harmonic_mean_rank")
    return ranks, metrics


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equal_to_pykeen_filtered_realistic(seed):
    generator = torch.Generator().manual_seed(seed)
    queries, entities = 40, 25
    # few distinct values: many ties
    scores = torch.randint(0, 6, (queries, entities), generator=generator).float()
    gold = torch.randint(0, entities, (queries,), generator=generator)
    filter_mask = torch.rand(queries, entities, generator=generator) < 0.2
    filter_pairs = filter_mask.nonzero()
    expected_ranks, expected_metrics = _pykeen_filtered_realistic(scores, gold, filter_pairs)

    ranks = filtered_ranks_from_scores(scores, gold, filter_mask)
    torch.testing.assert_close(ranks, expected_ranks.double())
    metrics = ranking_metrics(ranks)
    for key, value in expected_metrics.items():
        assert metrics[key] == pytest.approx(value, abs=1e-6), key

    # the list form (predictions + scores + filter labels) gives the same ranks
    labels = [f"e{j}" for j in range(entities)]
    list_ranks = ranks_for_lists(
        [labels] * queries,
        [labels[g] for g in gold.tolist()],
        prediction_scores=scores.tolist(),
        filter_objects=[[labels[j] for j in row.nonzero()[:, 0].tolist()] for row in filter_mask],
    )
    assert list_ranks == expected_ranks.tolist()
