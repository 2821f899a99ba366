"""`bench/bench_train_step.py`'s baseline: an `XLMRobertaForCausalLM` with Prix-LM's weights,
also when Prix-LM's embedding and LM head are padded beyond the tokenizer's vocabulary."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]


def test_the_xlmr_twin_loads_a_padded_vocabulary_and_gives_the_same_logits() -> None:
    sys.path.insert(0, str(REPO / "tests"))
    sys.path.insert(0, str(REPO / "bench"))
    from bench_train_step import xlmr_twin
    from tiny_models import TINY_LANGUAGES, make_tiny_model, tiny_texts

    from modeling_prixlm.formatting import add_prixlm_tokens
    from prixlm.training.tokenizer_training import train_tokenizer

    tokenizer = train_tokenizer(tiny_texts(), vocab_size=200)
    add_prixlm_tokens(tokenizer, TINY_LANGUAGES)
    model = make_tiny_model(tokenizer, object_attention="causal")
    vocab = model.config.vocab_size
    embedding = model.get_input_embeddings().weight
    assert embedding.shape[0] > vocab  # padded rows, which the twin must leave out
    twin = xlmr_twin(model).eval()
    assert twin.get_input_embeddings().weight.shape[0] == vocab
    ids = torch.tensor([[tokenizer.bos_token_id, 5, 6, 7, tokenizer.eos_token_id]])
    with torch.no_grad():
        ours = model(ids, use_cache=False).logits
        theirs = twin(ids, use_cache=False).logits
    assert ours.shape == theirs.shape == (1, 5, vocab)
    assert torch.allclose(ours, theirs, atol=1e-5)
