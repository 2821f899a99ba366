"""Whether a tokenizer is the one a Prix-LM was trained with: its vocabulary's fingerprint.

A tokenizer of another build can have the model's size and the model's ids of `[S] [P] [O]
[EOS]` and of the language tokens (`formatting.check_tokenizer_matches` passes) and still
give its words other ids: the model then reads every name as other words and answers
garbage, with no error. Training records the fingerprint of the tokenizer saved with the
model (`vocabulary_fingerprint`: sha256 of its token -> id map) in `config.json`
(`PrixLMConfig.vocabulary_fingerprint`); loading compares it (`tokenizer_mismatch`). A
config without it (written before the field existed, or the converted official checkpoint)
is not compared.

Hub custom code: imports only the standard library and this folder (relative imports).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .formatting import check_tokenizer_matches

#: The files that hold a release folder's tokenizer (what to copy from the model's release).
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
#: Hex digits of a fingerprint quoted in an error.
SHOWN_DIGITS = 12


#: The tokenizer's attribute that keeps `(its length, its fingerprint)`: on the object
#: itself, so that the package's checks and a release folder's copy of this module share it.
CACHE_ATTRIBUTE = "_prixlm_vocabulary_fingerprint"


def vocabulary_fingerprint(tokenizer: Any, below: int | None = None) -> str:
    """sha256 of the tokenizer's token -> id map (`get_vocab()`, added tokens included);
    of its tokens whose ids are below `below` only, where given (the vocabulary a model was
    trained with, which `add_tokens` extended: `PrixLMConfig.vocabulary_fingerprint_tokens`).

    The fingerprint of every token is kept on the tokenizer object with its length (a 250k
    vocabulary takes a second or more): loading a model and building its pipeline compute
    it once; tokens added since (a new language's `[de]`) change the length, and it is
    computed again."""
    length = getattr(tokenizer, "__len__", None)
    size = length() if callable(length) and below is None else None  # None: not kept
    cached = getattr(tokenizer, CACHE_ATTRIBUTE, None)
    if size is not None and isinstance(cached, tuple) and cached[0] == size:
        return cached[1]
    vocabulary = sorted(tokenizer.get_vocab().items())
    if below is not None:
        vocabulary = [(token, index) for token, index in vocabulary if index < below]
    found = hashlib.sha256(json.dumps(vocabulary, ensure_ascii=False).encode()).hexdigest()
    if size is not None:
        try:
            setattr(tokenizer, CACHE_ATTRIBUTE, (size, found))
        except (AttributeError, TypeError):  # an object that takes no attribute
            pass
    return found


def tokenizer_mismatch(tokenizer: Any, config: Any) -> str | None:
    """Why `tokenizer` is not the one the model of `config` was trained with, or None.

    First `check_tokenizer_matches` (size, `<pad>`, the Prix-LM tokens' ids), then the
    vocabulary's fingerprint where the config records one. The text ends by naming the
    tokenizer files to copy from the model's release folder.
    """
    try:
        check_tokenizer_matches(tokenizer, config)
    except ValueError as error:
        reason = str(error)
    else:
        expected = getattr(config, "vocabulary_fingerprint", None)
        below = getattr(config, "vocabulary_fingerprint_tokens", None)
        found = vocabulary_fingerprint(tokenizer, below) if expected else expected
        if found == expected:
            return None
        reason = (
            f"its vocabulary (sha256 {found[:SHOWN_DIGITS]}…) is not the one the model was "
            f"trained with (config.json vocabulary_fingerprint {expected[:SHOWN_DIGITS]}…): "
            "the tokenizer is another build's"
        )
    return (
        f"{reason}; copy the tokenizer files ({', '.join(TOKENIZER_FILES)}) from the folder "
        "the model was released in"
    )


def check_pipeline_tokenizer(tokenizer: Any, config: Any, stored: Any) -> None:
    """`ValueError` unless the pipeline's `tokenizer` is the one its model (`config`) was
    trained with (`tokenizer_mismatch`), naming the folder or Hub repo (`stored`, the
    pipeline's `stored_files.StoredFiles`). A folder without its `tokenizer.json` gives a
    near-empty tokenizer, which `AutoTokenizer` accepts quietly: that is said as such."""
    source = stored.source
    subject = tokenizer.convert_tokens_to_ids("[S]")
    if subject != getattr(config, "subject_token_id", subject) and source:
        if stored.path("tokenizer.json") is None:
            raise ValueError(
                f"the tokenizer ({len(tokenizer)} tokens) is not the model's "
                f"({config.vocab_size} tokens): {source!r} has no tokenizer.json (the model's "
                "trained tokenizer): copy it from the folder the model was released in"
            )
    reason = tokenizer_mismatch(tokenizer, config)
    if reason is not None:
        raise ValueError(
            f"the tokenizer of {source or '?'!r} ({len(tokenizer)} tokens) is not the one its "
            f"model ({config.vocab_size} tokens) was trained with: {reason}"
        )


def fingerprint_after_resize(config: Any, old_vocab: int, vocab: int) -> None:
    """After `resize_token_embeddings` from `old_vocab` to `vocab` tokens: `config`'s
    vocabulary fingerprint stays that of the tokens it was computed over
    (`vocabulary_fingerprint_tokens`: the first `old_vocab`, where tokens were added), so that
    a tokenizer that extends the trained one (`add_tokens`, then the resize) is still
    recognised as the model's; where tokens were removed, it can no longer be checked and is
    dropped."""
    if vocab == old_vocab or not getattr(config, "vocabulary_fingerprint", None):
        return
    covered = getattr(config, "vocabulary_fingerprint_tokens", None) or old_vocab
    if vocab < covered:
        config.vocabulary_fingerprint, covered = None, None
    config.vocabulary_fingerprint_tokens = covered


__all__ = [
    "TOKENIZER_FILES",
    "check_pipeline_tokenizer",
    "fingerprint_after_resize",
    "tokenizer_mismatch",
    "vocabulary_fingerprint",
]
