"""Batches of encoded facts for the Trainer: padded, or packed several facts per row.

`training_collator` builds the collator of a training run from its options.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np
import torch

from modeling_prixlm.formatting import IGNORE_INDEX
from prixlm.cli import UsageError


def _round_up(value: int, multiple: int | None) -> int:
    return -(-value // multiple) * multiple if multiple and multiple > 1 else value


@dataclass
class PrixLMCollator:
    """Right-pads (or packs) `input_ids` and `labels` into `(rows, length)` tensors.

    Labels stay only on the object tokens and `[EOS]` (as `modeling_prixlm.formatting`
    encodes them; padding gets -100). The model finds each object's start from the `[O]`
    token in `input_ids`.

    Args:
        pad_token_id: id of `<pad>`.
        object_logits_only: the model runs the LM head only where a label exists; the batch
            then also holds `label_positions` and `label_targets` `(n,)`: the flat index
            (into `rows * length`) of the position that predicts each label, and the label;
            `n` padded to `label_multiple_of` with position 0 and target -100 (static-shape,
            GPU-friendly rows for the 250k-vocabulary projection).
        pad_to_multiple_of: round the row length up to this multiple.
        object_token_id, position_budget: with both, every fact is checked here (it has
            `[O]`; at most `position_budget` tokens, the model's position range), and the
            batch tells the model to skip its own checks (`check_inputs=False`): they read
            values on the host, a device sync in every forward, and break `torch.compile`'s
            graph.
        packing: put several facts in a row of `pack_length` tokens (or the longest fact,
            if longer), best fit decreasing (rows are nearly full). The batch then holds `position_ids`
            (XLM-R positions restarting at each fact) and `fact_ids` (each token's fact index,
            -1 for padding), from which the model builds a block-diagonal mask with each
            fact's own prefix-bidirectional pattern: the same loss and gradients as unpacked.
        pad_rows_to, pad_labels_to: static shapes: every batch has at least `pad_rows_to`
            rows of `pack_length` tokens (or the longest fact, rounded up to
            `pad_to_multiple_of`) and `pad_labels_to` labelled positions (padding rows and
            positions add nothing to the loss), so `torch.compile` sees one shape and CUDA
            graphs can replay it. A batch that needs more is not cut: it gets the next
            multiple of 8 rows (of `label_multiple_of` positions), a new shape, with a
            warning (once). `static_batch_shape` sizes both from the data.

    Returns `input_ids`, `attention_mask`, `labels` of shape `(rows, length)`, the
    `object_logits_only` flag and the tensors and flags above.
    """

    pad_token_id: int
    object_logits_only: bool = True
    pad_to_multiple_of: int | None = None
    object_token_id: int | None = None
    position_budget: int | None = None
    label_multiple_of: int = 64
    packing: bool = False
    pack_length: int = 128
    pad_rows_to: int | None = None
    pad_labels_to: int | None = None
    _warned: bool = field(default=False, init=False, repr=False, compare=False)

    @classmethod
    def for_model(cls, config: Any, **kwargs: Any) -> PrixLMCollator:
        """The training collator of a model with `config`: pads with its `<pad>` to a multiple
        of 8 tokens (the GPU's attention kernels like aligned rows), checks facts against its
        `[O]` and position range (so the forward need not); `kwargs` set the rest."""
        kwargs.setdefault("pad_to_multiple_of", 8)
        return cls(
            config.pad_token_id,
            object_token_id=config.object_token_id,
            position_budget=config.max_position_embeddings - config.pad_token_id - 1,
            **kwargs,
        )

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        if not features:
            raise ValueError("empty batch")
        ids = [f["input_ids"] for f in features]
        labels = [f["labels"] for f in features]
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        label_lengths = np.fromiter(map(len, labels), dtype=np.int64, count=len(labels))
        if (lengths != label_lengths).any():
            row = int(np.flatnonzero(lengths != label_lengths)[0])
            raise ValueError(f"feature {row}: input_ids and labels differ in length")
        if (lengths == 0).any():
            raise ValueError(f"feature {int(np.flatnonzero(lengths == 0)[0])}: no tokens")
        total = int(lengths.sum())
        flat_ids = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=total)
        flat_labels = np.fromiter(chain.from_iterable(labels), dtype=np.int64, count=total)
        starts = np.cumsum(lengths) - lengths
        within = np.arange(total) - np.repeat(starts, lengths)  # position inside its fact
        validated = self._validate(flat_ids, lengths, starts)

        if self.packing:
            fact_rows, fact_offsets, width = self._pack(lengths)
        else:
            fact_rows, fact_offsets = np.arange(len(lengths)), np.zeros_like(lengths)
            width = int(lengths.max())
        num_rows = int(fact_rows.max()) + 1
        if self.pad_rows_to:
            width = max(width, self.pack_length)
            num_rows = self._static(num_rows, self.pad_rows_to, 8, "rows", "pad_rows_to")
        width = _round_up(width, self.pad_to_multiple_of)
        token_rows = np.repeat(fact_rows, lengths)
        flat_index = token_rows * width + np.repeat(fact_offsets, lengths) + within

        input_ids = np.full(num_rows * width, self.pad_token_id, dtype=np.int64)
        grid_labels = np.full(num_rows * width, IGNORE_INDEX, dtype=np.int64)
        input_ids[flat_index] = flat_ids
        grid_labels[flat_index] = flat_labels
        attention_mask = np.zeros(num_rows * width, dtype=np.int64)
        attention_mask[flat_index] = 1
        batch: dict[str, Any] = {
            "input_ids": torch.from_numpy(input_ids.reshape(num_rows, width)),
            "attention_mask": torch.from_numpy(attention_mask.reshape(num_rows, width)),
            "labels": torch.from_numpy(grid_labels.reshape(num_rows, width)),
            "object_logits_only": self.object_logits_only,
        }
        if self.packing:
            position_ids = np.full(num_rows * width, self.pad_token_id, dtype=np.int64)
            position_ids[flat_index] = self.pad_token_id + 1 + within
            fact_ids = np.full(num_rows * width, -1, dtype=np.int64)
            fact_ids[flat_index] = np.repeat(np.arange(len(lengths)), lengths)
            batch["position_ids"] = torch.from_numpy(position_ids.reshape(num_rows, width))
            batch["fact_ids"] = torch.from_numpy(fact_ids.reshape(num_rows, width))
        if self.object_logits_only:
            # a label at a fact's first token has no predicting position (as the shift drops it)
            labelled = (flat_labels != IGNORE_INDEX) & (within > 0)
            positions = flat_index[labelled] - 1
            targets = flat_labels[labelled]
            size = _round_up(max(len(positions), 1), self.label_multiple_of)
            if self.pad_labels_to:
                size = self._static(
                    len(positions),
                    self.pad_labels_to,
                    self.label_multiple_of,
                    "labelled positions",
                    "pad_labels_to",
                )
            batch["label_positions"] = torch.from_numpy(
                np.pad(positions, (0, size - len(positions)))
            )
            batch["label_targets"] = torch.from_numpy(
                np.pad(targets, (0, size - len(targets)), constant_values=IGNORE_INDEX)
            )
        if validated:
            batch["check_inputs"] = False
        return batch

    def _static(self, needed: int, target: int, multiple: int, what: str, option: str) -> int:
        """`target`, or the next multiple of `multiple` above `needed` (warned once)."""
        if needed <= target:
            return target
        if not self._warned:
            self._warned = True
            warnings.warn(
                f"a batch needs {needed} {what}, more than {option}={target}: it gets a larger "
                f"shape (a recompilation under torch.compile); raise {option} if this repeats",
                stacklevel=3,
            )
        return _round_up(needed, multiple)

    def needs(self, features: Sequence[dict[str, Any]]) -> tuple[int, int]:
        """The rows and labelled positions a batch of `features` needs (before static padding)."""
        lengths = np.fromiter((len(f["input_ids"]) for f in features), dtype=np.int64)
        rows = int(self._pack(lengths)[0].max()) + 1 if self.packing else len(features)
        # a label at a fact's first token has no predicting position (as the shift drops it)
        labels = sum(sum(1 for x in f["labels"][1:] if x != IGNORE_INDEX) for f in features)
        return rows, labels

    def _validate(self, flat_ids: np.ndarray, lengths: np.ndarray, starts: np.ndarray) -> bool:
        """Check every fact here (so the model need not); False when not configured to."""
        if self.object_token_id is None or self.position_budget is None:
            return False
        too_long = lengths > self.position_budget
        if too_long.any():
            row = int(np.flatnonzero(too_long)[0])
            raise ValueError(
                f"feature {row}: {int(lengths[row])} tokens, more than the model's "
                f"{self.position_budget} positions"
            )
        markers = np.add.reduceat((flat_ids == self.object_token_id).astype(np.int64), starts)
        if (markers == 0).any():
            row = int(np.flatnonzero(markers == 0)[0])
            raise ValueError(
                f"feature {row} has no [O] token (id {self.object_token_id}): format facts "
                "with modeling_prixlm.formatting"
            )
        return True

    def _pack(self, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """Best-fit decreasing: each fact's row and offset, and the longest row's length.

        Longest facts first, each into the open row with the least room that fits it.
        """
        capacity = max(self.pack_length, int(lengths.max()))
        rows = np.empty(len(lengths), dtype=np.int64)
        offsets = np.empty(len(lengths), dtype=np.int64)
        by_room: list[list[int]] = [[] for _ in range(capacity + 1)]  # open rows by room left
        has_room = np.zeros(capacity + 1, dtype=bool)
        fill: list[int] = []
        for index in np.argsort(-lengths, kind="stable").tolist():
            length = int(lengths[index])
            fits = np.flatnonzero(has_room[length:])
            if len(fits):
                room = length + int(fits[0])
                row = by_room[room].pop()
                has_room[room] = bool(by_room[room])
            else:
                room, row = capacity, len(fill)
                fill.append(0)
            rows[index], offsets[index] = row, fill[row]
            fill[row] += length
            if room > length:
                by_room[room - length].append(row)
                has_room[room - length] = True
        return rows, offsets, max(fill)


def static_batch_shape(
    collator: PrixLMCollator,
    features: Sequence[dict[str, Any]],
    batch_size: int,
    samples: int = 64,
    margin: float = 0.02,
    seed: int = 0,
) -> tuple[int, int]:
    """`(pad_rows_to, pad_labels_to)` for batches of `batch_size` facts drawn from `features`.

    The most rows and labelled positions of `samples` random batches (the Trainer's random
    order), plus `margin` (rows vary by about one in a batch of 1,024 facts), the positions
    rounded up to `collator.label_multiple_of`. `features` may be a `datasets.Dataset`
    (only the sampled rows are read).
    """
    rng = np.random.default_rng(seed)
    size = min(batch_size, len(features))
    most_rows = most_labels = 1
    for _ in range(samples):
        picked = np.sort(rng.choice(len(features), size=size, replace=False)).tolist()
        batch = (
            features.select(picked)
            if hasattr(features, "select")
            else [features[i] for i in picked]
        )
        rows, labels = collator.needs(list(batch))
        most_rows, most_labels = max(most_rows, rows), max(most_labels, labels)
    return (
        int(np.ceil(most_rows * (1 + margin))),
        _round_up(int(np.ceil(most_labels * (1 + margin))), collator.label_multiple_of),
    )


def training_collator(
    config: Any, data_args: Any, train_set: Any, training_args: Any
) -> PrixLMCollator:
    """The Trainer's collator (`data_args`: the run's `DataArguments`): packed or padded
    rows; with `--static_shapes`, one batch shape (`--pad_rows_to` / `--pad_labels_to`, or
    sized from 64 random batches). `--static_shapes` with `--auto_find_batch_size` is
    refused: a batch lowered after an out-of-memory error kept the shape sized for the
    batch asked, and as much memory."""
    collator = PrixLMCollator.for_model(
        config, packing=data_args.packing, pack_length=data_args.pack_length
    )
    if not data_args.static_shapes:
        if data_args.pad_rows_to or data_args.pad_labels_to:
            raise UsageError("--pad_rows_to / --pad_labels_to need --static_shapes")
        return collator
    if training_args.auto_find_batch_size:
        raise UsageError(
            "--static_shapes with --auto_find_batch_size: not supported (a lower batch keeps "
            "the one padded shape, and its memory); choose --per_device_train_batch_size"
        )
    rows, labels = data_args.pad_rows_to, data_args.pad_labels_to
    if not (rows and labels):
        sized = static_batch_shape(
            collator, train_set, training_args.per_device_train_batch_size, seed=training_args.seed
        )
        rows, labels = rows or sized[0], labels or sized[1]
        print(f"static batch shape: {rows} rows, {labels} labelled positions", file=sys.stderr)
    collator.pad_rows_to, collator.pad_labels_to = rows, labels
    return collator
