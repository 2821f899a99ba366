"""prixlm.similarity.embedder: the TextEmbedder interface and Prix-LM's embeddings."""

from __future__ import annotations

import pytest
import torch
from tiny_models import TINY_FACTS, make_tiny_model

from prixlm.similarity.embedder import PrixLMEmbedder, TextEmbedder

TEXTS = sorted({part for fact in TINY_FACTS for part in fact})  # 1 to 7 tokens, mixed scripts


def _by_hand(model, tokenizer, text: str) -> torch.Tensor:
    """`(length, hidden)` last hidden states of one unpadded text, bidirectional attention."""
    ids = torch.tensor([tokenizer(text)["input_ids"]])
    with torch.no_grad():
        hidden = model.roberta(ids, use_cache=False, object_attention="bidirectional")
    return hidden.last_hidden_state[0]


@pytest.mark.parametrize("pooling", ["mean", "first"])
def test_shapes_pooling_and_batch_size_invariance(tiny_prixlm, pooling):
    model, tokenizer = tiny_prixlm
    embedder = PrixLMEmbedder(model, tokenizer, pooling=pooling, batch_size=64)
    assert isinstance(embedder, TextEmbedder)
    together = embedder.embed(TEXTS)
    assert together.shape == (len(TEXTS), model.config.hidden_size) == (len(TEXTS), embedder.dim)
    assert together.dtype == torch.float32
    for batch_size in (1, 3):
        alone = PrixLMEmbedder(model, tokenizer, pooling=pooling, batch_size=batch_size)
        assert (alone.embed(TEXTS) - together).abs().max() < 1e-5
    for row, text in enumerate(TEXTS):
        hidden = _by_hand(model, tokenizer, text)
        expected = hidden.mean(dim=0) if pooling == "mean" else hidden[0]
        torch.testing.assert_close(together[row], expected, rtol=0, atol=1e-5)
    assert embedder.embed([]).shape == (0, model.config.hidden_size)


def test_pooling_modes_differ_and_left_padding_keeps_the_first_token(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    mean = PrixLMEmbedder(model, tokenizer, pooling="mean").embed(TEXTS)
    first = PrixLMEmbedder(model, tokenizer, pooling="first").embed(TEXTS)
    assert (mean - first).abs().max() > 1e-3
    ids = tokenizer("Switzerland")["input_ids"]
    pad = tokenizer.pad_token_id
    left = torch.tensor([[pad, pad] + ids])
    mask = torch.tensor([[0, 0] + [1] * len(ids)])
    with torch.no_grad():
        padded = model.embed(left, mask, pooling="first")
        plain = model.embed(torch.tensor([ids]), pooling="first")
    torch.testing.assert_close(padded, plain, rtol=0, atol=1e-5)


def test_model_in_train_mode_embeds_without_dropout(tiny_tokenizer):
    model = make_tiny_model(tiny_tokenizer, seed=5, dropout=0.5).train()
    embedder = PrixLMEmbedder(model, tiny_tokenizer)
    first, second = embedder.embed(TEXTS), embedder.embed(TEXTS)
    assert model.training
    expected = PrixLMEmbedder(model.eval(), tiny_tokenizer).embed(TEXTS)
    assert torch.equal(first, second) and torch.equal(first, expected)


def test_folder_round_trip(tiny_prixlm, tmp_path):
    model, tokenizer = tiny_prixlm
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    loaded = PrixLMEmbedder.from_pretrained(str(tmp_path), pooling="first", batch_size=4)
    expected = PrixLMEmbedder(model, tokenizer, pooling="first").embed(TEXTS[:5])
    torch.testing.assert_close(loaded.embed(TEXTS[:5]), expected, rtol=0, atol=1e-6)


def test_bad_arguments(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    with pytest.raises(ValueError, match="pooling='cls': expected one of"):
        PrixLMEmbedder(model, tokenizer, pooling="cls")
    with pytest.raises(ValueError, match="pooling='max'"):
        model.embed(torch.tensor([[0, 5, 2]]), pooling="max")
    with pytest.raises(ValueError, match="batch_size=0"):
        PrixLMEmbedder(model, tokenizer, batch_size=0)
    with pytest.raises(ValueError, match="max_length=1000"):
        PrixLMEmbedder(model, tokenizer, max_length=1000)
    embedder = PrixLMEmbedder(model, tokenizer)
    with pytest.raises(TypeError, match=r"texts\[1\] is a int, not a string"):
        embedder.embed(["Japan", 3])
    with pytest.raises(TypeError, match="not one string"):
        embedder.embed("Japan")


def test_decomposed_names_embed_as_composed_ones(tiny_prixlm):
    """The trained tokenizers have no normaliser: a decomposed (NFD) name was other pieces
    (`<unk>` for a lone combining mark) and another vector."""
    import unicodedata

    model, tokenizer = tiny_prixlm
    embedder = PrixLMEmbedder(model, tokenizer)
    names = ["Währung", "Französisch", "日本円"]
    decomposed = [unicodedata.normalize("NFD", name) for name in names]
    assert decomposed[:2] != names[:2]
    torch.testing.assert_close(embedder.embed(decomposed), embedder.embed(names))
