"""The fast training path is exact: padded vocabulary, static-shape labels, packed rows,
and a training forward that `torch.compile` captures whole."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch
from fresh_process import run_fresh
from safetensors.torch import load_file, save_file
from tiny_models import TINY_FACTS, make_tiny_model

from modeling_prixlm.configuration_prixlm import PrixLMConfig
from modeling_prixlm.formatting import encode_link, encode_triple
from modeling_prixlm.modeling_prixlm import PrixLMForCausalKB
from prixlm.link_prediction.candidate_scoring import score_candidates
from prixlm.training.collator import PrixLMCollator


def _features(tokenizer, facts=TINY_FACTS):
    encoded = [encode_triple(tokenizer, *fact) for fact in facts]
    encoded.append(encode_link(tokenizer, "Deutschland", "de", "en", "Germany"))
    return [{"input_ids": f.input_ids, "labels": f.labels} for f in encoded]


def _collator(model, **kwargs) -> PrixLMCollator:
    return PrixLMCollator(
        model.config.pad_token_id,
        object_token_id=model.config.object_token_id,
        position_budget=model.config.max_position_embeddings - model.config.pad_token_id - 1,
        **kwargs,
    )


def _unpadded_twin(model: PrixLMForCausalKB) -> PrixLMForCausalKB:
    """The same weights in a model whose vocabulary has no padding rows (as before)."""
    config = PrixLMConfig(**{**model.config.to_dict(), "vocab_padding_multiple": 1})
    twin = PrixLMForCausalKB(config).eval()
    vocab = config.vocab_size
    state = {
        k: v[:vocab] if v.shape[:1] == (model.config.padded_vocab_size,) else v
        for k, v in model.state_dict().items()
    }
    twin.load_state_dict(state)
    return twin


def _loss_and_grads(model, batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    model.zero_grad(set_to_none=True)
    loss = model(**batch).loss
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}


def test_padded_vocabulary_changes_no_probability(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    vocab = len(tokenizer)
    assert model.config.vocab_size == vocab and vocab % 64
    assert model.get_input_embeddings().weight.shape[0] == model.config.padded_vocab_size
    assert model.config.padded_vocab_size % 64 == 0 and model.config.padded_vocab_size > vocab
    assert model.lm_head.decoder.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    twin = _unpadded_twin(model)
    batch = PrixLMCollator(tokenizer.pad_token_id, object_logits_only=False)(_features(tokenizer))
    with torch.no_grad():
        ours, before = model(**batch), twin(**batch)
    assert ours.logits.shape[-1] == vocab
    torch.testing.assert_close(ours.logits, before.logits, rtol=0, atol=1e-5)
    torch.testing.assert_close(ours.loss, before.loss, rtol=0, atol=1e-6)
    padded = model.lm_head.padded_logits(torch.randn(3, model.config.hidden_size))
    assert torch.isinf(padded[:, vocab:]).all() and torch.isfinite(padded[:, :vocab]).all()


def test_resize_keeps_padding_and_the_real_vocabulary(tiny_tokenizer):
    model = make_tiny_model(tiny_tokenizer)
    model.resize_token_embeddings(len(tiny_tokenizer) + 70)
    assert model.config.vocab_size == len(tiny_tokenizer) + 70
    rows = model.config.padded_vocab_size
    assert rows % 64 == 0 and model.get_input_embeddings().weight.shape[0] == rows
    assert model.lm_head.bias.shape == (rows,) and model.lm_head.decoder.bias is model.lm_head.bias
    fact = encode_triple(tiny_tokenizer, "Japan", "currency", "euro")
    logits = model(torch.tensor([fact.input_ids]), use_cache=False).logits
    assert logits.shape[-1] == len(tiny_tokenizer) + 70


# Runs with the project's packages made unimportable: only the saved folder's code may serve.
CHILD = textwrap.dedent(
    """
    import sys
    for name in ("modeling_prixlm", "prixlm"):
        sys.modules[name] = None
    import torch
    from safetensors.torch import load_file, save_file
    from transformers import AutoModelForCausalLM
    folder = sys.argv[1]
    model = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True).eval()
    inputs = load_file(folder + "/inputs.safetensors")
    with torch.no_grad():
        logits = model(inputs["input_ids"], use_cache=False).logits.contiguous()
    save_file({"logits": logits}, folder + "/child.safetensors")
    """
)


def test_release_trained_with_padded_vocabulary_loads_and_ranks_as_before(
    tiny_tokenizer, tmp_path: Path
):
    model = make_tiny_model(tiny_tokenizer, dropout=0.0).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01)
    batch = _collator(model)(_features(tiny_tokenizer))
    for _ in range(3):
        optimizer.zero_grad()
        model(**batch).loss.backward()
        optimizer.step()
    model.eval()
    twin = _unpadded_twin(model)
    queries = [("Germany", "currency"), ("Japan", "official language"), ("France", "currency")]
    candidates = sorted({fact[2] for fact in TINY_FACTS})
    ours = score_candidates(model, tiny_tokenizer, queries, candidates)
    before = score_candidates(twin, tiny_tokenizer, queries, candidates)
    torch.testing.assert_close(ours, before, rtol=0, atol=1e-5)
    assert ours.argsort(dim=1, stable=True).tolist() == before.argsort(dim=1, stable=True).tolist()

    folder = tmp_path / "release"
    model.save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    input_ids = torch.tensor([encode_triple(tiny_tokenizer, "Japan", "currency", "euro").input_ids])
    save_file({"input_ids": input_ids}, str(folder / "inputs.safetensors"))
    run_fresh(CHILD, folder, cwd=tmp_path)
    with torch.no_grad():
        expected = twin(input_ids, use_cache=False).logits
    child = load_file(str(folder / "child.safetensors"))["logits"]
    assert child.shape[-1] == len(tiny_tokenizer)
    torch.testing.assert_close(child, expected, rtol=0, atol=1e-5)


def test_static_label_positions_give_the_boolean_mask_loss_and_gradients(tiny_tokenizer):
    model = make_tiny_model(tiny_tokenizer, dropout=0.0).train()
    features = _features(tiny_tokenizer)
    static = _collator(model)(features)
    assert static["label_positions"].shape[0] % 64 == 0 and static["check_inputs"] is False
    dynamic = {k: v for k, v in static.items() if not k.startswith("label_")}
    dynamic.pop("check_inputs")
    loss, grads = _loss_and_grads(model, static)
    expected_loss, expected_grads = _loss_and_grads(model, dynamic)
    torch.testing.assert_close(loss, expected_loss, rtol=0, atol=1e-6)
    for name, grad in expected_grads.items():
        torch.testing.assert_close(grads[name], grad, rtol=0, atol=1e-6, msg=name)


@pytest.mark.parametrize("mode", ["prefix_bidirectional", "causal"])
def test_packed_rows_give_the_unpacked_loss_and_gradients(tiny_tokenizer, mode):
    model = make_tiny_model(tiny_tokenizer, object_attention=mode, dropout=0.0).train()
    features = _features(tiny_tokenizer)
    unpacked = _collator(model)(features)
    packed = _collator(model, packing=True, pack_length=64)(features)
    assert packed["input_ids"].shape[0] <= len(features) // 2 + 1  # several facts per row
    loss, grads = _loss_and_grads(model, unpacked)
    packed_loss, packed_grads = _loss_and_grads(model, packed)
    torch.testing.assert_close(packed_loss, loss, rtol=0, atol=1e-4)
    for name, grad in grads.items():
        torch.testing.assert_close(packed_grads[name], grad, rtol=0, atol=1e-4, msg=name)


def test_packed_fact_is_blind_to_its_row_neighbours(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    features = _features(tokenizer)[:3]
    changed = [dict(f) for f in features]
    changed[0] = {
        "input_ids": encode_triple(tokenizer, "France", "monnaie", "Japanese yen").input_ids,
        "labels": encode_triple(tokenizer, "France", "monnaie", "Japanese yen").labels,
    }
    collate = _collator(model, packing=True, pack_length=128, object_logits_only=False)
    batch, other = collate(features), collate(changed)
    assert batch["input_ids"].shape[0] == 1  # all three in one row
    for index, feature in enumerate(features):
        where = batch["fact_ids"][0] == index
        assert batch["input_ids"][0, where].tolist() == feature["input_ids"]
        # XLM-R positions restart at padding_idx + 1 for each fact
        assert batch["position_ids"][0, where].tolist() == list(
            range(2, len(feature["input_ids"]) + 2)
        )
    with torch.no_grad():
        logits = model(**batch).logits[0]
        other_logits = model(**other).logits[0]
        alone = model(torch.tensor([features[1]["input_ids"]]), use_cache=False).logits[0]
    torch.testing.assert_close(logits[batch["fact_ids"][0] == 1], alone, rtol=0, atol=1e-5)
    torch.testing.assert_close(other_logits[other["fact_ids"][0] == 1], alone, rtol=0, atol=1e-5)


@pytest.mark.parametrize("packing", [False, True])
def test_training_forward_has_no_graph_break(tiny_tokenizer, packing):
    model = make_tiny_model(tiny_tokenizer).train()
    batch = _collator(model, packing=packing)(_features(tiny_tokenizer))
    explanation = torch._dynamo.explain(model)(**batch)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    assert explanation.graph_count == 1


def test_unchecked_inputs_still_fail_clearly_in_eager_mode(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    ids = torch.tensor([[0, 5, 6, 2]])  # no [O]
    with pytest.raises(ValueError, match=r"row 0 has no \[O\]"):
        model(ids, use_cache=False)
    with pytest.raises(ValueError, match=r"feature 0 has no \[O\]"):
        _collator(model)([{"input_ids": ids[0].tolist(), "labels": [-100, 5, 6, 2]}])
    with pytest.raises(ValueError, match="feature 0: 999 tokens, more than"):
        _collator(model)([{"input_ids": [0] * 999, "labels": [-100] * 999}])
