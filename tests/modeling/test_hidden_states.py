"""`output_hidden_states`: the embedding output and every layer's, as XLM-R gives them, and
None unless asked for."""

from __future__ import annotations

import pytest
import torch
from tiny_models import make_tiny_model
from transformers import AutoModel, XLMRobertaConfig, XLMRobertaModel

from modeling_prixlm.configuration_prixlm import xlmr_architecture
from modeling_prixlm.formatting import encode_triple, encode_triple_prompt
from modeling_prixlm.masking_prixlm import build_attention_mask, xlmr_position_ids


def _fact(tokenizer):
    return torch.tensor([encode_triple(tokenizer, "Japan", "currency", "Japanese yen").input_ids])


def test_hidden_states_are_none_unless_asked(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    with torch.no_grad():
        assert model(_fact(tokenizer)).hidden_states is None


def test_hidden_states_hold_embedding_output_then_every_layer(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    ids = _fact(tokenizer)
    with torch.no_grad():
        out = model(ids, output_hidden_states=True)
        mask = torch.ones_like(ids)
        positions = xlmr_position_ids(mask, ids.shape[1], model.config.pad_token_id)
        embedded = model.roberta.embeddings(ids, positions)
        last = model.roberta(ids, use_cache=False).last_hidden_state
    states = out.hidden_states
    assert len(states) == model.config.num_hidden_layers + 1
    torch.testing.assert_close(states[0], embedded, rtol=0, atol=0)
    torch.testing.assert_close(states[-1], last, rtol=0, atol=0)
    torch.testing.assert_close(model.lm_head(states[-1]), out.logits, rtol=0, atol=0)
    # tuple form: the states follow the logits and the cache
    assert model(ids, output_hidden_states=True, return_dict=False)[-1][0].equal(states[0])


def test_config_output_hidden_states_and_generate(tiny_tokenizer):
    model = make_tiny_model(tiny_tokenizer)
    model.config.output_hidden_states = True
    ids = _fact(tiny_tokenizer)
    with torch.no_grad():
        assert len(model(ids).hidden_states) == model.config.num_hidden_layers + 1
        assert model(ids, output_hidden_states=False).hidden_states is None
    model.config.output_hidden_states = False
    prompt = torch.tensor([encode_triple_prompt(tiny_tokenizer, "Japan", "currency")])
    out = model.generate(
        prompt,
        max_new_tokens=2,
        do_sample=False,
        eos_token_id=None,
        output_hidden_states=True,
        return_dict_in_generate=True,
    )
    first_step = out.hidden_states[0]
    assert len(first_step) == model.config.num_hidden_layers + 1
    assert first_step[0].shape[1] == prompt.shape[1] and out.hidden_states[1][0].shape[1] == 1


def test_output_attentions_is_still_refused(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    with pytest.raises(ValueError, match="output_attentions=True is not supported"):
        model(_fact(tokenizer), output_attentions=True)


@pytest.mark.parametrize("mode", ["prefix_bidirectional", "causal"])
def test_hidden_states_equal_xlm_roberta_with_the_same_mask(tiny_tokenizer, mode):
    """Every state equals transformers' XLMRobertaModel on the same weights, given Prix-LM's
    attention pattern as an explicit additive 4-D mask."""
    model = make_tiny_model(tiny_tokenizer, object_attention=mode)
    config = model.config
    reference_config = XLMRobertaConfig(
        **{**xlmr_architecture(config), "vocab_size": config.padded_vocab_size}
    )
    reference = XLMRobertaModel(reference_config, add_pooling_layer=False).eval()
    weights = {
        name.removeprefix("roberta."): value
        for name, value in model.state_dict().items()
        if name.startswith("roberta.")
    }
    missing, unexpected = reference.load_state_dict(weights, strict=False)
    assert not unexpected and all("position_ids" in name for name in missing)
    ids = _fact(tiny_tokenizer)
    allowed = build_attention_mask(ids, torch.ones_like(ids), 0, config.object_token_id, mode)
    additive = torch.zeros(allowed.shape).masked_fill(~allowed, torch.finfo(torch.float32).min)
    with torch.no_grad():
        ours = model(ids, output_hidden_states=True).hidden_states
        theirs = reference(ids, attention_mask=additive, output_hidden_states=True).hidden_states
    assert len(ours) == len(theirs) == config.num_hidden_layers + 1
    for mine, expected in zip(ours, theirs, strict=True):
        torch.testing.assert_close(mine, expected, rtol=0, atol=1e-5)


def test_auto_model_is_still_the_lm_head_model(tiny_prixlm, tmp_path):
    model, tokenizer = tiny_prixlm
    model.save_pretrained(tmp_path)
    loaded = AutoModel.from_pretrained(tmp_path, trust_remote_code=True)
    assert type(loaded).__name__ == "PrixLMForCausalKB"
    with torch.no_grad():
        out = loaded(_fact(tokenizer), output_hidden_states=True)
    assert out.logits is not None and len(out.hidden_states) == 3
