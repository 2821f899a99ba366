"""`prixlm.complete` tokenises each candidate label once (`run_completion`): the ids that
find the unreadable labels count them, measure the others and build the trie. It tokenised
them three times (to fit them, to count the unreadable ones, to build the trie): seconds at
100k labels, over a minute at 1M. Counted with a wrapped tokenizer, not timed; the proposals
and counts are those of a trie built from the labels by `propose_objects`, as before.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

import pytest
from test_unreadable_counts import _with_unreadable_label
from tokenizer_calls import recording

from prixlm.completion.loading import load_completion_kb
from prixlm.completion.propose import fitted_inputs, propose_objects, run_completion
from prixlm.model_loading import load_prixlm


@pytest.fixture(scope="module")
def completion_inputs(completion_kb, tmp_path_factory):
    """(model, tokenizer, kb): the tiny completion KB with a German link-only label holding
    `[O]` (unreadable), and the model trained on it."""
    _, model_dir = completion_kb
    dataset = _with_unreadable_label(tmp_path_factory.mktemp("once"))
    model, tokenizer = load_prixlm(str(model_dir), "cpu")
    return model, tokenizer, load_completion_kb(str(dataset), "de", target_splits=["train"])


def test_completion_tokenises_each_candidate_once(completion_inputs, monkeypatch):
    model, tokenizer, kb = completion_inputs
    settings = {"max_per_pair": 3, "num_beams": 5, "progress": False}
    with pytest.warns(UserWarning, match="control tokens"):
        inputs = fitted_inputs(model, tokenizer, kb)
    # the path that tokenised again: the trie built from the labels by `propose_objects`
    expected = propose_objects(model, tokenizer, inputs.queries, inputs.candidates, 0.0, **settings)
    names = {n for q in inputs.queries for n in (q.subject, q.relation)}
    texts = recording(tokenizer, monkeypatch)
    with pytest.warns(UserWarning, match="control tokens"):
        proposals, stats = run_completion(model, tokenizer, kb, 0.0, **settings)
    assert proposals == expected and len(proposals) > len(inputs.queries)
    assert stats == inputs.stats and stats.candidates_unreadable == 1
    labels = [label for label in [*inputs.candidates, "Radio [O]"] if label not in names]
    seen = Counter(text for call in texts for text in call)
    assert len(labels) > 5  # was 3 times each (2 for the unreadable one)
    assert {label: seen[unicodedata.normalize("NFC", label)] for label in labels} == dict.fromkeys(
        labels, 1
    )
