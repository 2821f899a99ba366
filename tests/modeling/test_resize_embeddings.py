"""`resize_token_embeddings` of a model with padding rows: new tokens get the rows that
transformers gives new tokens of a model without padding rows, not the stale padding rows."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch
from fresh_process import run_fresh
from safetensors.torch import load_file, save_file
from tiny_models import make_tiny_model

from modeling_prixlm import PrixLMConfig, PrixLMForCausalKB

ADDED = 5


def _trained_looking(tokenizer) -> PrixLMForCausalKB:
    """A padded model whose real rows differ from its padding rows, as after training: real
    rows shifted away from 0 with non-zero biases, padding rows (never trained) near 0."""
    model = make_tiny_model(tokenizer)
    vocab = model.config.vocab_size
    assert model.config.padded_vocab_size >= vocab + ADDED
    with torch.no_grad():
        weight = model.get_input_embeddings().weight
        weight[:vocab] += 0.5
        weight[vocab:] *= 0.01
        model.lm_head.bias[:vocab] = torch.linspace(1.0, 2.0, vocab)
    return model


def _unpadded_twin(model: PrixLMForCausalKB) -> PrixLMForCausalKB:
    """The same real rows and weights, without padding rows."""
    vocab = model.config.vocab_size
    config = PrixLMConfig(**{**model.config.to_dict(), "vocab_padding_multiple": 1})
    twin = PrixLMForCausalKB(config).eval()
    state = model.state_dict()
    for name, value in state.items():
        if value.shape[:1] == (model.config.padded_vocab_size,):
            state[name] = value[:vocab]
    twin.load_state_dict(state)
    return twin


@pytest.mark.parametrize("mean_resizing", [True, False])
def test_new_rows_are_those_of_a_model_without_padding_rows(tiny_tokenizer, mean_resizing):
    model = _trained_looking(tiny_tokenizer)
    twin = _unpadded_twin(model)
    vocab = model.config.vocab_size
    real = model.get_input_embeddings().weight[:vocab].detach().clone()
    new_vocab = vocab + ADDED
    torch.manual_seed(1)
    model.resize_token_embeddings(new_vocab, mean_resizing=mean_resizing)
    torch.manual_seed(1)
    twin.resize_token_embeddings(new_vocab, pad_to_multiple_of=64, mean_resizing=mean_resizing)

    weight = model.get_input_embeddings().weight.detach()
    assert weight.shape[0] == model.config.padded_vocab_size == -(-new_vocab // 64) * 64
    assert model.config.vocab_size == new_vocab
    torch.testing.assert_close(weight[:new_vocab], twin.get_input_embeddings().weight[:new_vocab])
    torch.testing.assert_close(weight[:vocab], real, rtol=0, atol=0)
    added = weight[vocab:new_vocab]
    bias = model.lm_head.bias.detach()[vocab:new_vocab]
    if mean_resizing:  # the real rows' mean (transformers: a covariance of 1e-9 around it)
        torch.testing.assert_close(added, real.mean(0).expand_as(added), rtol=0, atol=1e-3)
        torch.testing.assert_close(bias, torch.full_like(bias, 1.5))
    else:  # _init_weights: N(0, initializer_range), bias 0
        assert added.abs().mean() < 0.1 and 0.005 < added.std() < 0.05
        assert torch.equal(bias, torch.zeros_like(bias))
    torch.testing.assert_close(model.lm_head.bias[:new_vocab], twin.lm_head.bias[:new_vocab])
    # ties kept
    assert model.lm_head.decoder.weight is model.get_input_embeddings().weight
    assert model.lm_head.decoder.bias is model.lm_head.bias


def test_padding_columns_stay_masked_and_logits_have_the_new_width(tiny_tokenizer):
    model = _trained_looking(tiny_tokenizer)
    new_vocab = model.config.vocab_size + ADDED
    model.resize_token_embeddings(new_vocab)
    hidden = torch.randn(3, model.config.hidden_size)
    with torch.no_grad():
        padded = model.lm_head.padded_logits(hidden)
        decoding = model.lm_head.decoding_logits(hidden)
        ids = torch.tensor([[0, model.config.subject_token_id, new_vocab - 1, 2, 2]])
        ids = torch.cat([ids, torch.tensor([[model.config.object_token_id]])], 1)
        logits = model(ids).logits
    assert torch.isinf(padded[:, new_vocab:]).all() and torch.isfinite(padded[:, :new_vocab]).all()
    assert torch.isinf(decoding[:, new_vocab:]).all()
    torch.testing.assert_close(decoding[:, :new_vocab], padded[:, :new_vocab])
    assert logits.shape[-1] == new_vocab


def test_shrinking_and_padding_only_keep_real_rows(tiny_tokenizer):
    model = _trained_looking(tiny_tokenizer)
    vocab = model.config.vocab_size
    real = model.get_input_embeddings().weight[:vocab].detach().clone()
    model.resize_token_embeddings()  # nothing new: unchanged
    assert torch.equal(model.get_input_embeddings().weight[:vocab], real)
    model.resize_token_embeddings(vocab - 2)
    assert model.config.vocab_size == vocab - 2
    assert torch.equal(model.get_input_embeddings().weight[: vocab - 2], real[:-2])


CHILD = textwrap.dedent(
    """
    import sys
    for name in ("modeling_prixlm", "prixlm", "dataset_builders"):
        sys.modules[name] = None
    import torch
    from safetensors.torch import load_file, save_file
    from transformers import AutoModelForCausalLM
    folder = sys.argv[1]
    model = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True).eval()
    ids = load_file(folder + "/inputs.safetensors")["input_ids"]
    with torch.no_grad():
        logits = model(ids).logits
    save_file({
        "logits": logits.contiguous(),
        "embeddings": model.get_input_embeddings().weight.detach().contiguous(),
        "bias": model.lm_head.bias.detach().contiguous(),
        "tied": torch.tensor([model.lm_head.decoder.weight is model.get_input_embeddings().weight,
                              model.lm_head.decoder.bias is model.lm_head.bias]),
    }, folder + "/child.safetensors")
    """
)


def test_resized_model_saves_and_loads_equal_in_a_fresh_process(tiny_tokenizer, tmp_path: Path):
    model = _trained_looking(tiny_tokenizer)
    new_vocab = model.config.vocab_size + ADDED
    model.resize_token_embeddings(new_vocab)
    folder = tmp_path / "resized"
    model.save_pretrained(folder)
    ids = torch.tensor([[0, model.config.subject_token_id, new_vocab - 1, 2, 2]])
    ids = torch.cat([ids, torch.tensor([[model.config.object_token_id, new_vocab - 2]])], 1)
    save_file({"input_ids": ids}, str(folder / "inputs.safetensors"))
    with torch.no_grad():
        expected = model(ids).logits
    run_fresh(CHILD, folder, cwd=tmp_path)
    child = load_file(str(folder / "child.safetensors"))
    assert child["tied"].all()
    torch.testing.assert_close(child["logits"], expected, rtol=0, atol=1e-5)
    assert torch.equal(child["embeddings"], model.get_input_embeddings().weight.detach())
    assert torch.equal(child["bias"], model.lm_head.bias.detach())
