"""Refuse to release weights that are not all finite (a training run that diverged).

A model with one NaN weight gives NaN logits, and every ranking of its outputs is
meaningless; `PrixLMTrainer.save_release` checks before it writes anything.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

import torch

from prixlm.cli import UsageError


def check_finite_weights(model: Any) -> None:
    """`UsageError` naming the first parameter or floating-point buffer of `model` (a
    `torch.nn.Module`) that holds a NaN or an infinite value; nothing if all are finite.

    One pass over the tensors on their devices, one copy of a `(tensors,)` bool flag to
    the host. Integer buffers (`position_ids`) are skipped; tied weights count once.
    """
    named = [
        (name, tensor)
        for name, tensor in chain(model.named_parameters(), model.named_buffers())
        if tensor.is_floating_point() and tensor.numel()
    ]
    if not named:
        return
    flags = [(~torch.isfinite(t.detach())).any() for _, t in named]  # 0-d, on each device
    bad = torch.stack([f.to(flags[0].device) for f in flags]).nonzero()[:, 0].tolist()
    if not bad:
        return
    name, tensor = named[bad[0]]
    values = tensor.detach()
    nan, inf = int(torch.isnan(values).sum()), int(torch.isinf(values).sum())
    more = len(bad) - 1
    others = {0: "", 1: ", and 1 more tensor is not finite"}.get(
        more, f", and {more} more tensors are not finite"
    )
    raise UsageError(
        f"training diverged: the weights are not all finite ({name!r} holds {nan} NaN and "
        f"{inf} infinite values of {values.numel()}{others}); no release is written from "
        "them: lower --learning_rate or resume from an earlier checkpoint"
    )


__all__ = ["check_finite_weights"]
