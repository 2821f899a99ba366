"""A release's config.json keeps the KV cache on: the Trainer sets `use_cache=False` (its
TrainingArguments') on the model it trains, and the release's forward then returned none."""

from __future__ import annotations

import json

import torch
from transformers import AutoModelForCausalLM

from modeling_prixlm.formatting import encode_triple_prompt


def test_release_forward_returns_a_cache_that_continues_it(released):
    _, tokenizer, folder = released
    assert json.loads((folder / "config.json").read_text())["use_cache"] is True
    model = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True)
    prompt = torch.tensor([encode_triple_prompt(tokenizer, "Germany", "currency")])
    token = tokenizer("euro", add_special_tokens=False)["input_ids"][:1]
    with torch.no_grad():
        first = model(prompt)  # no use_cache: the config's
        assert first.cache is not None and first.cache.get_seq_length() == prompt.shape[1]
        step = model(torch.tensor([token]), cache=first.cache).logits[0, -1]
        full = model(torch.cat([prompt, torch.tensor([token])], 1)).logits[0, -1]
    assert torch.allclose(step, full, atol=1e-5)
