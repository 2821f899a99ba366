"""Many names tokenised at once: every candidate label of a language (100k-1M in a large KB).

`encode_labels` gives the ids of each label as `tokenizer(label, add_special_tokens=False)`
gives them, composed first (NFC, as `formatting` encodes every name). A fast tokenizer's
Rust backend is called directly (`encode_batch_fast`: no offsets, no per-label Python
objects from transformers, which cost as much as the encoding itself) when it is in the
state a text call sets (no truncation or padding, the tokenizer's own choice of splitting
special tokens); any other tokenizer goes through its own batch call.

Hub custom code: imports only the standard library.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any


def text_backend(tokenizer: Any) -> Any:
    """The Rust tokenizer behind `tokenizer` when encoding through it directly gives the ids
    of a text call (`tokenizer(text, add_special_tokens=False)`); None otherwise."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or not hasattr(backend, "encode_batch_fast"):
        return None
    try:
        same_state = (
            backend.truncation is None
            and backend.padding is None
            and backend.encode_special_tokens
            == bool(getattr(tokenizer, "split_special_tokens", False))
        )
    except AttributeError:  # an older backend without these settings
        return None
    return backend if same_state else None


def _surrogate_error(labels: Sequence[str]) -> ValueError | None:
    """The error naming the first label holding a lone surrogate; None if none does."""
    for label in labels:
        if surrogates := [c for c in label if "\ud800" <= c <= "\udfff"]:
            return ValueError(
                f"candidate entity {label!r} holds a lone surrogate "
                f"(U+{ord(surrogates[0]):04X}), which is no text: remove it"
            )
    return None


def encode_texts(tokenizer: Any, texts: Sequence[str]) -> list[list[int]]:
    """The ids of each text as `tokenizer(text, add_special_tokens=False)` gives them, in
    one call: the Rust backend's where `text_backend` allows it, else the tokenizer's own
    batch call (`verbose=False`: a text longer than the model's positions is measured or
    dropped by the callers, never run through the model)."""
    if not texts:
        return []
    if (backend := text_backend(tokenizer)) is not None:
        encodings = backend.encode_batch_fast(list(texts), add_special_tokens=False)
        return [encoding.ids for encoding in encodings]
    encoded = tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
    return [list(ids) for ids in encoded]


def encode_labels(tokenizer: Any, labels: Sequence[str]) -> list[list[int]]:
    """The ids of each label (strings), composed (NFC) as `formatting` encodes every name,
    no special tokens, in one call (`encode_texts`). A label holding a lone surrogate (a
    JSON file's `"\\ud800"`) is a `ValueError` naming it, not the tokenizer's error naming
    none (looked for only when the tokenizer fails)."""
    try:
        return encode_texts(tokenizer, [unicodedata.normalize("NFC", label) for label in labels])
    except (TypeError, UnicodeError):
        if (error := _surrogate_error(labels)) is not None:
            raise error from None
        raise


__all__ = ["encode_labels", "encode_texts", "text_backend"]
