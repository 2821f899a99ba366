"""Train a small XLM-R-layout Unigram tokenizer for the embedded (offline) default.

The result has XLM-R's layout (`<s>`=0, `<pad>`=1, `</s>`=2, `<unk>`=3, `<mask>` last),
its Metaspace pre-tokenisation and post-processor, and is saved as an
`XLMRobertaTokenizer` that `AutoTokenizer.from_pretrained(folder)` loads: code written for
`xlm-roberta-base` runs unchanged on it.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, pre_tokenizers
from tokenizers.models import Unigram
from tokenizers.trainers import UnigramTrainer
from transformers import XLMRobertaTokenizer

SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>")
MASK_TOKEN = "<mask>"


def train_tokenizer(
    texts: Iterable[str], vocab_size: int = 8000, show_progress: bool = False
) -> XLMRobertaTokenizer:
    """Train a Unigram tokenizer on `texts` and wrap it as an XLM-R tokenizer.

    Args:
        texts: training strings (entity and relation names, for a KB).
        vocab_size: size including the five special tokens; the trainer may return fewer
            pieces when the texts are small.
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
    model.train_from_iterator((t for t in texts if t), trainer=trainer)
    pieces = model.get_vocab()
    ordered = sorted(pieces.items(), key=lambda item: item[1])
    scores = dict(_unigram_scores(model))
    vocab = [(piece, scores.get(piece, 0.0)) for piece, _ in ordered]
    if [p for p, _ in vocab[: len(SPECIAL_TOKENS)]] != list(SPECIAL_TOKENS):
        raise RuntimeError(f"unexpected special-token layout: {vocab[:5]}")
    vocab.append((MASK_TOKEN, 0.0))
    return XLMRobertaTokenizer(vocab=vocab)


def _unigram_scores(model: Tokenizer) -> list[tuple[str, float]]:
    """(piece, log-probability) pairs of a trained Unigram model."""
    import json

    state = json.loads(model.to_str())
    return [(piece, float(score)) for piece, score in state["model"]["vocab"]]
