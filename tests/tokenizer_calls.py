"""Counting the texts a tokenizer is asked to encode, by its own call or its Rust backend's
batch call (`modeling_prixlm.label_encoding.encode_labels`): tests that labels are tokenised
once, without timing."""

from __future__ import annotations

from typing import Any

import pytest


class RecordingBackend:
    """A tokenizer's Rust backend, recording the texts of its batch calls."""

    def __init__(self, backend: Any, texts: list[list[str]]) -> None:
        self.backend, self.texts = backend, texts

    def encode_batch_fast(self, texts, *args, **kwargs):
        self.texts.append(list(texts))
        return self.backend.encode_batch_fast(texts, *args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self.backend, name)


def recording(tokenizer: Any, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every text `tokenizer`'s class is called with (a list call: each of its texts), by
    its own call or its backend's batch call."""
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
