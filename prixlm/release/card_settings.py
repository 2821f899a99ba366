"""The model card's table of training settings, from `training_args.json`,
`train_results.json` and `config.json` (`hyperparameters`).

A setting the run never read is left out: the Adam rows for an optimizer outside the Adam
family (`--optim sgd`), the warm-up for a schedule without one (`--lr_scheduler_type
constant`); `optim` names the optimizer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prixlm.training.optimizer_settings import ADAM_SETTINGS, reads_adam, reads_warmup
from prixlm.training.processes import global_batch_of, recorded_global_batch

#: training_args.json fields shown on the card, in this order.
HYPERPARAMETERS = (
    "learning_rate",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "num_train_epochs",
    "max_steps",
    "warmup_steps",
    "lr_scheduler_type",
    "optim",
    *ADAM_SETTINGS,
    "weight_decay",
    "seed",
    "bf16",
    "fp16",
)
#: Values that mean "not set" for one field (the Trainer's `max_steps=-1`); `None` and
#: `False` mean it for every field, while 0 (seed 0, no weight decay) is a value shown.
UNSET = {"max_steps": -1}
#: The global batch's row where each update is a whole epoch (fewer facts than one update).
EPOCH_BATCH = (
    "global batch (an epoch's facts per update: fewer than devices × per device × accumulation)"
)


def _shown_value(name: str, value: Any) -> Any:
    """A fractional warm-up (`warmup_steps` < 1 is a share of the steps) reads `6% of steps`."""
    if name == "warmup_steps" and isinstance(value, float) and 0 < value < 1:
        return f"{round(100 * value, 4):g}% of steps"
    return value


def _trained_row(name: str, value: Any, schedule: Mapping[str, Any]) -> tuple[str, Any]:
    """The row of `max_steps` or `warmup_steps` for a run whose schedule a callback changed
    (`train_results.json`'s `trained_schedule`: a time budget, a flat validation curve): the
    steps trained and what stopped them, the warm-up steps and where the decay reached 0
    (a flat curve's anneal also), as trained rather than as given."""
    if name == "max_steps":
        stopped_by = schedule.get("stopped_by", "max_steps")
        return "steps trained", (
            f"{schedule['last_step']} of --max_steps {value} (stopped by: {stopped_by})"
        )
    given = _shown_value(name, value)
    given = f"{given:g}" if isinstance(given, float) else given  # 2.0: 2
    shown = f"{schedule['warmup_steps']} steps, then linear decay to 0 at step "
    shown += f"{schedule['decay_to_zero_at']} (given: {given})"
    anneal = schedule.get("anneal")
    if anneal:
        shown += (
            f"; from step {anneal['from_step']} annealed from {anneal['lr_factor']:.3g} × "
            f"the learning rate to 0 at step {anneal['to_step']}"
        )
    return name, shown


def _read(name: str, training_args: Mapping[str, Any]) -> bool:
    """Whether the run read the setting `name` (its optimizer and schedule decide)."""
    if name in ADAM_SETTINGS:
        return reads_adam(training_args.get("optim"))
    if name == "warmup_steps":
        return reads_warmup(training_args.get("lr_scheduler_type"))
    return True


def epoch_facts(
    training_args: Mapping[str, Any], train_results: Mapping[str, Any], split: bool
) -> int | None:
    """The facts of one epoch, as `processes.trained_batches` counts them: the training
    facts and those repeated to even out the processes, or, with `dataloader_drop_last`,
    the facts of the whole batches (per device × processes, unless the processes split each
    batch; the recorded batch, so not where `auto_find_batch_size` may have lowered it).
    None where `train_results.json` has no `train_facts`."""
    facts = train_results.get("train_facts")
    if not isinstance(facts, int) or isinstance(facts, bool):
        return None
    per_device = training_args.get("per_device_train_batch_size")
    if (
        training_args.get("dataloader_drop_last")
        and not training_args.get("auto_find_batch_size")
        and isinstance(per_device, int)
        and per_device > 0
    ):
        step = per_device * (1 if split else max(train_results.get("world_size") or 1, 1))
        return (facts // step) * step
    return facts + (train_results.get("train_facts_repeated_per_epoch") or 0)


def _global_batch_row(
    training_args: Mapping[str, Any], train_results: Mapping[str, Any]
) -> tuple[str, Any]:
    """The facts per update, named by how they add up: devices × per device × accumulation,
    or an epoch's facts where an epoch is shorter than one such update. An update never
    spans two epochs: the batch is capped at `epoch_facts` (a release trained before
    `global_batch` was capped so records the whole product)."""
    batch, split = recorded_global_batch(training_args, train_results)
    epoch = epoch_facts(training_args, train_results, split)
    if epoch:
        batch = min(batch, epoch)
    product = global_batch_of(
        training_args["per_device_train_batch_size"],
        training_args.get("gradient_accumulation_steps", 1),
        train_results.get("world_size", 1),
        split=split,
    )
    if batch < product:
        return EPOCH_BATCH, batch
    shares = "per device × accumulation, split across the devices" if split else None
    return f"global batch ({shares or 'devices × per device × accumulation'})", batch


def hyperparameters(
    training_args: Mapping[str, Any], train_results: Mapping[str, Any], config: Mapping[str, Any]
) -> list[tuple[str, Any]]:
    """(name, value) rows for the card: the optimiser and schedule, batch, data and size.

    Where `max_steps` > 0 stopped the run, `num_train_epochs` (not reached) gives way to
    `epochs trained` (`train_results.json`'s `epoch`, 2 decimals). Settings the run's
    optimizer or schedule never read are left out (`_read`). Where a callback changed the
    schedule (`train_results.json`'s `trained_schedule`), `max_steps` gives way to `steps
    trained` and the warm-up row says the schedule trained (`_trained_row`).
    """
    schedule = train_results.get("trained_schedule")
    max_steps = training_args.get("max_steps")
    by_steps = isinstance(max_steps, int) and not isinstance(max_steps, bool) and max_steps > 0
    rows: list[tuple[str, Any]] = []
    for name in HYPERPARAMETERS:
        value = training_args.get(name)
        if value is None or value is False or (name in UNSET and value == UNSET[name]):
            continue
        if (name == "num_train_epochs" and by_steps) or not _read(name, training_args):
            continue
        if name in ("max_steps", "warmup_steps") and schedule:
            rows.append(_trained_row(name, value, schedule))
        else:
            rows.append((name, _shown_value(name, value)))
        if name == "max_steps" and by_steps and train_results.get("epoch") is not None:
            rows.append(("epochs trained", round(train_results["epoch"], 2)))
    if "per_device_train_batch_size" in training_args:
        rows.append(_global_batch_row(training_args, train_results))
    for name in ("world_size", "variant", "train_facts", "train_loss", "train_runtime"):
        if name in train_results:
            rows.append((name, train_results[name]))
    for name in ("hidden_dropout_prob", "hidden_size", "num_hidden_layers", "vocab_size"):
        if name in config:
            rows.append((name, config[name]))
    return rows


__all__ = ["HYPERPARAMETERS", "epoch_facts", "hyperparameters"]
