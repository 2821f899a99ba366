"""Our filtered realistic ranks are PyKEEN's, and the KGE scorer scores what PyKEEN scores."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("pykeen")

from pykeen.evaluation import RankBasedEvaluator  # noqa: E402
from pykeen.evaluation.evaluator import filter_scores_  # noqa: E402

from prixlm.baselines.kge import KGEConfig, KGEScorer, build_graph, make_model  # noqa: E402
from prixlm.link_prediction.ranking import filtered_ranks_from_scores, ranking_metrics  # noqa: E402
from prixlm.link_prediction.scorer import CandidateScorer, scorer_ranks  # noqa: E402

# 4 queries x 6 candidates, ties everywhere: gold column, other true objects (filtered)
SCORES = torch.tensor(
    [
        [0.5, 0.9, 0.5, 0.1, 0.9, 0.5],
        [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        [0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
        [0.7, 0.7, 0.1, 0.7, 0.0, 0.7],
    ],
    dtype=torch.float64,
)
GOLD = torch.tensor([0, 3, 5, 3])
FILTERED = [[1, 2], [0], [], [0, 1, 3]]  # the gold (3) in row 3's list must stay


def pykeen_ranks() -> tuple[torch.Tensor, dict[str, float]]:
    """PyKEEN's evaluator on the same scores: filtered (NaN) and realistic ranks + metrics."""
    scores = SCORES.clone()
    batch = [(i, j) for i, others in enumerate(FILTERED) for j in others if j != GOLD[i]]
    filter_scores_(scores, torch.tensor(batch))
    true_scores = SCORES[torch.arange(4), GOLD][:, None]
    evaluator = RankBasedEvaluator(filtered=True, clear_on_finalize=False)
    hrt = torch.stack([torch.arange(4), torch.zeros(4, dtype=torch.long), GOLD], dim=1)
    evaluator.process_scores_(hrt, "tail", scores, true_scores=true_scores)
    ranks = torch.from_numpy(evaluator.ranks[("tail", "realistic")][0]).double()
    result = evaluator.finalize()
    metrics = {
        "hits_at_1": result.get_metric("tail.realistic.hits_at_1"),
        "hits_at_3": result.get_metric("tail.realistic.hits_at_3"),
        "mrr": result.get_metric("tail.realistic.inverse_harmonic_mean_rank"),
    }
    return ranks, metrics


def test_filtered_realistic_ranks_equal_pykeens():
    mask = torch.zeros(SCORES.shape, dtype=torch.bool)
    for i, others in enumerate(FILTERED):
        mask[i, others] = True
    ours = filtered_ranks_from_scores(SCORES, GOLD, mask)
    theirs, metrics = pykeen_ranks()
    assert ours.tolist() == theirs.tolist() == [2.5, 3.0, 1.0, 1.5]
    mine = ranking_metrics(ours, (1, 3))
    for key in ("hits_at_1", "hits_at_3", "mrr"):
        assert mine[key] == pytest.approx(metrics[key], abs=1e-6)  # PyKEEN: float32


class FixedScorer:
    """The score matrix above as a `CandidateScorer` over labels c0..c5."""

    def score(self, queries, candidates):
        return SCORES[[int(q["subject"][1:]) for q in queries]][:, [int(c[1:]) for c in candidates]]


def test_query_ranks_over_a_scorer_equal_pykeens():
    candidates = [f"c{j}" for j in range(6)]
    rows = [
        {"subject": f"q{i}", "object": f"c{int(GOLD[i])}",
         "all_objects": [f"c{j}" for j in FILTERED[i]] + [f"c{int(GOLD[i])}"]}
        for i in range(4)
    ]  # fmt: skip
    ranks = scorer_ranks(FixedScorer(), rows, candidates, batch_size=3)
    assert ranks.tolist() == pykeen_ranks()[0].tolist()
    with pytest.raises(ValueError, match="row 0: gold object 'zz' is not a candidate"):
        scorer_ranks(FixedScorer(), [{**rows[0], "object": "zz"}], candidates)


def _row(split_language, subject, relation, obj):
    return {"kind": "triple", "subject": subject, "relation": relation, "object": obj,
            "subject_language": split_language, "object_language": split_language,
            "all_objects": [obj]}  # fmt: skip


def test_kge_scorer_is_pykeens_score_t_over_our_candidates():
    train = [_row("en", "a", "r", "b"), _row("en", "b", "r", "c"), _row("en", "c", "s", "a")]
    test = [_row("en", "a", "s", "d")]  # d: only in test, still a candidate
    graph = build_graph({"en": {"train": train, "test": test}})
    assert sorted(graph.entity_ids) == [("en", x) for x in "abcd"]
    model = make_model(graph, KGEConfig("RotatE", embedding_dim=4), seed=0, device="cpu")
    candidates = ["d", "b", "a"]
    scores = KGEScorer(model, graph).score(test, candidates)
    with torch.no_grad():
        expected = model.score_t(torch.tensor([[0, graph.relation_ids["s"]]]))[0]
    assert isinstance(KGEScorer(model, graph), CandidateScorer)
    assert scores.shape == (1, 3)
    assert scores[0].tolist() == pytest.approx(expected[[3, 1, 0]].double().tolist())


def test_kge_graph_trains_on_the_train_triples_only():
    """Validation and test triples give the graph their entities and relations (candidates
    to rank) but never a training triple: a KGE trained on its test answers would report
    inflated hits."""
    splits = {
        "en": {
            "train": [_row("en", "a", "r", "b")],
            "validation": [_row("en", "b", "s", "c")],
            "test": [_row("en", "a", "s", "d")],
        },
        "ja": {"train": [_row("ja", "x", "r", "y")], "test": [_row("ja", "y", "r", "x")]},
    }
    link = {"subject": "a", "object": "x", "subject_language": "en", "object_language": "ja"}
    graph = build_graph(splits, [link])
    assert graph.entity_ids == {
        ("en", "a"): 0,
        ("en", "b"): 1,
        ("en", "c"): 2,
        ("en", "d"): 3,
        ("ja", "x"): 4,
        ("ja", "y"): 5,
    }
    assert graph.relation_ids == {"r": 0, "s": 1, "sameAs": 2}
    # en a-r-b, ja x-r-y, then the link a-sameAs-x
    assert graph.triples.tolist() == [[0, 0, 1], [4, 0, 5], [0, 2, 4]]
