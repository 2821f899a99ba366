"""Every candidate label of a language tokenised at once (`label_encoding.encode_labels`):
through the fast tokenizer's Rust backend in one batch (transformers built a Python object
per label, as costly as the encoding: minutes at a million labels), with the ids of a text
call, label by label; the tokenizer's own call where the backend is not in that state.
Counted with a wrapped tokenizer, not timed; the ids, counts and tries are compared with
those of one text call per label."""

from __future__ import annotations

import copy
import unicodedata
import warnings
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from modeling_prixlm.candidate_checks import readable_split, readable_trie
from modeling_prixlm.constrained_decoding import EntityTrie
from modeling_prixlm.formatting import special_token_ids
from modeling_prixlm.label_encoding import encode_labels
from prixlm.completion.knowledge import CompletionQuery
from prixlm.completion.propose import fit_to_model
from prixlm.link_prediction.candidate_fit import encoded_names, label_token_counts

#: Composed and decomposed forms, a label holding `[O]`, a label of unknown characters.
LABELS = ["euro", "Japanese yen", "German", "Franc\u0327ais", "Français", "Berlin [O] x", "☃☃"]


class CountingBackend:
    """A Rust backend tokenizer, recording the texts of its batch calls."""

    def __init__(self, backend: Any, calls: list[list[str]]) -> None:
        self.backend, self.calls = backend, calls

    def encode_batch_fast(self, texts: list[str], **kwargs: Any) -> Any:
        self.calls.append(list(texts))
        return self.backend.encode_batch_fast(texts, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)


class CountingTokenizer:
    """The tokenizer, recording its text calls (`text`) apart from its backend's (`batch`)
    and how often its length is asked (`lengths`: the control tokens are looked up by it)."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.text: list[list[str]] = []
        self.batch: list[list[str]] = []
        self.lengths = 0
        self.backend_tokenizer = CountingBackend(tokenizer.backend_tokenizer, self.batch)

    def __call__(self, text: Any, **kwargs: Any) -> Any:
        self.text.append(list(text) if isinstance(text, (list, tuple)) else [text])
        return self.tokenizer(text, **kwargs)

    def __len__(self) -> int:
        self.lengths += 1
        return len(self.tokenizer)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tokenizer, name)


def one_by_one(tokenizer: Any, labels: list[str]) -> list[list[int]]:
    """A text call per label, composed first (what every path gave before batching)."""
    return [
        tokenizer(unicodedata.normalize("NFC", label), add_special_tokens=False)["input_ids"]
        for label in labels
    ]


def test_labels_go_through_the_backend_in_one_batch_with_a_text_call_s_ids(tiny_tokenizer):
    expected = one_by_one(tiny_tokenizer, LABELS)
    assert expected[3] == expected[4] and tiny_tokenizer.unk_token_id in expected[6]
    counting = CountingTokenizer(tiny_tokenizer)
    assert encode_labels(counting, LABELS) == expected
    assert label_token_counts(counting, LABELS) == [len(ids) for ids in expected]
    assert encoded_names(counting, LABELS + LABELS[:2]) == dict(zip(LABELS, expected, strict=True))
    readable, unreadable, ids = readable_split(counting, LABELS)
    assert unreadable == ["Berlin [O] x"] and ids == [expected[i] for i in (0, 1, 2, 3, 4, 6)]
    assert counting.text == []  # no per-label BatchEncoding from transformers
    assert counting.batch == [[unicodedata.normalize("NFC", x) for x in LABELS]] * 4


def test_the_trie_is_that_of_a_text_call_per_label(tiny_tokenizer):
    labels = [label for label in LABELS if "[O]" not in label] * 3  # repeated labels too
    eos = special_token_ids(tiny_tokenizer, ()).end_of_object
    expected = EntityTrie.from_token_ids(
        [ids + [eos] for ids in one_by_one(tiny_tokenizer, labels)], eos, len(tiny_tokenizer)
    )
    counting = CountingTokenizer(tiny_tokenizer)
    trie = EntityTrie.from_labels(counting, labels)
    for name in ("edge_keys", "entity_nodes", "depth_offsets"):
        assert torch.equal(getattr(trie, name), getattr(expected, name)), name
    assert trie.labels == labels and len(counting.batch) == 1 and counting.text == []
    # the control tokens are looked up once per trie, not once per label
    assert counting.lengths <= 3 < len(labels)
    with pytest.raises(ValueError, match=r"'Berlin \[O\] x' is read as holding '\[O\]'"):
        EntityTrie.from_labels(counting, ["euro", "Berlin [O] x"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got, _, left_out = readable_trie(counting, LABELS)
    assert left_out == ["Berlin [O] x"] and torch.equal(got.edge_keys, trie.edge_keys)


@pytest.mark.parametrize("state", ["truncation", "padding", "split_special_tokens"])
def test_a_backend_in_another_state_is_not_used(tiny_tokenizer, state):
    """A backend left truncating or padding (a tokenizer.json saved so), or a tokenizer that
    splits special tokens: its text call sets its own state first, and is used instead."""
    tokenizer = copy.deepcopy(tiny_tokenizer)
    labels = ["Japanese yen euro German French", "euro", "Berlin [O] x"]
    if state == "truncation":
        tokenizer.backend_tokenizer.enable_truncation(2)
    elif state == "padding":
        tokenizer.backend_tokenizer.enable_padding(length=12)
    else:
        tokenizer.split_special_tokens = True
    counting = CountingTokenizer(tokenizer)
    expected = one_by_one(copy.deepcopy(tokenizer), labels)
    assert encode_labels(counting, labels) == expected
    assert counting.batch == [] and counting.text == [labels]
    assert max(map(len, expected)) > 2  # neither cut nor padded


def test_completion_tokenises_its_candidates_once(tiny_tokenizer):
    """`fit_to_model` tokenised every candidate twice (the unreadable check, then the
    lengths); the lengths are now those of the check's ids, with the same labels kept."""
    model = SimpleNamespace(config=SimpleNamespace(max_position_embeddings=32, pad_token_id=1))
    long = " ".join(["Japan"] * 30)
    candidates = {"euro": ["e"], "German": ["g"], long: ["l"], "Berlin [O] x": ["b"]}
    query = CompletionQuery("s", "Germany", "r", "currency")
    counting = CountingTokenizer(tiny_tokenizer)
    with pytest.warns(UserWarning, match="control tokens"):
        queries, kept, unencodable = fit_to_model(model, counting, [query], candidates)
    assert (queries, kept, unencodable) == ([query], {"euro": ["e"], "German": ["g"]}, 0)
    given = [call for call in counting.batch + counting.text if "euro" in call]
    assert given == [list(candidates)]
