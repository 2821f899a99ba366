"""The batch order of `--train_sampling_strategy group_by_length`, the same in every process.

transformers' `LengthGroupedSampler` (as the Trainer builds it) shuffles with each process's
own torch random state, which dropout moves apart from the first epoch on: with several
processes the ranks then cut different orders into their shares, and an epoch trains some
facts twice and others not at all, silently. It also groups by one process's batch, so that
N processes x b facts did not train what 1 process x N·b facts trains.

`GroupedByLength` orders an epoch from a generator seeded with the run's data seed plus the
epoch (`--data_seed`, else `--seed`): every process cuts the same order, and a resumed run
draws the epoch's order of the uninterrupted run. Its groups are of the global batch (facts
per update, `prixlm.training.processes.global_batch`), so any process count with the same
global batch trains the same facts in every update.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Sampler
from transformers.trainer_pt_utils import get_length_grouped_indices


class GroupedByLength(Sampler[int]):
    """Dataset indices in groups of similar length (`get_length_grouped_indices`: shuffled,
    cut in mega-batches of up to 50 `batch`es, each sorted by length, the longest fact
    first), in an order that depends only on `seed` and the epoch (`set_epoch`)."""

    def __init__(self, lengths: Sequence[int], batch: int, seed: int) -> None:
        self.lengths = [int(length) for length in lengths]
        self.batch = batch
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Order the next iteration as epoch `epoch` (the Trainer and accelerate call it)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator()
        generator.manual_seed(self.seed + self.epoch)
        return iter(get_length_grouped_indices(self.lengths, self.batch, generator=generator))


__all__ = ["GroupedByLength"]
