"""Runs on several devices: one process per device, and what several processes do to the batches.

Data parallel training is one process per device (`torchrun`, `accelerate launch`); the batch
options are per process, so N processes make N times the batch of one (but with accelerate's
`split_batches`, where the processes share each batch: `global_batch`). A run refuses several
GPUs in one process (`check_one_device_per_process`), and says at its start how big its
updates are and how many facts an epoch repeats to give every process the same batches
(`announce_processes`), and refuses one whose batches `--dataloader_drop_last` would all
drop (`check_batches`) and accelerate batch settings that the processes cannot train
together (`check_process_shares`). `trained_batches` gives what train_results.json records of the
batches trained: the facts of a full update (at most one epoch's) and the facts repeated.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import Any

from prixlm.cli import UsageError

#: The paper's facts per update: 32 per step x 32 accumulation steps, in one process.
PAPER_GLOBAL_BATCH = 1024


def check_one_device_per_process(training_args: Any) -> None:
    """`UsageError` when this process sees several GPUs: the Trainer would wrap the model in
    `torch.nn.DataParallel`, which splits every tensor of a batch along its first dimension,
    while the batch's labelled positions index the whole batch (an IndexError, or with
    `--static_shapes` a wrong loss)."""
    n_gpu = training_args.n_gpu
    if n_gpu > 1:
        raise UsageError(
            f"{n_gpu} GPUs in one process: not supported (torch.nn.DataParallel would split "
            "each batch, whose labelled positions index the whole batch); launch one process "
            f"per GPU: torchrun --nproc_per_node {n_gpu} train.py ... or accelerate launch "
            f"--multi_gpu --num_processes {n_gpu} train.py ..., or choose one GPU with "
            "CUDA_VISIBLE_DEVICES=0"
        )


def split_batches(training_args: Any) -> bool:
    """Whether the processes share each batch (`--accelerator_config '{"split_batches":
    true}'`) instead of each training a batch of its own."""
    return bool(accelerator_setting(training_args.accelerator_config, "split_batches", False))


def global_batch_of(
    per_device_batch: int, accumulation: int, processes: int, *, split: bool = False
) -> int:
    """Facts per update: per device batch x accumulation steps x processes, or without the
    processes when they share each batch (`split`)."""
    return per_device_batch * accumulation * (1 if split else max(processes, 1))


def global_batch(training_args: Any) -> int:
    """`global_batch_of` a run's `TrainingArguments`: the facts each update trains."""
    return global_batch_of(
        training_args.per_device_train_batch_size,
        training_args.gradient_accumulation_steps,
        training_args.world_size,
        split=split_batches(training_args),
    )


def recorded_global_batch(
    training_args: Mapping[str, Any], train_results: Mapping[str, Any]
) -> tuple[int, bool]:
    """A release's facts per update and whether its processes split each batch: the
    `global_batch` that `train_results.json` records, else computed from
    `training_args.json` and the recorded `world_size` (a release trained before it was)."""
    split = bool(accelerator_setting(training_args.get("accelerator_config"), "split_batches", 0))
    batch = train_results.get("global_batch") or global_batch_of(
        training_args["per_device_train_batch_size"],
        training_args.get("gradient_accumulation_steps", 1),
        train_results.get("world_size", 1),
        split=split,
    )
    return batch, split


def accelerator_setting(config: Any, name: str, default: Any) -> Any:
    """A setting of `accelerator_config`: an `AcceleratorConfig`, a dict (as
    `training_args.json` holds it) or None."""
    if isinstance(config, dict):
        return config.get(name, default)
    return getattr(config, name, default)


def facts_repeated_per_epoch(
    facts: int,
    world_size: int,
    per_device_batch: int,
    *,
    drop_last: bool = False,
    split_batches: bool = False,
    even_batches: bool = True,
    rebalance_accumulation: int | None = None,
) -> int:
    """Facts an epoch presents a second time: with several processes, accelerate gives each
    one the same number of full batches (`even_batches`), filling the last global batch with
    facts from the start of the epoch. None with one process, with `--dataloader_drop_last`
    (the incomplete batches are left out instead) or without `even_batches`.

    `rebalance_accumulation` (the accumulation steps of `--train_sampling_strategy
    batch_rebalance`): transformers' `BatchRebalanceSampler` presents every fact once, in
    updates of per device x processes x accumulation facts, and fills only a last update
    smaller than its micro-batches (one per process and accumulation step) with facts from
    the start of the epoch, one each; accelerate adds none (with one process too)."""
    if facts <= 0 or drop_last:
        return 0
    if rebalance_accumulation is not None:
        groups = max(world_size, 1) * rebalance_accumulation
        left = facts % (per_device_batch * groups)
        return groups - left if 0 < left < groups else 0
    if world_size <= 1 or not even_batches:
        return 0
    global_batch = per_device_batch if split_batches else per_device_batch * world_size
    return math.ceil(facts / global_batch) * global_batch - facts


def repeated_facts(training_args: Any, facts: int, per_device: int | None = None) -> int:
    """`facts_repeated_per_epoch` for a run's `TrainingArguments` and its training facts;
    `per_device`: the batch trained, if not `--per_device_train_batch_size`."""
    config = training_args.accelerator_config
    rebalance = getattr(training_args, "train_sampling_strategy", None) == "batch_rebalance"
    return facts_repeated_per_epoch(
        facts,
        training_args.world_size,
        per_device or training_args.per_device_train_batch_size,
        drop_last=training_args.dataloader_drop_last,
        split_batches=split_batches(training_args),
        even_batches=bool(accelerator_setting(config, "even_batches", True)),
        rebalance_accumulation=training_args.gradient_accumulation_steps if rebalance else None,
    )


def process_notes(training_args: Any, facts: int, repeated: int) -> list[str]:
    """The lines a run with several processes prints at its start (none with one process):
    its facts per update, and the facts repeated per epoch."""
    from prixlm.training.arguments import PrixLMTrainingArguments

    world = training_args.world_size
    if world <= 1:
        return []
    per_device = training_args.per_device_train_batch_size
    accumulation = training_args.gradient_accumulation_steps
    total = global_batch(training_args)
    split = split_batches(training_args)
    step = per_device if split else world * per_device  # facts per step, all processes
    shares, per_step = (
        (f"{world} processes sharing {per_device} facts (split_batches)", f"{per_device}")
        if split
        else (f"{world} processes x {per_device} facts", f"{world} x {per_device}")
    )
    note = (
        f"global batch: {shares} x {accumulation} accumulation steps = {total:,} facts per update"
    )
    fields = PrixLMTrainingArguments.__dataclass_fields__
    defaults = (
        fields["per_device_train_batch_size"].default,
        fields["gradient_accumulation_steps"].default,
    )
    if (per_device, accumulation) == defaults and total != PAPER_GLOBAL_BATCH:
        steps, rest = divmod(PAPER_GLOBAL_BATCH, step)
        fix = (
            f"--gradient_accumulation_steps {steps}"
            if steps and not rest
            else "smaller --per_device_train_batch_size / --gradient_accumulation_steps"
        )
        note += (
            f" (the batch options are per process: for the paper's {PAPER_GLOBAL_BATCH:,}, {fix})"
        )
    notes = [note]
    if repeated:
        notes.append(
            f"note: {repeated} facts repeated per epoch to fill the last batch across {world} "
            f"processes ({facts} facts, {per_step} per step; "
            "--dataloader_drop_last true leaves the incomplete batch out instead)"
        )
    return notes


def trained_batches(training_args: Any, facts: int, per_device: int) -> dict[str, int]:
    """What train_results.json records of the batches a run of `facts` trained with
    `per_device` facts per device and step (`--auto_find_batch_size` may have lowered it):
    `global_batch`, the facts of a full update, which never spans two epochs (with fewer
    batches per epoch than `--gradient_accumulation_steps`, an update is the epoch's facts),
    and `train_facts_repeated_per_epoch` (`repeated_facts`)."""
    repeated = repeated_facts(training_args, facts, per_device)
    world = 1 if split_batches(training_args) else max(training_args.world_size, 1)
    step = per_device * world  # facts per step, every process
    epoch = (facts // step) * step if training_args.dataloader_drop_last else facts + repeated
    accumulation, processes = training_args.gradient_accumulation_steps, training_args.world_size
    planned = global_batch_of(
        per_device, accumulation, processes, split=split_batches(training_args)
    )
    return {"global_batch": min(planned, epoch), "train_facts_repeated_per_epoch": repeated}


def check_batches(training_args: Any, facts: int) -> None:
    """`UsageError` when `--dataloader_drop_last` drops every batch of the `facts` (fewer
    than one batch): the Trainer ended in a traceback (with `--num_train_epochs`) or in a
    stop at step 0 that advised a resume (with `--max_steps`)."""
    if not training_args.dataloader_drop_last:
        return
    per_device = training_args.per_device_train_batch_size
    world = 1 if split_batches(training_args) else max(training_args.world_size, 1)
    batch, what = per_device * world, f"--per_device_train_batch_size {per_device}"
    if world > 1:
        what += f" x {world} processes"
    if getattr(training_args, "train_sampling_strategy", None) == "batch_rebalance":
        accumulation = training_args.gradient_accumulation_steps
        batch, what = batch * accumulation, f"{what} x {accumulation} accumulation steps"
    if facts < batch:
        raise UsageError(
            f"--dataloader_drop_last true: the {facts} training facts fill no batch of {what} "
            f"= {batch} facts, and every incomplete batch is dropped (nothing would train); "
            "lower --per_device_train_batch_size or leave --dataloader_drop_last out"
        )


def check_process_shares(training_args: Any, facts: int) -> None:
    """`UsageError` for accelerate's batch settings (`--accelerator_config`) that several
    processes cannot train together, before any step:

    - `dispatch_batches`: the first process reads every batch and cuts its tensors across
      the processes, while a batch's labelled positions index its own rows (a TypeError on
      the batch's flags; cut, a wrong loss).
    - `split_batches` with a per-device batch that is not a multiple of the processes
      (accelerate's ValueError, after the facts were encoded).
    - `even_batches` false where the `facts`' batches do not give every process the same
      number: the one with a batch more trains a step whose collectives the others never
      join, and the run waits forever (no error, no timeout).
    """
    world = training_args.world_size
    if world <= 1:
        return
    config = training_args.accelerator_config
    if accelerator_setting(config, "dispatch_batches", None):
        raise UsageError(
            '--accelerator_config {"dispatch_batches": true}: not supported with several '
            "processes (the first process would cut every batch across them, while a batch's "
            "labelled positions index its own rows); leave dispatch_batches out"
        )
    per_device = training_args.per_device_train_batch_size
    split = split_batches(training_args)
    if split and per_device % world:
        raise UsageError(
            f'--accelerator_config {{"split_batches": true}}: {world} processes cannot share '
            f"batches of --per_device_train_batch_size {per_device} facts; choose a multiple "
            f"of {world}"
        )
    rebalance = getattr(training_args, "train_sampling_strategy", None) == "batch_rebalance"
    even = accelerator_setting(config, "even_batches", True)
    if rebalance or even or training_args.dataloader_drop_last or facts <= 0:
        return  # batch_rebalance's sampler gives each process its micro-batches itself
    if split:  # the last, incomplete batch reaches only the processes its facts cover
        left = facts % per_device
        uneven = 0 < left <= per_device // world * (world - 1)
    else:
        uneven = math.ceil(facts / per_device) % world != 0
    if uneven:
        batches = f"{math.ceil(facts / per_device)} batches of {per_device}"
        raise UsageError(
            f'--accelerator_config {{"even_batches": false}}: the {facts} training facts make '
            f"{batches}, which {world} processes cannot share evenly (one would train a step "
            "that the others never join, and the run would wait forever); leave even_batches "
            "out (the last batch is filled with facts from the start of the epoch) or add "
            "--dataloader_drop_last true"
        )


def announce_processes(training_args: Any, facts: int) -> int:
    """Print `process_notes` on the first process (stderr); returns the facts repeated per
    epoch (`repeated_facts`). First refuses a run whose batches are all dropped
    (`check_batches`) or that its processes cannot train together (`check_process_shares`)."""
    check_batches(training_args, facts)
    check_process_shares(training_args, facts)
    repeated = repeated_facts(training_args, facts)
    if training_args.process_index == 0:
        for note in process_notes(training_args, facts, repeated):
            print(note, file=sys.stderr)
    return repeated


__all__ = [
    "PAPER_GLOBAL_BATCH",
    "accelerator_setting",
    "announce_processes",
    "check_batches",
    "check_process_shares",
    "check_one_device_per_process",
    "facts_repeated_per_epoch",
    "global_batch",
    "global_batch_of",
    "process_notes",
    "recorded_global_batch",
    "repeated_facts",
    "split_batches",
    "trained_batches",
]
