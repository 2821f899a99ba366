"""One rule for Prix-LM rankings: candidate labels that tokenise identically are one entity
(the official `lp.py`), in the scorer path the experiments use as in `evaluate_lp --mode
full`; KGE scorers (distinct entities, distinct embeddings) merge nothing."""

from __future__ import annotations

import unicodedata

import pytest
import torch
from test_link_prediction import tiny_entities

from modeling_prixlm.constrained_decoding import EntityTrie
from prixlm.link_prediction.candidate_scoring import score_candidates
from prixlm.link_prediction.evaluation import evaluate_link_prediction, evaluate_protocols
from prixlm.link_prediction.protocols import filter_objects, get_protocol, train_objects
from prixlm.link_prediction.ranking import filtered_ranks_from_scores
from prixlm.link_prediction.scorer import (
    PrixLMScorer,
    canonical_labels,
    evaluate_scorer,
    evaluate_scorer_protocols,
    protocol_ranks,
    queries_digest,
)

PROTOCOLS = ("ours", "kens", "raw")
# accented golds the tiny tokenizer writes without <unk>; each gets its NFD spelling as a
# twin candidate (`EntityTrie.from_labels` NFC-composes labels: the same tokens)
GOLDS = ["Gärman", "Eurö", "Frönch", "Fränce", "Jäpan", "Swöss", "Deutschländ", "Französisch"]
QUERIES = [
    ("Germany", "official language", ["Deutschländ"]),
    ("Germany", "currency", ["euro"]),
    ("France", "official language", [unicodedata.normalize("NFD", "Französisch")]),
    ("France", "currency", []),
    ("Japan", "official language", []),
    ("Switzerland", "official language", ["Gärman", "Frönch"]),
    ("Deutschland", "Währung", []),
    ("Frankreich", "Amtssprache", []),
]


def nfd(label: str) -> str:
    return unicodedata.normalize("NFD", label)


def row(subject: str, relation: str, obj: str, others=()) -> dict:
    return {"kind": "triple", "subject": subject, "relation": relation, "object": obj,
            "subject_language": "en", "object_language": "en", "subject_id": "",
            "relation_id": "", "object_id": "", "all_objects": sorted({obj, *others})}  # fmt: skip


ROWS = [row(s, r, gold, others) for (s, r, others), gold in zip(QUERIES, GOLDS, strict=True)]
TRAIN_ROWS = [
    row("Germany", "official language", nfd("Deutschländ")),  # a twin as a train object
    row("Switzerland", "official language", "Frönch"),
    row("Germany", "currency", " euro"),  # " euro" tokenises like "euro"
    row("France", "currency", "euro"),
]


def twinned_candidates(tokenizer) -> tuple[list[str], dict[str, str]]:
    """Candidates with twins, and each twin -> its first label in candidate order (by
    construction: the first four golds come after their NFD twin, the others before)."""
    labels = [label for label in dict.fromkeys(tiny_entities(tokenizer)) if label not in GOLDS]
    assert labels.index("euro") < labels.index(" euro")
    candidates = labels + [nfd(g) for g in GOLDS[:4]] + GOLDS + [nfd(g) for g in GOLDS[4:]]
    first = {" euro": "euro"}
    first.update({g: nfd(g) for g in GOLDS[:4]})
    first.update({nfd(g): g for g in GOLDS[4:]})
    assert all(nfd(g) != g for g in GOLDS) and len(set(candidates)) == len(candidates)
    return candidates, first


def merged_by_hand(rows, first):
    return [{**r, "object": first.get(r["object"], r["object"]),
             "all_objects": sorted({first.get(o, o) for o in r["all_objects"]})} for r in rows]  # fmt: skip


def test_twins_rank_as_one_entity_in_the_scorer_path_as_in_full_mode(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    candidates, first = twinned_candidates(tokenizer)
    scorer = PrixLMScorer(model, tokenizer, batch_size=4, max_rows=64)
    merged = evaluate_scorer_protocols(scorer, ROWS, candidates, PROTOCOLS, batch_size=3,
                                       train_rows=TRAIN_ROWS, keep_ranks=True)  # fmt: skip
    full = evaluate_protocols(model, tokenizer, ROWS, candidates, "full",
                              protocols=PROTOCOLS, train_rows=TRAIN_ROWS)  # fmt: skip
    # the same rows ranked over the distinct labels only, golds and filters by hand
    distinct = [c for c in candidates if c not in first]
    by_hand = evaluate_scorer_protocols(
        scorer, merged_by_hand(ROWS, first), distinct, PROTOCOLS,
        train_rows=merged_by_hand(TRAIN_ROWS, first), keep_ranks=True,
    )  # fmt: skip
    for name in PROTOCOLS:
        ranks = merged[name].pop("ranks")
        expected_ranks = by_hand[name].pop("ranks")
        assert ranks["filtered"] == expected_ranks["filtered"], name
        assert ranks["raw"] == expected_ranks["raw"], name
        # per-query ranks pair by the caller's rows, not the merged golds
        assert ranks["queries_sha256"] == queries_digest(ROWS) != expected_ranks["queries_sha256"]
        assert merged[name].pop("merged_candidates") == len(first) == 9
        assert by_hand[name].pop("merged_candidates") == 0
        assert full[name].pop("num_candidates") == len(distinct)
        assert full[name].pop("merged_candidates") == len(first)
        assert merged[name] == pytest.approx(full[name], abs=1e-12), name
        assert merged[name] == pytest.approx(by_hand[name], abs=1e-12), name
    # the reviewer's reproduction: one rule for both entry points
    ours = evaluate_scorer(scorer, ROWS, candidates)
    assert (
        ours["hits_at_1"]
        == evaluate_link_prediction(model, tokenizer, ROWS, candidates, "full")["hits_at_1"]
    )
    # a trie given to full mode ranks the same
    trie = EntityTrie.from_labels(tokenizer, candidates)
    from_trie = evaluate_protocols(model, tokenizer, ROWS, trie, "full", protocols=PROTOCOLS,
                                   train_rows=TRAIN_ROWS)  # fmt: skip
    for name in PROTOCOLS:
        from_trie[name].pop("num_candidates")
        from_trie[name].pop("merged_candidates")
        assert from_trie[name] == pytest.approx(full[name], abs=1e-12)


def test_the_validation_curve_ranks_twins_as_full_mode(tiny_prixlm):
    from prixlm.experiments.curve import mrr_evaluator

    model, tokenizer = tiny_prixlm
    candidates, _ = twinned_candidates(tokenizer)
    values = mrr_evaluator({"en": ROWS}, {"en": candidates}, 4, 64)(model, tokenizer)
    full = evaluate_link_prediction(model, tokenizer, ROWS, candidates, "full")
    assert values["en"] == pytest.approx(full["mrr"], abs=1e-12)


class KGELike:
    """A scorer without a trie: Prix-LM's scores (twins tie), one column per label."""

    def __init__(self, model, tokenizer):
        self.model, self.tokenizer = model, tokenizer

    def score(self, queries, candidates):
        trie = EntityTrie.from_labels(self.tokenizer, candidates)
        return score_candidates(self.model, self.tokenizer, queries, trie, batch_size=4)


def test_a_kge_style_scorer_merges_nothing(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    candidates, _ = twinned_candidates(tokenizer)
    scorer = KGELike(model, tokenizer)
    ranks = protocol_ranks(scorer, ROWS, candidates, PROTOCOLS, TRAIN_ROWS, batch_size=3)
    # by hand: every label its own column
    scores = scorer.score(ROWS, candidates)
    column = {label: j for j, label in enumerate(candidates)}
    gold = torch.tensor([column[r["object"]] for r in ROWS])
    for name in PROTOCOLS:
        rule = get_protocol(name)
        mask = torch.zeros(scores.shape, dtype=torch.bool)
        for i, objects in enumerate(filter_objects(ROWS, rule, train_objects(TRAIN_ROWS))):
            mask[i, [column[o] for o in objects if o in column]] = True
        expected = filtered_ranks_from_scores(scores, gold, mask, rule.ties)
        assert ranks[name][0].tolist() == expected.tolist(), name
    # twins tie: the NFD spelling shares each gold's score, so the ranks differ from Prix-LM's
    assert (
        ranks["ours"][0].tolist()
        != protocol_ranks(PrixLMScorer(model, tokenizer, 4, 64), ROWS, candidates, ("ours",))[
            "ours"
        ][0].tolist()
    )
    metrics = evaluate_scorer_protocols(scorer, ROWS, candidates, PROTOCOLS,
                                        train_rows=TRAIN_ROWS, keep_ranks=True)  # fmt: skip
    assert all("merged_candidates" not in m for m in metrics.values())
    assert metrics["ours"]["ranks"]["filtered"] == ranks["ours"][0].tolist()


@pytest.mark.parametrize("mode", ["beam", "full"])
def test_twins_are_counted_over_every_candidate_when_long_prompts_cut_the_trie(tiny_prixlm, mode):
    """Queries whose long prompts leave room for fewer candidates are ranked in cut tries
    (`prompt_groups`): `merged_candidates` counts the twins of every candidate, as for
    short prompts, not those of the cut trie only (the long twins are cut from it)."""
    from prixlm.link_prediction.candidate_fit import CandidatesLeftOutWarning

    model, tokenizer = tiny_prixlm
    long = " ".join(["Japan"] * 30)  # 30 tokens: fits after a short prompt, not a long one
    labels = ["euro", " euro", "German", long, " " + long]  # two pairs of twins
    trie = EntityTrie.from_labels(tokenizer, labels)
    assert canonical_labels(trie) == {"euro": "euro", " euro": "euro", "German": "German",
                                      long: long, " " + long: long}  # fmt: skip
    assert trie.entity_lengths().tolist()[3:] == [31, 31]  # [EOS] counted
    subject = " ".join(["German"] * 20)  # leaves room for 27 tokens, or fewer
    beams = {"num_beams": 3} if mode == "beam" else {}
    facts = [("currency", "euro"), ("official language", "German")]
    plain = evaluate_link_prediction(
        model, tokenizer, [row("Germany", r, o) for r, o in facts], labels, mode, **beams
    )
    assert (plain["merged_candidates"], plain["num_candidates"]) == (2, 3)
    assert "queries_with_candidates_too_long" not in plain
    with pytest.warns(CandidatesLeftOutWarning, match=r"2 of 2 queries have prompts"):
        cut = evaluate_link_prediction(
            model, tokenizer, [row(subject, r, o) for r, o in facts], labels, mode, **beams
        )
    assert (cut["merged_candidates"], cut["num_candidates"]) == (2, 3)
    assert (cut["queries_with_candidates_too_long"], cut["num_queries"]) == (2, 2)
