"""Config overrides as transformers users pass them: `from_pretrained(folder, key=value)`
sets such keys after `PrixLMConfig.__init__`, and `model.config` may be edited in place."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM, GenerationConfig

from modeling_prixlm.formatting import encode_triple
from modeling_prixlm.pipeline_prixlm import PrixLMLinkPrediction


@pytest.fixture
def saved(tiny_prixlm, tmp_path: Path) -> tuple[Path, torch.Tensor]:
    """(folder of the tiny model, the ids of one fact)."""
    model, tokenizer = tiny_prixlm
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    fact = encode_triple(tokenizer, "Japan", "currency", "Japanese yen")
    return tmp_path, torch.tensor([fact.input_ids])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"object_attention": "Causal"}, "object_attention='Causal': expected one of"),
        ({"object_attention": None}, "object_attention=None: expected one of"),
        ({"vocab_padding_multiple": 0}, "vocab_padding_multiple=0: expected an integer >= 1"),
        ({"vocab_padding_multiple": -3}, "vocab_padding_multiple=-3: expected an integer >= 1"),
    ],
)
def test_invalid_overrides_are_refused_at_load(saved, override, message):
    folder, _ = saved
    with pytest.raises(ValueError, match=message):
        AutoConfig.from_pretrained(folder, trust_remote_code=True, **override)
    with pytest.raises(ValueError, match=message):
        AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True, **override)


def test_a_valid_override_is_followed_and_an_edit_checked(saved):
    folder, ids = saved
    model = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True)
    causal = AutoModelForCausalLM.from_pretrained(
        folder, trust_remote_code=True, object_attention="causal"
    )
    assert causal.config.object_attention == "causal"
    with torch.no_grad():
        expected = model(ids, object_attention="causal").logits
        assert torch.allclose(causal(ids).logits, expected, atol=1e-6)
        assert not torch.allclose(model(ids).logits, expected, atol=1e-3)  # the mode matters
    with pytest.raises(ValueError, match="object_attention='causl': expected one of"):
        model.config.object_attention = "causl"
    assert model.config.object_attention == "prefix_bidirectional"
    config = AutoConfig.from_pretrained(
        folder, trust_remote_code=True, language_token_ids=None, vocab_padding_multiple="8"
    )
    assert config.language_token_ids == {} and config.languages == []
    assert config.vocab_padding_multiple == 8


def test_output_attentions_in_the_config_is_refused(saved):
    folder, ids = saved
    model = AutoModelForCausalLM.from_pretrained(
        folder, trust_remote_code=True, output_attentions=True
    )
    with pytest.raises(ValueError, match=r"config.output_attentions=True is not supported"):
        model(ids)
    with torch.no_grad():  # the call's explicit False wins
        assert model(ids, output_attentions=False).logits.shape[:2] == ids.shape


def test_pipeline_refuses_generation_settings_by_name(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    candidates = {"en": ["euro", "yen"]}
    pipe = PrixLMLinkPrediction(model=model, tokenizer=tokenizer, candidates=candidates, device=-1)
    accepted = "its parameters: top_k, num_beams, language, max_rows"
    with pytest.raises(
        ValueError, match=rf"unknown parameters 'do_sample', 'max_new_tokens'.*{accepted}"
    ):
        pipe("Japan | currency", max_new_tokens=5, do_sample=True)
    with pytest.raises(ValueError, match=r"unknown parameters 'generation_config'"):
        PrixLMLinkPrediction(
            model=model,
            tokenizer=tokenizer,
            candidates=candidates,
            device=-1,
            generation_config=GenerationConfig(num_beams=2),
        )
    assert len(pipe("Japan | currency", num_beams=2, top_k=2)) == 2
