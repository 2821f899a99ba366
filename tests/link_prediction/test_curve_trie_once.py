"""Training's link-prediction curve (`lp_evaluator`) builds each language's trie once and
ranks in it at every evaluation: each evaluation tokenised every candidate label and built
the trie again (~1.3 s a language at 100k labels). Counted with a wrapped tokenizer, not
timed; the metrics are those of `evaluate_link_prediction` given the labels, as before.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import pytest
from test_candidate_fit_cost import SHORT, row, words
from tokenizer_calls import recording

from prixlm.link_prediction.candidate_fit import CandidatesLeftOutWarning
from prixlm.link_prediction.evaluation import evaluate_link_prediction
from prixlm.training import lp_evaluation
from prixlm.training.lp_evaluation import lp_evaluator

#: The tiny model's candidates: short labels, one holding `[O]`, one too long for it.
LABELS = [*SHORT, "Radio [O]", words("Japan", 70)]
ROWS = [row("Germany", "euro"), row("Japan", "Japanese yen"), row("France", "Radio [O]")]


def test_the_training_curve_builds_each_trie_once(tiny_prixlm, monkeypatch):
    model, tokenizer = tiny_prixlm
    monkeypatch.setattr(lp_evaluation, "load_split", lambda dataset, language, split: ROWS)
    data_args = SimpleNamespace(
        dataset="dataset", lp_eval_split="validation", lp_eval_queries=3, lp_eval_beams=5
    )
    with pytest.warns(UserWarning) as caught:
        evaluate, sample = lp_evaluator(
            tokenizer, model.config, data_args, ["en"], 0, {"en": list(LABELS)}
        )
    assert sample.candidates_too_long == {"en": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CandidatesLeftOutWarning)
        full = evaluate_link_prediction(model, tokenizer, ROWS, LABELS, num_beams=5)
    assert (full["candidates_unreadable"], full["candidates_too_long"]) == (1, 1)
    assert full["num_missing"] >= 1  # the query whose gold is unreadable
    texts = recording(tokenizer, monkeypatch)
    with warnings.catch_warnings(record=True) as during:
        warnings.simplefilter("always")
        curve = [evaluate(model, "en") for _ in range(3)]
    # was every label once per evaluation: the queries' names only now
    assert not set(LABELS) & {text for call in texts for text in call}
    mrr = next(key for key in full if key.startswith("mrr"))
    assert curve == [{"hits_at_1": full["hits_at_1"], "mrr": full[mrr]}] * 3
    # the unreadable label: warned once, when the trie was built (was at each evaluation)
    assert sum("candidate labels hold the text" in str(w.message) for w in caught) == 1
    assert not any("candidate labels hold the text" in str(w.message) for w in during)
