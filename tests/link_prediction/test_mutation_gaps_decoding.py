"""Exact values where a mutation-testing round found gaps: the trie's two-step bound, the
hits@k metric's scores and ties, beam-mode golds mapped to their canonical twin, and the
best-first order of completed candidates."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from test_link_prediction import QUERIES
from test_merged_twins import ROWS, merged_by_hand, twinned_candidates

from modeling_prixlm.beam_search import predict_objects
from modeling_prixlm.constrained_decoding import EntityTrie
from prixlm.link_prediction.candidate_scoring import score_candidates
from prixlm.link_prediction.evaluation import evaluate_protocols

METRICS = Path(__file__).resolve().parents[2] / "evaluate_metrics"
EOS = 99


def brute_force_open_grandchildren(sequences) -> dict[tuple[int, ...], int]:
    """Every prefix (node) -> the number of its children's children that are not `[EOS]`."""
    children: dict[tuple[int, ...], set[int]] = {}
    for sequence in sequences:
        for i, token in enumerate(sequence):
            children.setdefault(tuple(sequence[:i]), set()).add(token)
    return {
        prefix: sum(sum(1 for g in children.get(prefix + (c,), ()) if g != EOS) for c in tokens)
        for prefix, tokens in children.items()
    }


def test_open_grandchildren_match_a_brute_force_count():
    generator = torch.Generator().manual_seed(1)
    sequences = set()
    while len(sequences) < 120:
        length = int(torch.randint(1, 6, (1,), generator=generator))
        body = torch.randint(0, 4, (length,), generator=generator).tolist()  # much sharing
        sequences.add(tuple(body) + (EOS,))
    sequences = sorted(sequences)
    trie = EntityTrie.from_token_ids(sequences, EOS, vocab_size=EOS + 1)
    expected = brute_force_open_grandchildren(sequences)
    counts = trie.open_grandchildren()
    assert counts.shape == (trie.num_nodes,)
    seen = set()
    for prefix, value in expected.items():
        node = int(trie.walk(torch.tensor([list(prefix)], dtype=torch.long).view(1, -1))[0])
        assert node >= 0, prefix
        assert int(counts[node]) == value, prefix
        seen.add(node)
    # the nodes without children (the [EOS] leaves) have no grandchildren
    leaves = [n for n in range(trie.num_nodes) if n not in seen]
    assert leaves and all(int(counts[n]) == 0 for n in leaves)
    assert int(counts[0]) == expected[()] > 0


def test_hits_at_k_ranks_by_the_given_scores_with_realistic_ties():
    evaluate = pytest.importorskip("evaluate")
    hits = evaluate.load(str(METRICS / "hits_at_k"))
    # a tie of gold and another object: realistic rank (1 + 2) / 2 = 1.5, no hit at 1
    tie = hits.compute(
        predictions=[["a", "b"]], references=["a"], prediction_scores=[[1.0, 1.0]], k=[1, 3]
    )
    assert tie == {"hits_at_1": 0.0, "hits_at_3": 1.0, "num_queries": 1, "num_missing": 0}
    # the scores, not the list order, rank: "b" is first
    scored = hits.compute(
        predictions=[["a", "b"]], references=["b"], prediction_scores=[[0.1, 0.9]], k=1
    )
    assert scored == {"hits_at_1": 1.0, "num_queries": 1, "num_missing": 0}


def test_beam_mode_maps_golds_to_their_canonical_twin(tiny_prixlm):
    """Beam search wide enough to complete every entity: the rows with twinned golds score
    as the same rows merged by hand over the distinct labels, and no gold goes missing."""
    model, tokenizer = tiny_prixlm
    candidates, first = twinned_candidates(tokenizer)
    distinct = [c for c in candidates if c not in first]
    beams = len(candidates)
    merged = evaluate_protocols(model, tokenizer, ROWS, candidates, "beam", num_beams=beams)
    by_hand = evaluate_protocols(
        model, tokenizer, merged_by_hand(ROWS, first), distinct, "beam", num_beams=beams
    )
    assert merged["ours"].pop("merged_candidates") == len(first) == 9
    assert by_hand["ours"].pop("merged_candidates") == 0
    assert merged["ours"]["num_missing"] == by_hand["ours"]["num_missing"] == 0
    assert merged["ours"]["num_queries"] == len(ROWS)
    assert merged["ours"] == pytest.approx(by_hand["ours"], abs=1e-12)


@pytest.mark.parametrize("device_resident", [False, True])
def test_completed_candidates_come_best_first(tiny_prixlm, device_resident):
    model, tokenizer = tiny_prixlm
    labels = ["euro", "German", "French", "Japanese", "Japanese yen", "Swiss franc", "Yen"]
    trie = EntityTrie.from_labels(tokenizer, labels)
    results = predict_objects(
        model, tokenizer, QUERIES, trie, num_beams=len(labels), device_resident=device_resident
    )
    exact = score_candidates(model, tokenizer, QUERIES, trie)  # (queries, labels) log p
    for result, scores in zip(results, exact, strict=True):
        order = sorted(range(len(labels)), key=lambda j: -float(scores[j]))
        assert result.labels == [labels[j] for j in order]  # every entity, best first
        assert result.losses == sorted(result.losses)
        assert result.losses[0] < result.losses[-1]
        assert result.scores == pytest.approx([float(scores[j]) for j in order], abs=1e-4)
