"""What a run's record holds besides its options, and how a refused resume names a difference.

A checkpoint's `prixlm_run.json` (`prixlm.training.resume.run_record`) records the options
that define the run by their names; it also records the number of processes (`world_size`:
no option, the launcher's) and the settings of `--accelerator_config` that change which
facts each update trains (`ACCELERATOR_ARGUMENTS`). `difference` words one of them as the
user changes it: an option as typed, the processes as a launch command.

The record also names the rule by which `--train_sampling_strategy` `group_by_length` and
`batch_rebalance` order each epoch's facts (`sampler`: `SAMPLER_RULES`). A resumed run cuts
the rest of the checkpoint's epoch from that epoch's order, so `check_sampler_rule` refuses
a checkpoint stopped mid-epoch whose record names another rule (or none: an earlier
version's), and warns at an epoch's end (`SamplerRuleWarning`: the next epochs are this
version's order).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from prixlm.cli import UsageError
from prixlm.training.processes import accelerator_setting

#: accelerate's settings that change what each update trains: processes sharing each batch
#: instead of one each (`split_batches`), the last batch filled with facts from the epoch's
#: start (`even_batches`), batches read by the first process and sent to the others
#: (`dispatch_batches`).
ACCELERATOR_ARGUMENTS = ("split_batches", "even_batches", "dispatch_batches")
#: How a record names them: `accelerator_config.<setting>`.
ACCELERATOR_PREFIX = "accelerator_config."


def accelerator_arguments(training: Any) -> dict[str, Any]:
    """`ACCELERATOR_ARGUMENTS` of a run's `TrainingArguments`, as its record stores them."""
    config = getattr(training, "accelerator_config", None)
    return {
        f"{ACCELERATOR_PREFIX}{name}": accelerator_setting(config, name, None)
        for name in ACCELERATOR_ARGUMENTS
    }


def difference(name: str, new: Any, old: Any) -> str:
    """One difference between this run (`new`) and its checkpoint (`old`) in the recorded
    argument `name`, worded as what to change."""
    if name == "world_size":
        launch = (
            f"torchrun --nproc_per_node {old} train.py ..." if old != 1 else "python train.py ..."
        )
        return (
            f"processes: {new} (the checkpoint's: {old}): launch it as the checkpoint was, "
            f"e.g. {launch}"
        )
    if name.startswith(ACCELERATOR_PREFIX):
        setting = name.removeprefix(ACCELERATOR_PREFIX)
        return (
            f"--accelerator_config {json.dumps({setting: new})} (the checkpoint's: "
            f"{json.dumps({setting: old})})"
        )
    return f"--{name} {new} (the checkpoint's: {old})"


#: The rule each `--train_sampling_strategy` orders an epoch's facts by, as a run's record
#: names it (`sampler`); one whose rule changes gets a new name. The random sampler's order
#: is the Trainer's (a resume of an earlier version's run draws the same): not recorded.
SAMPLER_RULES = {
    # `prixlm.training.sampling.GroupedByLength`: groups of the global batch, a generator
    # seeded by --data_seed (else --seed) plus the epoch (earlier: transformers'
    # LengthGroupedSampler, each process's own random state)
    "group_by_length": "group_by_length/global-batch/data_seed+epoch",
    # transformers' `BatchRebalanceSampler` seeded by --data_seed (else --seed); earlier:
    # its fixed seed, `EARLIER_REBALANCE_SEED`
    "batch_rebalance": "batch_rebalance/data_seed",
}
#: The seed of every `batch_rebalance` order before its rule was recorded: a run whose
#: --data_seed (else --seed) is this one draws the same order under both rules.
EARLIER_REBALANCE_SEED = 42


class SamplerRuleWarning(UserWarning):
    """A run resumed at an epoch's end from a checkpoint whose batch order rule was another:
    its next epochs are ordered by this version's rule."""


def sampler_record(training: Any) -> dict[str, str]:
    """`{"sampler": rule}` of a run's `TrainingArguments` (`SAMPLER_RULES`), else `{}`."""
    rule = SAMPLER_RULES.get(str(getattr(training, "train_sampling_strategy", "")))
    return {"sampler": rule} if rule else {}


def check_sampler_rule(checkpoint: str | Path, record: dict[str, Any], training: Any) -> None:
    """`UsageError` when `checkpoint` (of an unfinished run) stopped mid-epoch and its record
    names another batch order rule than `record` (this run's: `sampler_record`), or none
    (an earlier version's): the rest of its epoch would be cut from another order, training
    some facts twice and skipping others. At an epoch's end, a `SamplerRuleWarning`. A
    `batch_rebalance` run seeded by `EARLIER_REBALANCE_SEED` draws the earlier order too."""
    rule = record.get("sampler")
    if rule is None:  # the random or sequential sampler: the Trainer's, as before
        return
    checkpoint = Path(checkpoint)
    stored_file = checkpoint / "prixlm_run.json"  # `prixlm.training.resume.RUN_FILE`
    stored = json.loads(stored_file.read_text("utf-8")) if stored_file.is_file() else {}
    earlier = stored.get("sampler")
    if earlier == rule:
        return
    seed = training.data_seed if training.data_seed is not None else training.seed
    if earlier is None and rule == SAMPLER_RULES["batch_rebalance"]:
        if seed == EARLIER_REBALANCE_SEED:  # the fixed seed of the earlier rule: one order
            return
    state = json.loads((checkpoint / "trainer_state.json").read_text("utf-8"))
    epoch = float(state.get("epoch") or 0.0)
    strategy = training.train_sampling_strategy
    theirs = f"'{earlier}'" if earlier else "none recorded: an earlier version's"
    if abs(epoch - round(epoch)) > 1e-6:
        raise UsageError(
            f"--resume_from_checkpoint {checkpoint}: --train_sampling_strategy {strategy} "
            f"orders the facts by '{rule}' in this version, the checkpoint's run by another "
            f"rule ({theirs}), and it stopped in the middle of epoch {int(epoch) + 1} (at "
            f"{epoch:.2f} epochs): the rest of that epoch would train some facts twice and "
            "skip others; resume it with the version that made it (or from one of its "
            "checkpoints at an epoch's end), or start again in a new --output_dir"
        )
    warnings.warn(
        f"--resume_from_checkpoint {checkpoint}: the checkpoint's run ordered its facts by "
        f"another rule than this version's '{rule}' ({theirs}); it stopped at the end of "
        f"epoch {round(epoch)}: the next epochs are ordered by this version's rule, not as "
        "the version that made it would order them",
        SamplerRuleWarning,
        stacklevel=2,
    )


__all__ = [
    "ACCELERATOR_ARGUMENTS",
    "EARLIER_REBALANCE_SEED",
    "SAMPLER_RULES",
    "SamplerRuleWarning",
    "accelerator_arguments",
    "check_sampler_rule",
    "difference",
    "sampler_record",
]
