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
from completion_kb import dataset_rows, write_dataset

from prixlm.completion.loading import load_completion_kb
from prixlm.completion.propose import fitted_inputs, propose_objects, run_completion
from prixlm.model_loading import load_prixlm


class RecordingBackend:
    """A tokenizer's Rust backend, recording the texts of its batch calls."""

    def __init__(self, backend, texts: list[list[str]]) -> None:
        self.backend, self.texts = backend, texts

    def encode_batch_fast(self, texts, *args, **kwargs):
        self.texts.append(list(texts))
        return self.backend.encode_batch_fast(texts, *args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self.backend, name)


def recording(tokenizer, monkeypatch) -> list[list[str]]:
    """Every text `tokenizer`'s class is called with (a list call: each of its texts), by
    its own call or its backend's batch call (`label_encoding.encode_labels`)."""
    texts: list[list[str]] = []
    cls = type(tokenizer)
    original = cls.__call__

    def counting(self, text=None, *args, **kwargs):
        texts.append(list(text) if isinstance(text, (list, tuple)) else [text])
        return original(self, text, *args, **kwargs)

    monkeypatch.setattr(cls, "__call__", counting)
    backend = property(lambda self: RecordingBackend(self._tokenizer, texts))
    monkeypatch.setattr(cls, "backend_tokenizer", backend)
    return texts


@pytest.fixture(scope="module")
def completion_inputs(completion_kb, tmp_path_factory):
    """(model, tokenizer, kb): the tiny completion KB with a German link-only label holding
    `[O]` (unreadable), and the model trained on it."""
    _, model_dir = completion_kb
    configs = dataset_rows()
    link = configs["links"]["train"][0]
    configs["links"]["train"].append(
        {**link, "subject": "Radio [O]", "subject_language": "de", "object_language": "en",
         "subject_id": "http://de.dbpedia.org/resource/Radio", "object": "Radio",
         "object_id": "http://dbpedia.org/resource/Radio", "all_objects": ["Radio"]}
    )  # fmt: skip
    dataset = write_dataset(tmp_path_factory.mktemp("once") / "dataset", configs)
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
