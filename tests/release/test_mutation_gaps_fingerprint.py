"""The vocabulary fingerprint of tokenizer-like objects: one whose vocabulary changes its
length is fingerprinted again (grown or shrunk), one without a length afresh at every call
(its vocabulary may have changed), and one that takes no attribute without keeping it."""

from __future__ import annotations

import hashlib
import json

from modeling_prixlm.tokenizer_checks import vocabulary_fingerprint


def digest(vocabulary: dict[str, int]) -> str:
    """The fingerprint's formula, as `config.json` files record it."""
    text = json.dumps(sorted(vocabulary.items()), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class Unsized:
    """A vocabulary with no `len()`: its fingerprint cannot be kept against its length."""

    def __init__(self, vocabulary: dict[str, int]) -> None:
        self.vocabulary = vocabulary

    def get_vocab(self) -> dict[str, int]:
        return dict(self.vocabulary)


class Sized(Unsized):
    """A vocabulary with a length, which keeps its fingerprint."""

    def __len__(self) -> int:
        return len(self.vocabulary)


class Slotted:
    """A vocabulary that takes no new attribute (`__slots__`)."""

    __slots__ = ("reads", "vocabulary")

    def __init__(self, vocabulary: dict[str, int]) -> None:
        self.vocabulary, self.reads = vocabulary, 0

    def __len__(self) -> int:
        return len(self.vocabulary)

    def get_vocab(self) -> dict[str, int]:
        self.reads += 1
        return dict(self.vocabulary)


def test_a_vocabulary_without_a_length_is_fingerprinted_at_every_call():
    tokenizer = Unsized({"<s>": 0, "euro": 1})
    assert vocabulary_fingerprint(tokenizer) == digest({"<s>": 0, "euro": 1})
    tokenizer.vocabulary["yen"] = 2
    assert vocabulary_fingerprint(tokenizer) == digest({"<s>": 0, "euro": 1, "yen": 2})


def test_a_vocabulary_that_takes_no_attribute_is_fingerprinted_each_time():
    tokenizer = Slotted({"<s>": 0, "euro": 1})
    expected = digest({"<s>": 0, "euro": 1})
    assert [vocabulary_fingerprint(tokenizer) for _ in range(2)] == [expected] * 2
    assert tokenizer.reads == 2  # nothing kept: read again


def test_a_vocabulary_of_another_length_is_fingerprinted_again():
    tokenizer = Sized({"<s>": 0, "euro": 1, "yen": 2})
    assert vocabulary_fingerprint(tokenizer) == digest({"<s>": 0, "euro": 1, "yen": 2})
    del tokenizer.vocabulary["yen"]  # shrunk: the kept fingerprint is another vocabulary's
    assert vocabulary_fingerprint(tokenizer) == digest({"<s>": 0, "euro": 1})
    tokenizer.vocabulary.update(yen=2, dollar=3)  # grown
    assert vocabulary_fingerprint(tokenizer) == digest(tokenizer.vocabulary)
