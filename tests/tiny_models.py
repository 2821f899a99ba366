"""Tiny tokenizers and models built from a handful of real-looking facts (tests and benches)."""

from __future__ import annotations

import json
from pathlib import Path

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


def official_checkpoint(tokenizer: XLMRobertaTokenizer, folder: Path) -> Path:
    """A tiny stand-in of the official release as published at `folder`: the
    `XLMRobertaForCausalLM` layout, `pytorch_model.bin` (no tied decoder weight), its config
    without `object_attention`, the tokenizer and its added tokens."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaForCausalLM

    folder.mkdir()
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1,
        num_attention_heads=2, intermediate_size=32, max_position_embeddings=64,
    )  # fmt: skip
    official = XLMRobertaForCausalLM(config)
    (folder / "config.json").write_text(json.dumps(official.config.to_dict()))
    state = {k: v for k, v in official.state_dict().items() if "lm_head.decoder" not in k}
    torch.save(state, folder / "pytorch_model.bin")
    (folder / "added_tokens.json").write_text(json.dumps(tokenizer.get_added_vocab()))
    tokenizer.save_pretrained(folder)
    return folder
