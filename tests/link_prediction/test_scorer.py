"""prixlm.link_prediction.scorer: one filtered ranking path for every candidate scorer."""

from __future__ import annotations

import pytest
import torch
from test_evaluate_lp import tiny_rows
from test_link_prediction import tiny_entities

from modeling_prixlm.constrained_decoding import EntityTrie
from prixlm.link_prediction.candidate_scoring import score_candidates
from prixlm.link_prediction.evaluation import evaluate_link_prediction
from prixlm.link_prediction.ranking import filtered_ranks_from_scores, ranking_metrics
from prixlm.link_prediction.scorer import (
    CandidateScorer,
    PrixLMScorer,
    evaluate_scorer,
    scorer_ranks,
)

CANDIDATES = ["a", "b", "c", "d", "e"]
SCORES = {  # subject -> one score per candidate
    "q0": [0.9, 0.5, 0.5, 0.1, 0.7],
    "q1": [0.2, 0.3, 0.3, 0.3, 0.1],
    "q2": [1.0, 0.0, 0.0, 0.0, 0.0],
}
ROWS = [
    # filter "a": left b .5, c .5, d .1, e .7 -> optimistic 2, pessimistic 3: rank 2.5
    {"subject": "q0", "relation": "r", "object": "b", "all_objects": ["a", "b"]},
    # filter "c" ("zzz" is no candidate): a .2, b .3, d .3, e .1 -> ranks 1 and 2: 1.5
    {"subject": "q1", "relation": "r", "object": "d", "all_objects": ["d", "c", "zzz"]},
    # no filter list: the top score, rank 1
    {"subject": "q2", "relation": "r", "object": "a"},
]


class FakeScorer:
    """Scores looked up by subject; records the batches it is asked for."""

    def __init__(self, shape_error: bool = False):
        self.batches: list[int] = []
        self.shape_error = shape_error

    def score(self, queries, candidates):
        assert list(candidates) == CANDIDATES
        self.batches.append(len(queries))
        scores = torch.tensor([SCORES[q["subject"]] for q in queries])
        return scores[:, :-1] if self.shape_error else scores


def test_fake_scorer_ranks_by_hand_with_ties_and_filtering():
    scorer = FakeScorer()
    assert isinstance(scorer, CandidateScorer)
    ranks = scorer_ranks(scorer, ROWS, CANDIDATES, batch_size=2)
    assert ranks.tolist() == [2.5, 1.5, 1.0]
    assert scorer.batches == [2, 1]
    metrics = evaluate_scorer(FakeScorer(), ROWS, CANDIDATES)
    assert metrics == {
        "hits_at_1": pytest.approx(1 / 3),
        "hits_at_3": 1.0,
        "hits_at_10": 1.0,
        "mrr": pytest.approx((1 / 2.5 + 1 / 1.5 + 1) / 3),
        "num_queries": 3,
        "num_missing": 0,
    }


def test_bad_inputs_name_the_problem():
    with pytest.raises(ValueError, match="row 1: gold object 'x' is not a candidate"):
        scorer_ranks(FakeScorer(), [ROWS[0], {**ROWS[1], "object": "x"}], CANDIDATES)
    with pytest.raises(ValueError, match=r"returned \(2, 4\) scores for 2 queries x 5"):
        scorer_ranks(FakeScorer(shape_error=True), ROWS, CANDIDATES, batch_size=2)
    with pytest.raises(ValueError, match="1 candidate labels are repeated"):
        scorer_ranks(FakeScorer(), ROWS, [*CANDIDATES, "a"])
    with pytest.raises(ValueError, match="no rows"):
        scorer_ranks(FakeScorer(), [], CANDIDATES)


def _old_full_mode(model, tokenizer, rows, labels):
    """`evaluate_lp --mode full` before the scorer interface: one column per tokenisation."""
    trie = EntityTrie.from_labels(tokenizer, labels)
    first = trie.entity_of(trie.entity_nodes).tolist()
    canonical = {label: trie.labels[i] for label, i in zip(trie.labels, first, strict=True)}
    columns = trie.representatives()
    position = {trie.labels[int(e)]: j for j, e in enumerate(columns)}
    scores = score_candidates(model, tokenizer, rows, trie, batch_size=8)[:, columns]
    gold = torch.tensor([position[canonical[row["object"]]] for row in rows])
    mask = torch.zeros(scores.shape, dtype=torch.bool)
    for i, row in enumerate(rows):
        mask[i, [position[canonical[o]] for o in row["all_objects"]]] = True
    return ranking_metrics(filtered_ranks_from_scores(scores, gold, mask))


def test_prixlm_scorer_gives_the_full_mode_numbers(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    rows = tiny_rows()
    labels = sorted(
        set(tiny_entities(tokenizer)) | {r["object"] for r in rows} | {r["subject"] for r in rows}
    )
    assert "euro" in labels and " euro" in labels  # one tokenisation, two labels
    expected = _old_full_mode(model, tokenizer, rows, labels)
    full = evaluate_link_prediction(model, tokenizer, rows, labels, "full")
    assert full.pop("num_candidates") == len(labels) - 1
    assert full.pop("merged_candidates") == 1
    assert full == pytest.approx(expected, abs=1e-12)
    # the scorer alone, on distinct tokenisations, with the golds among them
    representatives = [label for label in labels if label != " euro"]
    scorer = PrixLMScorer(model, tokenizer, batch_size=3, max_rows=64)
    assert isinstance(scorer, CandidateScorer)
    alone = evaluate_scorer(scorer, rows, representatives, batch_size=5)
    assert alone.pop("merged_candidates") == 0
    assert alone == pytest.approx(expected, abs=1e-12)
    # and on every label: " euro" ranks as "euro" (one tokenisation, one entity)
    every = evaluate_scorer(scorer, rows, labels, batch_size=5)
    assert every.pop("merged_candidates") == 1
    assert every == pytest.approx(expected, abs=1e-12)
    scores = scorer.score(rows[:2], representatives)
    assert scores.shape == (2, len(representatives)) and scores.dtype == torch.float64
    assert scorer.trie(representatives) is scorer.trie(list(representatives))  # cached


def test_prixlm_scorer_sizes_follow_the_models_device(tiny_prixlm):
    """Full ranking on a GPU gets the GPU's batch sizes unless given (a meta-device copy of
    the model stands in for one)."""
    import copy

    from prixlm.link_prediction.candidate_scoring import (
        CPU_BATCH_SIZE,
        CPU_MAX_ROWS,
        DEVICE_BATCH_SIZE,
        DEVICE_MAX_ROWS,
    )

    model, tokenizer = tiny_prixlm
    on_cpu = PrixLMScorer(model, tokenizer)
    assert (on_cpu.batch_size, on_cpu.max_rows) == (CPU_BATCH_SIZE, CPU_MAX_ROWS)
    elsewhere = PrixLMScorer(copy.deepcopy(model).to("meta"), tokenizer)
    assert (elsewhere.batch_size, elsewhere.max_rows) == (DEVICE_BATCH_SIZE, DEVICE_MAX_ROWS)
    given = PrixLMScorer(model, tokenizer, batch_size=2, max_rows=32)
    assert (given.batch_size, given.max_rows) == (2, 32)


def test_chunks_take_the_leaves_deepest_first_and_in_path_order_within_a_depth():
    """Leaves of one depth chunked together walk the fewest levels (one forward each);
    within a depth, adjacent leaves share prefixes. Plain lexicographic order would feed
    fewer rows but take more forwards (1.2x as long on the demo's English trie)."""
    from modeling_prixlm.constrained_decoding import EntityTrie
    from prixlm.link_prediction.candidate_scoring import _leaves_in_trie_order, plan_chunks

    sequences = [[5, 9, 1], [7, 1], [5, 2, 1], [7, 3, 4, 1], [5, 9, 8, 1], [6, 1]]  # [EOS] = 1
    trie = EntityTrie.from_token_ids(sequences, eos_token_id=1)
    leaves = _leaves_in_trie_order(trie)
    paths = [trie.token_ids(int((trie.entity_nodes == leaf).nonzero()[0])) for leaf in leaves]
    assert paths == sorted(sequences, key=lambda path: (-len(path), path))
    _, plans = plan_chunks(trie, 2, "cpu")  # 5-9-8 + 7-3-4, 5-2 + 5-9, 6 + 7
    assert [len(plan.levels) for plan in plans] == [4, 3, 2]  # forwards (lexicographic: 3, 4, 4)
    assert [sum(level.inner_tokens.numel() for level in plan.levels) for plan in plans] == [6, 3, 2]
