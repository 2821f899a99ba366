"""Ranking protocols (ours, kens, raw) against hand-computed ranks and KEnS' list rule."""

from __future__ import annotations

import random

import pytest
import torch

from prixlm.link_prediction.protocols import (
    PROTOCOLS,
    filter_objects,
    get_protocol,
    parse_protocols,
    protocol_metrics,
    train_objects,
)
from prixlm.link_prediction.ranking import filtered_ranks_from_scores
from prixlm.link_prediction.scorer import evaluate_scorer, evaluate_scorer_protocols, protocol_ranks

CANDIDATES = [f"c{j}" for j in range(12)]
_LOW = [0.1] * 7
# 4 queries x 12 candidates (higher is better), ties on purpose
SCORES = torch.tensor(
    [
        [0.9, 0.8, 0.5, 0.5, 0.5, *_LOW],  # gold c3, tied with c2 and c4
        [0.9] * 10 + [0.0, 0.2],  # gold c11, 10 candidates above it
        [1.0] * 12,  # gold c5, everything tied
        [0.7, 0.7] + [0.0] * 10,  # gold c1, tied with c0 (a train object)
    ],
    dtype=torch.float64,
)
GOLD = ["c3", "c11", "c5", "c1"]
ALL_OBJECTS = [["c0", "c1", "c3"], ["c0", "c1", "c2", "c11"], ["c5", "c7"], ["c0", "c1"]]
TRAIN_OBJECTS = [["c0"], ["c0", "c1", "c2"], [], ["c0"]]
ROWS = [
    {"subject": f"s{i}", "relation": "r", "object": GOLD[i], "all_objects": ALL_OBJECTS[i]}
    for i in range(4)
]
TRAIN_ROWS = [
    {"subject": f"s{i}", "relation": "r", "object": o, "kind": "triple"}
    for i, objects in enumerate(TRAIN_OBJECTS)
    for o in objects
] + [{"subject": "s2", "relation": "other", "object": "c9", "kind": "triple"}]

# Hand-computed ranks (see each protocol's rules in prixlm/link_prediction/protocols.py):
# ours: filter every true object, realistic ties. q0: c0,c1 removed, tied with c2,c4 ->
#   (1 + 3) / 2 = 2; q1: c0..c2 removed, c3..c9 above -> 8; q2: c7 removed, 11 tied ->
#   (1 + 11) / 2 = 6; q3: c0 removed -> 1.
# kens: filter train objects, ties by column. q0: c1 above, c2 tied earlier -> 3; q1: 8;
#   q2: c0..c4 tied earlier -> 6; q3: c0 removed -> 1. Unfiltered (raw) ranks: 4, 11, 6, 2;
#   q1's gold is not in the top-10 list, so it is no hit at any k.
# raw: no filter, ties by column: 4, 11, 6, 2.
EXPECTED_RANKS = {
    "ours": [2.0, 8.0, 6.0, 1.0],
    "kens": [3.0, 8.0, 6.0, 1.0],
    "raw": [4.0, 11.0, 6.0, 2.0],
}
EXPECTED = {
    "ours": {
        "hits_at_1": 1 / 4,
        "hits_at_3": 2 / 4,
        "hits_at_10": 4 / 4,
        "mrr": (1 / 2 + 1 / 8 + 1 / 6 + 1) / 4,
    },
    "kens": {
        "hits_at_1": 1 / 4,  # q3
        "hits_at_3": 2 / 4,  # q0, q3
        "hits_at_10": 3 / 4,  # q0, q2, q3 (q1: filtered rank 8, but raw rank 11 > 10)
        "mrr": (1 / 3 + 1 / 8 + 1 / 6 + 1) / 4,
    },
    "raw": {
        "hits_at_1": 0.0,
        "hits_at_3": 1 / 4,
        "hits_at_10": 3 / 4,
        "mrr": (1 / 4 + 1 / 11 + 1 / 6 + 1 / 2) / 4,
    },
}


class FixedScorer:
    """`SCORES` as a `CandidateScorer`: query `s<i>` is row i, candidate `c<j>` column j."""

    def score(self, queries, candidates):
        rows = SCORES[[int(q["subject"][1:]) for q in queries]]
        return rows[:, [int(c[1:]) for c in candidates]]


def test_hand_computed_ranks_and_metrics_of_every_protocol():
    ranks = protocol_ranks(
        FixedScorer(), ROWS, CANDIDATES, tuple(PROTOCOLS), TRAIN_ROWS, batch_size=3
    )
    for name, expected in EXPECTED_RANKS.items():
        assert ranks[name][0].tolist() == expected, name
    assert ranks["kens"][1].tolist() == [4.0, 11.0, 6.0, 2.0]
    metrics = evaluate_scorer_protocols(
        FixedScorer(), ROWS, CANDIDATES, ("ours", "kens", "raw"), train_rows=TRAIN_ROWS
    )
    for name, expected in EXPECTED.items():
        for key, value in expected.items():
            assert metrics[name][key] == pytest.approx(value, abs=1e-12), (name, key)
        assert metrics[name]["num_queries"] == 4
    single = evaluate_scorer(
        FixedScorer(), ROWS, CANDIDATES, protocol="kens", train_rows=TRAIN_ROWS
    )
    assert single == metrics["kens"]


def test_ours_is_the_unchanged_default():
    assert evaluate_scorer(FixedScorer(), ROWS, CANDIDATES) == pytest.approx(
        {**EXPECTED["ours"], "num_queries": 4, "num_missing": 0}
    )


def _kens_filt_hits_at_n(scores, gold, train, n, k=10):
    """KEnS' evaluation transcribed: `tf.nn.top_k` keeps the k best ids (ties: lower id
    first), `filt_hits_at_n` drops the train objects from that list and looks in its first n."""
    order = sorted(range(len(scores)), key=lambda j: (-scores[j], j))[:k]
    kept = [j for j in order if j not in train][:n]
    return gold in kept


def test_kens_hits_equal_kens_list_rule_on_random_tied_scores():
    generator = random.Random(0)
    for _ in range(50):
        size = generator.randint(3, 30)
        scores = torch.tensor([[float(generator.randint(0, 4)) for _ in range(size)]])
        gold = generator.randrange(size)
        train = set(generator.sample(range(size), generator.randint(0, size - 1))) - {gold}
        mask = torch.zeros(1, size, dtype=torch.bool)
        mask[0, sorted(train)] = True
        filtered = filtered_ranks_from_scores(scores, torch.tensor([gold]), mask, "index")
        raw = filtered_ranks_from_scores(scores, torch.tensor([gold]), None, "index")
        metrics = protocol_metrics(filtered, raw, get_protocol("kens"), (1, 3, 10))
        for n in (1, 3, 10):
            expected = _kens_filt_hits_at_n(scores[0].tolist(), gold, train, n)
            assert metrics[f"hits_at_{n}"] == float(expected)


def test_filters_and_errors():
    index = train_objects(TRAIN_ROWS)
    assert index[(None, "s1", "r")] == {"c0", "c1", "c2"}  # rows without a language
    assert filter_objects(ROWS[:2], get_protocol("kens"), index) == [["c0"], ["c0", "c1", "c2"]]
    assert filter_objects(ROWS[:1], get_protocol("raw")) == [[]]
    assert filter_objects(ROWS[:1], get_protocol("ours")) == [["c0", "c1", "c3"]]
    with pytest.raises(ValueError, match="filters the train split: pass train_rows"):
        evaluate_scorer(FixedScorer(), ROWS, CANDIDATES, protocol="kens")
    with pytest.raises(ValueError, match="protocol='pykeen'"):
        evaluate_scorer(FixedScorer(), ROWS, CANDIDATES, protocol="pykeen")
    with pytest.raises(ValueError, match="ties='random'"):
        filtered_ranks_from_scores(SCORES, torch.tensor([0, 0, 0, 0]), None, "random")
    assert parse_protocols(" ours, kens ,ours") == ("ours", "kens")
    with pytest.raises(ValueError, match="no protocol given"):
        parse_protocols(" , ")


def test_kens_list_holds_a_gold_ranked_exactly_tenth():
    """KEnS reads hits from its top-10 list: a gold at unfiltered rank 10 is its last entry
    and counts for hits@10; one at rank 11 is outside it (hits@10 would be under-counted if
    the 10th place were left out of the list)."""
    metrics = protocol_metrics([10.0, 8.0], [10.0, 11.0], get_protocol("kens"), (1, 10))
    assert metrics["hits_at_10"] == 1 / 2
    assert metrics["hits_at_1"] == 0.0
    assert metrics["mrr"] == pytest.approx((1 / 10 + 1 / 8) / 2)


def test_train_index_ignores_the_language_links():
    """Only train triples feed KEnS' filter: a link row (relation "") among the train rows
    must not add a `(language, subject, "")` query key, whose objects would then be filtered."""
    link = {"subject": "s0", "relation": "", "object": "S0_ja", "kind": "link"}
    index = train_objects([*TRAIN_ROWS, link])
    assert index == {
        (None, "s0", "r"): {"c0"},
        (None, "s1", "r"): {"c0", "c1", "c2"},
        (None, "s3", "r"): {"c0"},
        (None, "s2", "other"): {"c9"},
    }
