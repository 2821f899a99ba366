"""The training loss: cross-entropy of a vocabulary projection without keeping its logits.

`linear_cross_entropy(hidden, weight, bias, targets, vocab_size)` is the summed
`cross_entropy(hidden @ weight.T + bias, targets)` over the real vocabulary, with the
gradients of `hidden`, `weight` and `bias` computed in the forward, a chunk of rows at a
time: each chunk's logits are made once, read for their log-sum-exp and once more for the
softmax gradient, then freed. Nothing of size `(rows, vocab)` is saved for the backward
(which only scales the three gradients), no fp32 copy of the logits is kept, and the padded
vocabulary columns are masked through the bias (-inf), not by a pass over the logits.

Under `torch.autocast` the three matrix products run in the autocast dtype (as `F.linear`
would); the log-sum-exp and the softmax are computed in fp32. `torch.compile` traces it
whole (no graph break); with one chunk (rows <= `chunk_rows`) the number of rows may be a
dynamic shape. `logits_loss` is the loss from logits that are returned too, and
`per_item_loss` divides a summed loss by the number of labelled positions.

Hub custom code: imports only torch and this folder.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .formatting import IGNORE_INDEX

#: Rows per chunk by default: a training batch of 1,024 facts (~4.5k labelled positions)
#: is one chunk; a larger one is cut to bound the memory of the (rows, vocab) logits.
DEFAULT_CHUNK_ROWS = 8192


def masked_bias(bias: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """`bias` with -inf from column `vocab_size` on (padding columns get no probability)."""
    if bias.shape[0] <= vocab_size:
        return bias
    padding = torch.arange(bias.shape[0], device=bias.device) >= vocab_size
    return bias.masked_fill(padding, float("-inf"))


class LinearCrossEntropy(torch.autograd.Function):
    """Summed cross-entropy of `hidden @ weight.T + bias` (see the module docstring)."""

    @staticmethod
    def forward(
        ctx,
        hidden: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor,
        targets: torch.Tensor,
        vocab_size: int,
        chunk_rows: int,
    ) -> torch.Tensor:
        rows = hidden.shape[0]
        full_bias = masked_bias(bias, vocab_size)
        valid = targets != IGNORE_INDEX
        row_weight = valid.to(torch.float32)[:, None]  # 0 for ignored rows: no loss, no gradient
        safe_targets = torch.where(valid, targets, 0)[:, None]
        spans = [(0, rows)] if rows <= chunk_rows else _spans(rows, chunk_rows)
        loss = hidden.new_zeros((), dtype=torch.float32)
        grad_hidden, grad_weight, grad_bias = [], None, None
        for start, end in spans:
            x, t, w = hidden[start:end], safe_targets[start:end], row_weight[start:end]
            logits = torch.addmm(full_bias, x, weight.t())  # the autocast dtype, if any
            scores = logits.float()
            lse = torch.logsumexp(scores, dim=1, keepdim=True)
            loss = loss + ((lse - scores.gather(1, t)) * w).sum()
            grad = _softmax_minus_one_hot(scores, lse, t, w).to(logits.dtype)
            grad_hidden.append(torch.mm(grad, weight))
            chunk_weight = torch.mm(grad.t(), x)
            chunk_bias = grad.sum(dim=0, dtype=torch.float32)
            if grad_weight is None:
                grad_weight, grad_bias = chunk_weight, chunk_bias
            else:  # several chunks: accumulate in fp32
                grad_weight = grad_weight.float() + chunk_weight.float()
                grad_bias = grad_bias + chunk_bias
        grad_hidden = grad_hidden[0] if len(grad_hidden) == 1 else torch.cat(grad_hidden)
        ctx.save_for_backward(grad_hidden, grad_weight, grad_bias)
        ctx.dtypes = (hidden.dtype, weight.dtype, bias.dtype)
        return loss

    @staticmethod
    def backward(ctx, grad_loss: torch.Tensor):
        grad_hidden, grad_weight, grad_bias = ctx.saved_tensors
        hidden_dtype, weight_dtype, bias_dtype = ctx.dtypes
        return (
            grad_hidden.to(hidden_dtype) * grad_loss,
            grad_weight.to(weight_dtype) * grad_loss,
            grad_bias.to(bias_dtype) * grad_loss,
            None,
            None,
            None,
        )


def _softmax_minus_one_hot(
    scores: torch.Tensor, lse: torch.Tensor, targets: torch.Tensor, row_weight: torch.Tensor
) -> torch.Tensor:
    """d loss / d logits = (softmax - one-hot) × row weight, `(rows, vocab)` fp32.

    Eager: in place on `scores` plus a scatter (no `(rows, vocab)` temporaries). Compiled:
    one elementwise expression (the one-hot from column indices), which inductor fuses with
    the cast to the logits' dtype into one pass (a scatter would materialise the fp32 grid).
    """
    if torch.compiler.is_compiling():
        columns = torch.arange(scores.shape[1], device=scores.device)
        one_hot = (columns[None, :] == targets).to(scores.dtype)
        return (torch.exp(scores - lse) - one_hot) * row_weight
    return scores.sub_(lse).exp_().mul_(row_weight).scatter_add_(1, targets, -row_weight)


def _spans(rows: int, chunk_rows: int) -> list[tuple[int, int]]:
    return [(start, min(start + chunk_rows, rows)) for start in range(0, rows, chunk_rows)]


def per_item_loss(
    summed: torch.Tensor, targets: torch.Tensor, num_items_in_batch: int | torch.Tensor | None
) -> torch.Tensor:
    """`summed` loss / `num_items_in_batch` (default: the `targets` that are not -100; the
    Trainer passes the count over its accumulated batches and processes)."""
    if num_items_in_batch is None:
        num_items_in_batch = (targets != IGNORE_INDEX).sum().clamp(min=1)
    if isinstance(num_items_in_batch, torch.Tensor):
        num_items_in_batch = num_items_in_batch.to(summed.device)
    return summed / num_items_in_batch


def logits_loss(
    logits: torch.Tensor, targets: torch.Tensor, num_items_in_batch: int | torch.Tensor | None
) -> torch.Tensor:
    """Per-item cross-entropy of `(n, vocab)` logits against `(n,)` targets (-100 ignored),
    in fp32: the loss from logits that are returned as well."""
    summed = F.cross_entropy(logits.float(), targets, ignore_index=IGNORE_INDEX, reduction="sum")
    return per_item_loss(summed, targets, num_items_in_batch)


def linear_cross_entropy(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    targets: torch.Tensor,
    vocab_size: int,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> torch.Tensor:
    """Summed cross-entropy (fp32 scalar) of `hidden @ weight.T + bias` against `targets`.

    Args:
        hidden: `(rows, hidden)`.
        weight: `(padded_vocab, hidden)`, e.g. the (tied) word embeddings.
        bias: `(padded_vocab,)`.
        targets: `(rows,)` token ids; -100 rows add nothing (loss and gradient 0).
        vocab_size: columns from this one on are padding: never predicted (-inf).
        chunk_rows: rows whose logits exist at once.
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows={chunk_rows}: expected >= 1")
    return LinearCrossEntropy.apply(hidden, weight, bias, targets, vocab_size, chunk_rows)


__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "LinearCrossEntropy",
    "linear_cross_entropy",
    "logits_loss",
    "masked_bias",
    "per_item_loss",
]
