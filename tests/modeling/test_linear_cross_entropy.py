"""The training loss without kept logits (`linear_cross_entropy`) equals the cross-entropy of
the logits it replaces: loss and gradients (tied weights included), padded vocabulary, chunks,
and `torch.compile` captures it without a graph break."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from tiny_models import TINY_FACTS, make_tiny_model

from modeling_prixlm.formatting import encode_triple
from modeling_prixlm.linear_cross_entropy import linear_cross_entropy
from prixlm.training.collator import PrixLMCollator


def _reference(hidden, weight, bias, targets, vocab_size):
    logits = F.linear(hidden, weight[:vocab_size], bias[:vocab_size])
    return F.cross_entropy(logits, targets, ignore_index=-100, reduction="sum")


def _grads(loss_fn, *leaves):
    leaves = [leaf.detach().clone().requires_grad_() for leaf in leaves]
    loss = loss_fn(*leaves)
    loss.backward()
    return loss.detach(), [leaf.grad for leaf in leaves]


@pytest.mark.parametrize(
    ("chunk_rows", "compiled"), [(1000, False), (7, False), (1, False), (1000, True), (7, True)]
)
def test_loss_and_gradients_equal_the_cross_entropy_of_the_real_vocabulary(chunk_rows, compiled):
    torch.manual_seed(0)
    rows, width, vocab, padded = 37, 16, 100, 128
    hidden = torch.randn(rows, width)
    weight = torch.randn(padded, width)
    weight[vocab:] = 50.0  # padding rows that would win every softmax if they were not masked
    bias = torch.randn(padded)
    targets = torch.randint(0, vocab, (rows,))
    targets[::5] = -100  # ignored rows (the collator's padding of the labelled rows)
    expected, expected_grads = _grads(
        lambda h, w, b: _reference(h, w, b, targets, vocab), hidden, weight, bias
    )

    def halved(h, w, b):
        return linear_cross_entropy(h, w, b, targets, vocab, chunk_rows) * 0.5

    # compiled: the traced (elementwise one-hot) form of the gradient, run by aot_eager
    loss, grads = _grads(
        torch.compile(halved, backend="aot_eager") if compiled else halved, hidden, weight, bias
    )
    torch._dynamo.reset()
    torch.testing.assert_close(loss, 0.5 * expected, rtol=0, atol=1e-4)
    for name, grad, reference in zip(
        ("hidden", "weight", "bias"), grads, expected_grads, strict=True
    ):
        torch.testing.assert_close(grad, 0.5 * reference, rtol=0, atol=1e-4, msg=name)
    assert (grads[1][vocab:] == 0).all() and (grads[2][vocab:] == 0).all()
    ignored = grads[0][targets == -100]
    assert (ignored == 0).all()


def _batch_and_model(tokenizer):
    model = make_tiny_model(tokenizer, dropout=0.0).train()
    features = [
        {"input_ids": f.input_ids, "labels": f.labels}
        for f in (encode_triple(tokenizer, *fact) for fact in TINY_FACTS)
    ]
    collator = PrixLMCollator.for_model(model.config, packing=True, pack_length=64)
    return model, collator(features)


def test_model_loss_and_gradients_match_the_logits_path_tied_weights_included(tiny_tokenizer):
    model, batch = _batch_and_model(tiny_tokenizer)
    assert model.lm_head.decoder.weight is model.get_input_embeddings().weight
    results = []
    for fused in (False, True):
        model.zero_grad(set_to_none=True)
        output = model(**batch, fused_cross_entropy=fused)
        output.loss.backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters()}
        results.append((output.loss.detach(), grads, output.logits))
    (loss, grads, logits), (fused_loss, fused_grads, fused_logits) = results
    assert logits is not None and fused_logits is None
    torch.testing.assert_close(fused_loss, loss, rtol=0, atol=1e-5)
    assert set(fused_grads) == set(grads)
    for name, grad in grads.items():
        torch.testing.assert_close(fused_grads[name], grad, rtol=0, atol=1e-5, msg=name)
    # the tied matrix gets both the embedding's and the projection's gradient
    embedding = model.get_input_embeddings().weight
    unused = torch.ones(embedding.shape[0], dtype=torch.bool)
    unused[batch["input_ids"].unique()] = False
    unused[batch["label_targets"][batch["label_targets"] >= 0]] = False
    assert fused_grads["roberta.embeddings.word_embeddings.weight"][unused].abs().sum() > 0


def test_fused_loss_is_one_graph_under_torch_compile(tiny_tokenizer):
    model, batch = _batch_and_model(tiny_tokenizer)
    explanation = torch._dynamo.explain(model)(**batch)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    assert explanation.graph_count == 1
    torch._dynamo.reset()


def test_autocast_residual_keeps_hidden_states_in_bf16_and_only_under_autocast(tiny_tokenizer):
    model, batch = _batch_and_model(tiny_tokenizer)
    with torch.no_grad():
        plain = model(**batch).loss
        model.set_autocast_residual(True)
        assert model(**batch).loss == plain  # no autocast: no effect
        with torch.autocast("cpu", dtype=torch.bfloat16):
            hidden = model(**batch, output_hidden_states=True).hidden_states[-1]
            model.set_autocast_residual(False)
            fp32_hidden = model(**batch, output_hidden_states=True).hidden_states[-1]
    assert hidden.dtype == torch.bfloat16 and fp32_hidden.dtype == torch.float32
    torch.testing.assert_close(hidden.float(), fp32_hidden, rtol=0, atol=0.1)
    model.set_autocast_residual(True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        explanation = torch._dynamo.explain(model)(**batch)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    torch._dynamo.reset()
