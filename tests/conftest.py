"""Shared fixtures: a tiny tokenizer trained on real-looking facts and tiny Prix-LMs."""

from __future__ import annotations

import pytest
import torch

from modeling_prixlm.formatting import add_prixlm_tokens
from prixlm.model_factory import build_prixlm
from prixlm.tokenizer_training import train_tokenizer

# One thread: stable timings when other jobs share the 2 cores (CI, benchmarks).
torch.set_num_threads(1)

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


@pytest.fixture(scope="session")
def tiny_tokenizer():
    tokenizer = train_tokenizer(tiny_texts(), vocab_size=200)
    add_prixlm_tokens(tokenizer, TINY_LANGUAGES)
    return tokenizer


def make_tiny_model(tokenizer, object_attention: str = "prefix_bidirectional", seed: int = 0):
    return build_prixlm(
        tokenizer,
        seed=seed,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        object_attention=object_attention,
    ).eval()


@pytest.fixture(scope="session")
def tiny_prixlm(tiny_tokenizer):
    """(model, tokenizer): a random 2-layer Prix-LM in eval mode."""
    return make_tiny_model(tiny_tokenizer), tiny_tokenizer
