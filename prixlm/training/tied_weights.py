"""Keys a checkpoint lacks only because they are tied: not missing.

transformers 5 saves one of two tied parameters (the LM head's decoder is the word
embeddings; its bias is the head's `bias`), so loading a checkpoint's state dict reports the
other as missing, and the Trainer's resume warned "There were missing keys in the
checkpoint model loaded: ['lm_head.decoder.weight', 'lm_head.decoder.bias']" for weights
that were loaded whole. A key whose tied partner was loaded (and that shares its tensor) is
left out; a key missing with its partner, or not tied, still counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def _same_tensor(model: Any, first: str, second: str) -> bool:
    """Whether parameters (or buffers) `first` and `second` of `model` share one tensor."""
    tensors = {**dict(model.named_parameters(remove_duplicate=False)),
               **dict(model.named_buffers(remove_duplicate=False))}  # fmt: skip
    a, b = tensors.get(first), tensors.get(second)
    return a is not None and b is not None and a.data_ptr() == b.data_ptr()


def untied_missing_keys(model: Any, missing_keys: Iterable[str]) -> list[str]:
    """`missing_keys` (of `model.load_state_dict`) without those tied to a loaded key
    (`model.all_tied_weights_keys`: {target: source}, transformers 5), in their order."""
    missing = list(missing_keys)
    tied = getattr(model, "all_tied_weights_keys", None)
    if not isinstance(tied, dict) or not missing:
        return missing
    absent, covered = set(missing), set()
    for target, source in tied.items():
        for key, partner in ((target, source), (source, target)):
            if key in absent and partner not in absent and _same_tensor(model, key, partner):
                covered.add(key)
    return [key for key in missing if key not in covered]


__all__ = ["untied_missing_keys"]
