"""Mask semantics, XLM-R positions, KV cache and generate() of PrixLMForCausalKB."""

from __future__ import annotations

import pytest
import torch
from tiny_models import make_tiny_model

from modeling_prixlm.formatting import encode_triple, encode_triple_prompt


def _fact(tokenizer, subject="Germany", relation="currency", obj="Swiss franc"):
    fact = encode_triple(tokenizer, subject, relation, obj)
    return torch.tensor([fact.input_ids]), fact.object_start


def _changed(model, ids, position, replacement):
    other = ids.clone()
    other[0, position] = replacement
    with torch.no_grad():
        return model(ids, use_cache=False).logits, model(other, use_cache=False).logits


def test_prefix_bidirectional_prefix_sees_later_prefix_tokens(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    ids, object_start = _fact(tokenizer)
    # Change a relation token (after the subject): earlier subject positions must change.
    relation_position = object_start - 3
    before, after = _changed(model, ids, relation_position, tokenizer.convert_tokens_to_ids("▁"))
    assert (before[0, 2] - after[0, 2]).abs().max() > 1e-4


def test_prefix_bidirectional_object_tokens_never_leak_backwards(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    ids, object_start = _fact(tokenizer)
    for position in range(object_start + 1, ids.shape[1]):
        before, after = _changed(model, ids, position, 5)
        torch.testing.assert_close(before[0, :position], after[0, :position], rtol=0, atol=1e-6)
        if position < ids.shape[1] - 1:
            assert (before[0, position:] - after[0, position:]).abs().max() > 1e-4


def test_causal_mode_no_position_sees_a_later_one(tiny_tokenizer):
    model = make_tiny_model(tiny_tokenizer, object_attention="causal")
    ids, _ = _fact(tiny_tokenizer)
    for position in range(1, ids.shape[1]):
        before, after = _changed(model, ids, position, 5)
        torch.testing.assert_close(before[0, :position], after[0, :position], rtol=0, atol=1e-6)


def test_bidirectional_mode_sees_everything(tiny_tokenizer):
    model = make_tiny_model(tiny_tokenizer, object_attention="bidirectional")
    ids, _ = _fact(tiny_tokenizer)
    before, after = _changed(model, ids, ids.shape[1] - 2, 5)
    assert (before[0, 0] - after[0, 0]).abs().max() > 1e-4


@pytest.mark.parametrize("side", ["left", "right"])
def test_padding_does_not_change_logits(tiny_prixlm, side):
    model, tokenizer = tiny_prixlm
    short, _ = _fact(tokenizer, "Japan", "currency", "euro")
    long, _ = _fact(tokenizer, "Switzerland", "official language", "Japanese yen")
    pad = torch.full((1, long.shape[1] - short.shape[1]), tokenizer.pad_token_id)
    padded = torch.cat([pad, short], 1) if side == "left" else torch.cat([short, pad], 1)
    batch = torch.cat([padded, long])
    mask = (batch != tokenizer.pad_token_id).long()
    with torch.no_grad():
        batched = model(batch, attention_mask=mask, use_cache=False).logits
        alone = model(short, use_cache=False).logits
    rows = slice(pad.shape[1], None) if side == "left" else slice(0, short.shape[1])
    torch.testing.assert_close(batched[0, rows], alone[0], rtol=0, atol=1e-5)


def test_cached_decoding_equals_full_forward_left_padded(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    facts = [
        encode_triple(tokenizer, "Japan", "currency", "Japanese yen"),
        encode_triple(tokenizer, "Switzerland", "official language", "German"),
    ]
    prompts = [f.input_ids[: f.object_start + 1] for f in facts]
    objects = [f.input_ids[f.object_start + 1 :] for f in facts]
    steps = min(len(o) for o in objects)
    width = max(len(p) for p in prompts)
    pad = tokenizer.pad_token_id
    prompt_ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts])
    continuation = torch.tensor([o[:steps] for o in objects])
    full_ids = torch.cat([prompt_ids, continuation], 1)
    full_mask = (full_ids != pad).long()
    with torch.no_grad():
        full = model(full_ids, attention_mask=full_mask, use_cache=False).logits
        out = model(prompt_ids, attention_mask=full_mask[:, :width], use_cache=True)
        cache, stepwise = out.cache, [out.logits[:, -1]]
        for t in range(steps - 1):
            out = model(
                continuation[:, t : t + 1],
                attention_mask=full_mask[:, : width + t + 1],
                cache=cache,
            )
            cache = out.cache
            stepwise.append(out.logits[:, -1])
    difference = (torch.stack(stepwise, 1) - full[:, width - 1 : width - 1 + steps]).abs().max()
    assert difference < 1e-4


@pytest.mark.parametrize("mode", ["prefix_bidirectional", "causal", "bidirectional"])
def test_greedy_generate_equals_hand_written_argmax_loop(tiny_tokenizer, mode):
    """In every mode; `bidirectional` has no KV cache, and generate() fed it the last token
    alone from the second step on (its empty cache passed the model's check)."""
    tokenizer = tiny_tokenizer
    model = make_tiny_model(tokenizer, object_attention=mode).eval()
    # as a release saved in another mode and loaded with object_attention="bidirectional"
    model.generation_config.use_cache = True
    prompt = torch.tensor([encode_triple_prompt(tokenizer, "Germany", "currency")])
    generated = model.generate(prompt, max_new_tokens=6, do_sample=False, eos_token_id=None)
    ids = prompt
    with torch.no_grad():
        for _ in range(6):
            next_id = model(ids, use_cache=False).logits[:, -1].argmax(-1, keepdim=True)
            ids = torch.cat([ids, next_id], 1)
    assert generated.tolist() == ids.tolist()


def test_left_padded_batched_generate_equals_single_generate(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    prompts = [
        encode_triple_prompt(tokenizer, "Japan", "currency"),
        encode_triple_prompt(tokenizer, "Switzerland", "official language"),
    ]
    width = max(map(len, prompts))
    pad = tokenizer.pad_token_id
    batch = torch.tensor([[pad] * (width - len(p)) + p for p in prompts])
    mask = (batch != pad).long()
    batched = model.generate(
        batch, attention_mask=mask, max_new_tokens=5, do_sample=False, eos_token_id=None
    )
    for row, prompt in enumerate(prompts):
        single = model.generate(
            torch.tensor([prompt]), max_new_tokens=5, do_sample=False, eos_token_id=None
        )
        assert batched[row, width:].tolist() == single[0, len(prompt) :].tolist()


def test_loss_is_cross_entropy_over_object_and_eos_only(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    fact = encode_triple(tokenizer, "France", "official language", "French")
    ids, labels = torch.tensor([fact.input_ids]), torch.tensor([fact.labels])
    with torch.no_grad():
        output = model(ids, labels=labels)
        logits = model(ids, use_cache=False).logits[0]
    object_ids = tokenizer("French", add_special_tokens=False)["input_ids"]
    targets = object_ids + [model.config.end_of_object_token_id]
    # Target k sits at input position object_start + 1 + k and is predicted one position earlier.
    log_probs = torch.log_softmax(logits, -1)
    expected = -torch.stack(
        [log_probs[fact.object_start + k, token] for k, token in enumerate(targets)]
    ).mean()
    torch.testing.assert_close(output.loss, expected, rtol=0, atol=1e-5)
    assert sum(label != -100 for label in fact.labels) == len(targets)


def test_object_only_logits_give_the_same_loss_and_gradients(tiny_tokenizer):
    facts = [
        encode_triple(tiny_tokenizer, "France", "official language", "French"),
        encode_triple(tiny_tokenizer, "Japan", "currency", "Japanese yen"),
    ]
    width = max(len(f) for f in facts)
    pad = tiny_tokenizer.pad_token_id
    ids = torch.tensor([f.input_ids + [pad] * (width - len(f)) for f in facts])
    labels = torch.tensor([f.labels + [-100] * (width - len(f)) for f in facts])
    results = []
    for object_only in (False, True):
        model = make_tiny_model(tiny_tokenizer)  # eval mode: no dropout, same seed
        loss = model(ids, labels=labels, object_logits_only=object_only).loss
        loss.backward()
        results.append(
            (
                loss.detach(),
                {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None},
            )
        )
    (full_loss, full_grads), (object_loss, object_grads) = results
    torch.testing.assert_close(full_loss, object_loss, rtol=0, atol=1e-5)
    assert full_grads.keys() == object_grads.keys()
    for name in full_grads:
        torch.testing.assert_close(
            full_grads[name], object_grads[name], rtol=0, atol=1e-5, msg=name
        )


def test_fact_without_object_marker_is_rejected(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    ids = torch.tensor([tokenizer("Germany currency euro")["input_ids"]])
    with pytest.raises(ValueError, match=r"row 0 has no \[O\] token"):
        model(ids)


def test_sequence_longer_than_positions_is_rejected(tiny_prixlm):
    model, _ = tiny_prixlm
    too_long = torch.full((1, model.config.max_position_embeddings), 5)
    too_long[0, 1] = model.config.object_token_id
    with pytest.raises(ValueError, match="max_position_embeddings"):
        model(too_long)


def test_config_without_fact_token_ids_fails_clearly_at_the_first_forward():
    """Issue 9 #6: construction works without ids (from_pretrained builds configs in steps);
    the first prefix_bidirectional forward names the missing id and how to set it."""
    from modeling_prixlm.configuration_prixlm import PrixLMConfig
    from modeling_prixlm.modeling_prixlm import PrixLMForCausalKB

    config = PrixLMConfig(
        vocab_size=20,
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
        max_position_embeddings=16,
    )
    model = PrixLMForCausalKB(config).eval()
    ids = torch.tensor([[0, 5, 6, 2]])
    with pytest.raises(ValueError, match=r"object_token_id is not set.*add_prixlm_tokens"):
        model(ids)
    # the modes that need no [O] still run, and so does embedding (bidirectional)
    assert model(ids, object_attention="causal").logits.shape == (1, 4, 20)
    assert model.embed(ids).shape == (1, 8)


def test_packed_rows_need_their_positions(tiny_prixlm):
    """`fact_ids` without `position_ids` counted positions over the whole row: another loss,
    no error."""
    model, tokenizer = tiny_prixlm
    ids, _ = _fact(tokenizer)
    fact_ids = torch.zeros_like(ids)
    with pytest.raises(ValueError, match="fact_ids .* needs position_ids restarting at each fact"):
        model(ids, fact_ids=fact_ids)


def test_return_dict_false_is_a_tuple_and_unkept_outputs_are_refused(tiny_prixlm):
    """These arguments were swallowed: `loss, logits = model(..., return_dict=False)` gave
    the strings "loss" and "logits". Attention weights are not kept (fused attention);
    hidden states are (tests/modeling/test_hidden_states.py)."""
    model, tokenizer = tiny_prixlm
    fact = encode_triple(tokenizer, "Germany", "currency", "euro")
    ids, labels = torch.tensor([fact.input_ids]), torch.tensor([fact.labels])
    with torch.no_grad():
        whole = model(ids, labels=labels)
        loss, logits, *_ = model(ids, labels=labels, return_dict=False)
    assert torch.equal(loss, whole.loss) and torch.equal(logits, whole.logits)
    with pytest.raises(ValueError, match="output_attentions=True is not supported"):
        model(ids, output_attentions=True)
