"""Tiny tokenizers and models built from a handful of real-looking facts (tests and benches)."""

from __future__ import annotations

from transformers import XLMRobertaTokenizer

from prixlm.training.model_factory import build_prixlm

TINY_LANGUAGES = ["de", "en", "fr", "ja"]
TINY_FACTS = [
    ("Germany", "currency", "euro"),
    ("Germany", "official language", "German"),
    ("France", "currency", "euro"),
    ("France", "official language", "French"),
    ("Japan", "currency", "Japanese yen"),
    ("Japan", "official language", "Japanese"),
    ("Switzerland", "currency", "Swiss franc"),
    ("Switzerland", "official language", "German"),
    ("Deutschland", "Währung", "Euro"),
    ("Frankreich", "Amtssprache", "Französisch"),
    ("日本", "通貨", "日本円"),
    ("Allemagne", "monnaie", "euro"),
]


def tiny_texts() -> list[str]:
    return [part for fact in TINY_FACTS for part in fact] * 4


def make_tiny_model(
    tokenizer, object_attention: str = "prefix_bidirectional", seed: int = 0, dropout: float = 0.1
):
    """A random 2-layer Prix-LM in eval mode (`dropout` everywhere: call `.train()` to use it)."""
    return build_prixlm(
        tokenizer,
        seed=seed,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        object_attention=object_attention,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    ).eval()


def plain_xlmr_tokenizer() -> XLMRobertaTokenizer:
    """An XLM-R-layout tokenizer of six entries, without the Prix-LM tokens."""
    pieces = ["<s>", "<pad>", "</s>", "<unk>", "▁a", "<mask>"]
    return XLMRobertaTokenizer(vocab=[(p, -1.0 if p == "▁a" else 0.0) for p in pieces])
