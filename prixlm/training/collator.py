"""Batches of encoded facts for the Trainer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from modeling_prixlm.formatting import IGNORE_INDEX


@dataclass
class PrixLMCollator:
    """Right-pads `input_ids` and `labels` to the longest fact of the batch.

    Labels stay only on the object tokens and `[EOS]` (as `modeling_prixlm.formatting`
    encodes them; padding gets -100). The model finds the object start from the `[O]`
    token in `input_ids`, so no extra column is needed. With `object_logits_only`, the
    model runs the LM head only where a label exists.

    Returns `input_ids`, `attention_mask`, `labels` of shape `(batch, longest)` and the
    `object_logits_only` flag.
    """

    pad_token_id: int
    object_logits_only: bool = True
    pad_to_multiple_of: int | None = None

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        if not features:
            raise ValueError("empty batch")
        longest = max(len(f["input_ids"]) for f in features)
        if self.pad_to_multiple_of:
            longest = -(-longest // self.pad_to_multiple_of) * self.pad_to_multiple_of
        input_ids = torch.full((len(features), longest), self.pad_token_id, dtype=torch.long)
        labels = torch.full((len(features), longest), IGNORE_INDEX, dtype=torch.long)
        attention_mask = torch.zeros((len(features), longest), dtype=torch.long)
        for row, feature in enumerate(features):
            length = len(feature["input_ids"])
            if len(feature["labels"]) != length:
                raise ValueError(f"feature {row}: input_ids and labels differ in length")
            input_ids[row, :length] = torch.as_tensor(feature["input_ids"])
            labels[row, :length] = torch.as_tensor(feature["labels"])
            attention_mask[row, :length] = 1
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "labels": labels,
            "object_logits_only": self.object_logits_only,
        }
