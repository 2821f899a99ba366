"""Inputs that gave a wrong result without a word, or a cryptic error, now refused clearly:
labels a position can copy (`labels=input_ids` under prefix-bidirectional attention, any
labels under bidirectional attention), a `generate()` prompt ending `[O] </s>` when the
forward is compiled, static KV caches; and `generate()` without a KV cache keeps the other
arguments (`output_hidden_states`)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from tiny_models import TINY_FACTS, make_tiny_model

from modeling_prixlm.formatting import encode_triple, encode_triple_prompt
from prixlm.training.collator import PrixLMCollator

PROMPT_TEXT = "<s>[S] Germany</s></s>[P] currency</s></s>[O]"


def _fact(tokenizer):
    fact = encode_triple(tokenizer, "Berlin", "capital", "Germany")
    return fact, torch.tensor([fact.input_ids]), torch.tensor([fact.labels])


def test_causal_lm_labels_are_refused_under_prefix_bidirectional_attention(tiny_prixlm):
    """`model(ids, labels=ids)` (DataCollatorForLanguageModeling(mlm=False)) scored prefix
    tokens that every prefix position sees: a loss of copying, without a word."""
    model, tokenizer = tiny_prixlm
    fact, ids, labels = _fact(tokenizer)
    with torch.no_grad():
        with pytest.raises(ValueError, match=r"row 0: a label at position 1, in the prefix"):
            model(ids, labels=ids)
        # the position before [O] sees [O]: a label on [O] leaks too; the object's first
        # token (scored at [O], which sees only the prefix) does not
        on_marker = torch.full_like(ids, -100)
        on_marker[0, fact.object_start] = ids[0, fact.object_start]
        with pytest.raises(ValueError, match=f"label at position {fact.object_start},"):
            model(ids, labels=on_marker)
        first_object = torch.full_like(ids, -100)
        first_object[0, fact.object_start + 1] = ids[0, fact.object_start + 1]
        model(ids, labels=first_object)
        # the formatting's labels pass, with the loss as before: cross-entropy over the
        # object tokens and [EOS]
        loss = model(ids, labels=labels).loss
        logits = model(ids).logits[0, :-1]
        expected = F.cross_entropy(logits, labels[0, 1:], ignore_index=-100)
        unchecked = model(ids, labels=labels, check_inputs=False).loss
    torch.testing.assert_close(loss, expected, rtol=0, atol=1e-5)
    assert torch.equal(loss, unchecked)


def test_unchecked_and_causal_forwards_take_any_labels(tiny_tokenizer):
    """`check_inputs=False` (the training collator's batches) reads nothing on the host;
    causal attention sees no later token, so `labels=input_ids` is its ordinary loss."""
    _, ids, _ = _fact(tiny_tokenizer)
    model = make_tiny_model(tiny_tokenizer)
    causal = make_tiny_model(tiny_tokenizer, object_attention="causal")
    with torch.no_grad():
        assert torch.isfinite(model(ids, labels=ids, check_inputs=False).loss)
        assert torch.isfinite(causal(ids, labels=ids).loss)
        assert torch.isfinite(model(ids, labels=ids, object_attention="causal").loss)


def test_bidirectional_attention_refuses_labels(tiny_tokenizer):
    _, ids, labels = _fact(tiny_tokenizer)
    model = make_tiny_model(tiny_tokenizer, object_attention="bidirectional")
    with torch.no_grad():
        for kwargs in ({}, {"check_inputs": False}):
            with pytest.raises(ValueError, match="labels with object_attention='bidirectional'"):
                model(ids, labels=labels, **kwargs)
        with pytest.raises(ValueError, match="bidirectional"):
            make_tiny_model(tiny_tokenizer)(ids, labels=labels, object_attention="bidirectional")
        # another mode for this call scores as usual
        assert torch.isfinite(model(ids, labels=labels, object_attention="causal").loss)


def test_packed_rows_are_checked_per_fact(tiny_prixlm):
    """Packed rows (`fact_ids`) with checks on: each fact's own prefix; a fact's first
    token is scored at the previous fact's last position, which does not see it."""
    model, tokenizer = tiny_prixlm
    encoded = [encode_triple(tokenizer, *fact) for fact in TINY_FACTS[:4]]
    features = [{"input_ids": f.input_ids, "labels": f.labels} for f in encoded]
    collate = PrixLMCollator(
        tokenizer.pad_token_id, object_logits_only=False, packing=True, pack_length=64
    )
    batch = collate(features)
    assert "check_inputs" not in batch and batch["fact_ids"].max() == 3
    fact_ids = batch["fact_ids"]
    # a fact that follows another in its row
    follows = (
        (fact_ids[:, 1:] != fact_ids[:, :-1]) & (fact_ids[:, :-1] >= 0) & (fact_ids[:, 1:] >= 0)
    )
    row, second = (int(i) for i in follows.nonzero()[0])
    second += 1
    with torch.no_grad():
        loss = model(**batch).loss
        assert torch.isfinite(loss)
        starts = batch["labels"].clone()
        starts[row, second] = batch["input_ids"][row, second]  # a fact's first token
        model(**{**batch, "labels": starts})
        inside = batch["labels"].clone()
        inside[row, second + 1] = batch["input_ids"][row, second + 1]  # in its prefix
        with pytest.raises(ValueError, match=f"row {row}: a label at position {second + 1},"):
            model(**{**batch, "labels": inside})
        model(**{**batch, "labels": inside, "check_inputs": False})  # the collator validated


def test_compiled_forward_generate_still_refuses_an_empty_object_prompt(tiny_tokenizer):
    """The forward's own check is off while compiling; generate() checks the prompt at its
    first step, outside the compiled forward."""
    model = make_tiny_model(tiny_tokenizer)
    model.forward = torch.compile(model.forward, backend="aot_eager")
    with pytest.raises(ValueError, match="empty object"):
        model.generate(**tiny_tokenizer(PROMPT_TEXT, return_tensors="pt"), max_new_tokens=3)
    no_marker = tiny_tokenizer("<s>[S] Germany</s></s>[P] currency</s>", return_tensors="pt")
    with pytest.raises(ValueError, match=r"row 0 has no \[O\] token"):
        model.generate(**no_marker, max_new_tokens=3)


def test_good_prompts_still_generate(tiny_prixlm):
    """Prompts ending at `[O]`, left-padded in a batch, pass the first step's check; later
    steps (`[O]` then a generated `</s>` is no prompt) are not checked."""
    model, tiny_tokenizer = tiny_prixlm
    prompts = [
        encode_triple_prompt(tiny_tokenizer, "Germany", "currency"),
        encode_triple_prompt(tiny_tokenizer, "Japan", "official language"),
    ]
    width = max(map(len, prompts))
    pad = tiny_tokenizer.pad_token_id
    batch = torch.tensor([[pad] * (width - len(p)) + p for p in prompts])
    inputs = {"input_ids": batch, "attention_mask": (batch != pad).long()}
    settings = {"max_new_tokens": 3, "do_sample": False, "eos_token_id": None}
    out = model.generate(**inputs, **settings)
    for row, prompt in enumerate(prompts):
        single = model.generate(torch.tensor([prompt]), **settings)
        assert out[row, width:].tolist() == single[0, len(prompt) :].tolist()


def test_static_cache_is_refused_clearly(tiny_prixlm):
    """It failed with `RuntimeError: The size of tensor a (25) must match the size of
    tensor b (14)` inside attention."""
    model, tokenizer = tiny_prixlm
    prompt = torch.tensor([encode_triple_prompt(tokenizer, "Germany", "currency")])
    with pytest.raises(ValueError, match="static|dynamic cache"):
        model.generate(prompt, max_new_tokens=3, cache_implementation="static")
    from transformers import StaticCache

    cache = StaticCache(config=model.config, max_cache_len=32)
    with torch.no_grad(), pytest.raises(ValueError, match="use the default dynamic cache"):
        model(prompt, cache=cache, use_cache=True)


def test_bidirectional_generate_keeps_hidden_states(tiny_tokenizer):
    """Without a KV cache, generate()'s steps kept only the ids and mask:
    `output_hidden_states` came back as None entries."""
    model = make_tiny_model(tiny_tokenizer, object_attention="bidirectional", seed=1)
    prompt = torch.tensor([encode_triple_prompt(tiny_tokenizer, "Japan", "currency")])
    out = model.generate(
        prompt,
        max_new_tokens=2,
        do_sample=False,
        eos_token_id=None,
        output_hidden_states=True,
        output_logits=True,
        return_dict_in_generate=True,
    )
    assert out.hidden_states[0] is not None
    first = out.hidden_states[0]
    assert len(first) == model.config.num_hidden_layers + 1
    assert first[0].shape[1] == prompt.shape[1]  # whole sequence re-encoded each step
    assert out.hidden_states[1][0].shape[1] == prompt.shape[1] + 1
    with torch.no_grad():
        whole = model(out.sequences[:, :-1], output_hidden_states=True)
    torch.testing.assert_close(out.hidden_states[1][-1], whole.hidden_states[-1])
    torch.testing.assert_close(out.logits[1], whole.logits[:, -1], rtol=0, atol=1e-5)
