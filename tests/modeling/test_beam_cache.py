"""Decoding over shared prompts: `BeamCache`, the padded LM head and the one-pass normaliser.

Each must give what a plain forward gives (to float32 rounding): rows that continue
left-padded prompts step by step through a `BeamCache` get the logits of a cache-free
forward over their whole sequence; the padded head's log-softmax is the real vocabulary's.
"""

from __future__ import annotations

import pytest
import torch

import modeling_prixlm.decoding_steps as decoding_steps
from modeling_prixlm.beam_cache import BeamCache
from modeling_prixlm.configuration_prixlm import PrixLMConfig
from modeling_prixlm.decoding_steps import (
    DecodingRows,
    _logsumexp,
    extend_rows,
    left_pad,
    log_normaliser,
    run_rows,
)
from modeling_prixlm.modeling_prixlm import PrixLMForCausalKB

PAD, OBJECT = 1, 5
#: On a GPU the same checks run there too (the compiled normaliser, the padded head's kernels).
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def tiny_model(vocab: int = 301, multiple: int = 1, mode: str = "prefix_bidirectional"):
    torch.manual_seed(0)
    config = PrixLMConfig(
        vocab_size=vocab,
        vocab_padding_multiple=multiple,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        pad_token_id=PAD,
        bos_token_id=0,
        eos_token_id=2,
        subject_token_id=3,
        predicate_token_id=4,
        object_token_id=OBJECT,
        end_of_object_token_id=6,
        object_attention=mode,
    )
    return PrixLMForCausalKB(config).eval()


def full_logits(model, sequences: list[list[int]]) -> torch.Tensor:
    """Next-token logits after each sequence, one cache-free forward each."""
    out = []
    for ids in sequences:
        x = torch.tensor([ids], device=model.device)
        out.append(
            model(input_ids=x, attention_mask=torch.ones_like(x), use_cache=False).logits[0, -1]
        )
    return torch.stack(out)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", ["prefix_bidirectional", "causal"])
def test_rows_through_a_beam_cache_get_the_full_forward_logits(mode, device):
    model = tiny_model(mode=mode).to(device)
    prompts = [[0, 3, 17, 2, 2, 4, 9, 2, 2, OBJECT], [0, 3, 40, 41, 42, 2, 2, 4, 9, 2, 2, OBJECT]]
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        rows = DecodingRows(*left_pad(prompts, PAD, torch.device(device)), None)
        logits, rows = run_rows(model, rows, fresh=True, use_cache=True, shared_prompts=True)
        assert isinstance(rows.cache, BeamCache)
        sequences = [list(p) for p in prompts]
        per_query = 1
        for step, new_per_query in enumerate((3, 4, 2, 4)):
            # each new row continues a random row of its own query
            parents = torch.cat(
                [
                    q * per_query
                    + torch.randint(0, per_query, (new_per_query,), generator=generator)
                    for q in range(len(prompts))
                ]
            )
            tokens = torch.randint(7, 300, (parents.numel(),), generator=generator)
            before = rows.cache
            rows = extend_rows(rows, parents, tokens, copy_cache=False)
            assert before.object_length == step  # the parent cache is left as it was
            sequences = [
                sequences[p] + [t] for p, t in zip(parents.tolist(), tokens.tolist(), strict=True)
            ]
            logits, rows = run_rows(model, rows, fresh=False, use_cache=True, shared_prompts=True)
            per_query = new_per_query
            expected = full_logits(model, sequences)[:, :301]  # on a GPU logits are padded
            logits = logits[:, :301]
            assert torch.allclose(logits, expected, atol=1e-5), (logits - expected).abs().max()
            assert rows.cache.get_seq_length() == rows.attention_mask.shape[1]


def test_a_beam_cache_needs_select_before_each_forward():
    model = tiny_model()
    prompts = [[0, 3, 17, 2, 2, 4, 9, 2, 2, OBJECT]]
    with torch.no_grad():
        rows = DecodingRows(*left_pad(prompts, PAD, torch.device("cpu")), None)
        _, rows = run_rows(model, rows, fresh=True, use_cache=True, shared_prompts=True)
        rows = extend_rows(rows, torch.tensor([0, 0]), torch.tensor([8, 9]), copy_cache=False)
        run_rows(model, rows, fresh=False, use_cache=True, shared_prompts=True)
        new = torch.zeros(2, 4, 1, 8)
        with pytest.raises(RuntimeError, match="select"):  # its pending slot is written
            rows.cache.attend(0, new, new, new)
        with pytest.raises(ValueError, match="one token at a time"):
            model(input_ids=torch.tensor([[8, 9], [8, 9]]), cache=rows.cache)


@pytest.mark.parametrize("multiple", [1, 64])
def test_padded_logits_have_the_real_vocabulary_log_softmax(multiple):
    model = tiny_model(vocab=301, multiple=multiple)
    with torch.no_grad():
        model.lm_head.bias.normal_()  # padding rows of a padded decoder get a finite bias
        hidden = torch.randn(5, 1, 32)
        plain = model.lm_head(hidden)[:, 0]
        padded = model.lm_head.decoding_logits(hidden)[:, 0]
    assert plain.shape[-1] == 301 and padded.shape[-1] == 320
    assert torch.isneginf(padded[:, 301:]).all()
    assert torch.allclose(padded[:, :301], plain, atol=1e-6)
    assert torch.allclose(log_normaliser(padded), torch.logsumexp(plain, -1, keepdim=True))
    # a change of the weights is seen (the padded copy is remade)
    with torch.no_grad():
        model.lm_head.decoder.weight.mul_(2)
        again = model.lm_head.decoding_logits(hidden)[:, 0, :301]
    assert torch.allclose(again, model.lm_head(hidden)[:, 0], atol=1e-6)
    assert not torch.allclose(again, plain)
    # a bias written through `.data` (an EMA swap, older loaders) is seen too: it kept a
    # stale -inf-masked copy of the bias (up to 3.0 off at the default multiple)
    model.lm_head.decoder.bias.data.add_(torch.arange(301 if multiple == 1 else 320.0) / 100)
    with torch.no_grad():
        written = model.lm_head.decoding_logits(hidden)[:, 0, :301]
    assert torch.allclose(written, model.lm_head(hidden)[:, 0], atol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_one_pass_logsumexp_equals_torch_logsumexp(device):
    expected = None
    for rows in (7, 9, 300):  # shapes change: compiled once for any number of rows
        logits = torch.randn(rows, 1000, device=device) * 30
        logits[:, 990:] = float("-inf")
        expected = torch.logsumexp(logits, -1, keepdim=True)
        assert torch.allclose(_logsumexp(logits), expected)
        assert torch.allclose(log_normaliser(logits), expected, rtol=1e-6, atol=1e-5)
    if device == "cpu":
        assert torch.equal(log_normaliser(logits), expected)
    else:  # compiled, not fallen back to torch.logsumexp
        assert decoding_steps._compiled_logsumexp not in (None, False)
