"""Train a small XLM-R-layout Unigram tokenizer for the embedded (offline) default.

The result has XLM-R's layout (`<s>`=0, `<pad>`=1, `</s>`=2, `<unk>`=3, `<mask>` last),
its Metaspace pre-tokenisation and post-processor, and is saved as an
`XLMRobertaTokenizer` that `AutoTokenizer.from_pretrained(folder)` loads: code written for
`xlm-roberta-base` runs unchanged on it.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable

from tokenizers import Tokenizer, pre_tokenizers
from tokenizers.models import Unigram
from tokenizers.trainers import UnigramTrainer
from transformers import XLMRobertaTokenizer

SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>")
MASK_TOKEN = "<mask>"
#: decimals kept of a piece's log-probability (its run-to-run jitter is ~1e-14)
SCORE_DIGITS = 6


def train_tokenizer(
    texts: Iterable[str], vocab_size: int = 8000, show_progress: bool = False
) -> XLMRobertaTokenizer:
    """Train a Unigram tokenizer on `texts` and wrap it as an XLM-R tokenizer.

    Args:
        texts: training strings (entity and relation names, for a KB).
        vocab_size: size including the five special tokens; the trainer may return fewer
            pieces when the texts are small. `ValueError` if it cannot hold every character.
    """
    if vocab_size < 16:
        raise ValueError(f"vocab_size={vocab_size}: expected at least 16")
    model = Tokenizer(Unigram())
    model.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement="▁")]
    )
    trainer = UnigramTrainer(
        vocab_size=vocab_size - 1,
        special_tokens=list(SPECIAL_TOKENS),
        unk_token="<unk>",
        show_progress=show_progress,
        max_piece_length=16,
    )
    texts = [unicodedata.normalize("NFC", t) for t in texts if t]  # as names are encoded
    try:
        model.train_from_iterator(texts, trainer=trainer)
    except Exception as error:  # the Rust trainer's own message names no size
        if "not large enough to contain all chars" not in str(error):
            raise
        characters = len(set().union(*map(set, texts)))
        raise ValueError(
            f"vocab_size={vocab_size}: too small for the {characters:,} distinct characters "
            f"of the texts; choose at least {characters + len(SPECIAL_TOKENS) + 1}"
        ) from None
    # The trainer breaks ties between single characters in an order that varies between
    # runs, and its other scores vary in their last bits (~1e-14: 17 to 46 of 6,000 pieces
    # of the nine CLDR languages took other ids from one run to the next, and the files
    # differed): give every single character the lowest of their scores, round every score
    # to SCORE_DIGITS decimals, then order by score and piece, so that training is
    # deterministic (same ids, byte-identical files).
    scores = {p: s for p, s in _unigram_scores(model) if p not in SPECIAL_TOKENS}
    single_character = [s for p, s in scores.items() if len(p) == 1]
    floor = min(single_character, default=0.0)
    scores = {p: round(floor if len(p) == 1 else s, SCORE_DIGITS) for p, s in scores.items()}
    others = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    vocab = [(piece, 0.0) for piece in SPECIAL_TOKENS] + others
    vocab.append((MASK_TOKEN, 0.0))
    return XLMRobertaTokenizer(vocab=vocab)


def _unigram_scores(model: Tokenizer) -> list[tuple[str, float]]:
    """(piece, log-probability) pairs of a trained Unigram model."""
    state = json.loads(model.to_str())
    return [(piece, float(score)) for piece, score in state["model"]["vocab"]]
