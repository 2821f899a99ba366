"""The Trainer options that a Prix-LM run refuses, each as one usage error before any work.

`prixlm.training.arguments.parse_training_arguments` calls the `check_*` functions on the
parsed arguments (`parser.error`: one `error:` line, exit status 2); `trainer_option_refusal`
runs before the Trainer's own checks of its arguments, which raise tracebacks. A warm-up is
checked against the length of the run again when training begins (`WarmUpCheck`): with
`--num_train_epochs` the steps are known only then.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import HfArgumentParser, TrainerCallback, TrainingArguments

from prixlm.cli import UsageError
from prixlm.training.optimizer_settings import SCHEDULES_OF_EVALUATIONS, reads_warmup
from prixlm.training.optimizer_settings import setting_value as _value


def trainer_option_refusal(training: TrainingArguments) -> str | None:
    """Why a Trainer option cannot train Prix-LM (one line), or None. Called before the
    Trainer's checks of its arguments: `--load_best_model_at_end` without evaluations was a
    traceback there, the others one after the tokenizer's training."""
    no_evaluation = (
        "training runs no evaluation: link prediction is evaluated on every checkpoint "
        "instead, see --save_steps and --lp_eval_queries"
    )
    if _value(training.eval_strategy) != "no":
        return f"--eval_strategy {_value(training.eval_strategy)}: not supported ({no_evaluation})"
    schedule = _value(training.lr_scheduler_type)
    if schedule in SCHEDULES_OF_EVALUATIONS:
        return (
            f"--lr_scheduler_type {schedule}: not supported (it sets the learning rate from the "
            f"evaluation loss, and {no_evaluation}); use linear (the paper's), cosine or constant"
        )
    if training.eval_on_start:
        return f"--eval_on_start: not supported ({no_evaluation})"
    if training.load_best_model_at_end:
        return (
            "--load_best_model_at_end: not supported (it keeps the checkpoint of the best "
            f"evaluation, and {no_evaluation}; the release is the last step's model)"
        )
    for name in ("metric_for_best_model", "greater_is_better"):
        value = getattr(training, name)
        if value is not None:
            return (
                f"--{name} {value}: not supported (it chooses the checkpoint of the best "
                f"evaluation, and {no_evaluation}; the release is the last step's model)"
            )
    for name in ("gradient_checkpointing", "activation_checkpointing"):
        if getattr(training, name):
            return (
                f"--{name}: not supported (the Prix-LM model has no activation checkpointing); "
                "to use less memory, lower --per_device_train_batch_size and raise "
                "--gradient_accumulation_steps by the same factor"
            )
    return precision_refusal(training) or bf16_refusal(training)


def precision_refusal(training: TrainingArguments) -> str | None:
    """Why the precision options cannot go together or run here, or None (the Trainer's own
    checks raised tracebacks): `--fp16` with `--bf16`, and `--tf32 true` without a GPU that
    has TF32 (an Ampere or newer NVIDIA GPU)."""
    for fp16, bf16 in (("fp16", "bf16"), ("fp16_full_eval", "bf16_full_eval")):
        if getattr(training, fp16) and getattr(training, bf16):
            return (
                f"--{fp16} with --{bf16}: choose one (mixed precision in fp16 or in bf16, not both)"
            )
    if training.tf32:
        from transformers.utils import is_torch_tf32_available

        if not is_torch_tf32_available():
            where = "this GPU has none" if torch.cuda.is_available() else "no GPU here"
            return (
                f"--tf32 true: TF32 matrix multiplies run on an Ampere or newer NVIDIA GPU "
                f"({where}); leave --tf32 out"
            )
    return None


def bf16_refusal(training: TrainingArguments) -> str | None:
    """Why `--bf16` (or `--bf16_full_eval`) cannot run here, or None: without `--use_cpu`
    it needs a GPU with bf16 (the Trainer's own check raised a traceback); on the CPU it
    runs with `--use_cpu`. The `--fp16` counterpart is `check_precision`."""
    if not (training.bf16 or training.bf16_full_eval) or training.use_cpu:
        return None
    from transformers.utils import is_torch_bf16_gpu_available, is_torch_xla_available

    if is_torch_bf16_gpu_available() or is_torch_xla_available():
        return None
    option = "--bf16" if training.bf16 else "--bf16_full_eval"
    if torch.cuda.is_available():
        return (
            f"{option}: this GPU has no bf16 (an Ampere or newer GPU runs it); use --fp16, or "
            f"{option} --use_cpu to train on the CPU"
        )
    return (
        f"{option}: no GPU here (bf16 mixed precision runs on a GPU, or on the CPU with "
        f"--use_cpu); use {option} --use_cpu, which runs on the CPU"
    )


def check_step_counts(training: TrainingArguments, parser: HfArgumentParser) -> None:
    """A usage error for a step count or batch size the run cannot use (`--max_steps 0` was
    a release trained 1 step; a batch of 0 facts, a traceback after the tokenizer's training;
    a warm-up as long as the run, a release that never reached the learning rate, or with
    `--max_steps 1` equal to the initial weights: the one update had learning rate 0)."""
    if training.max_steps == 0 or training.max_steps < -1:
        parser.error(
            f"--max_steps {training.max_steps}: at least 1 (or -1: --num_train_epochs decides)"
        )
    for name in ("per_device_train_batch_size", "gradient_accumulation_steps"):
        if getattr(training, name) < 1:
            parser.error(f"--{name} {getattr(training, name)}: at least 1")
    if training.max_steps == -1 and training.num_train_epochs <= 0:
        parser.error(
            f"--num_train_epochs {training.num_train_epochs}: more than 0 (without --max_steps)"
        )
    if training.max_steps > 0:  # with --num_train_epochs: `WarmUpCheck`, when training begins
        refusal = warmup_refusal(training, training.max_steps)
        if refusal:
            parser.error(refusal)


def check_optimizer_settings(training: TrainingArguments, parser: HfArgumentParser) -> None:
    """A usage error for an optimizer or schedule value that the Trainer refuses only when
    training begins, after the tokenizer's training and the facts' tokenisation, with a
    traceback: a negative `--learning_rate` or `--adam_epsilon`, an Adam beta outside
    [0, 1), `--lr_scheduler_type cosine_with_min_lr` or `warmup_stable_decay` without their
    `--lr_scheduler_kwargs`, a keyword the schedule does not take; and a negative
    `--weight_decay` (trained with: the weights grew). Both are built here on one dummy
    parameter; an optimizer outside torch.optim (it may need other packages or the model)
    is left to the Trainer."""
    from transformers import Trainer, get_scheduler

    parameter = torch.nn.Parameter(torch.zeros(1))
    optim = f"--optim {_value(training.optim)}"
    if training.weight_decay < 0:
        parser.error(f"--weight_decay {training.weight_decay:g}: at least 0")
    try:
        optimizer_class, settings = Trainer.get_optimizer_cls_and_kwargs(training)
    except Exception:  # noqa: BLE001 - a package or the model it needs: the Trainer says
        optimizer_class = None
    if optimizer_class is not None and optimizer_class.__module__.startswith("torch.optim"):
        try:
            optimizer_class([parameter], **settings)
        except (ValueError, TypeError) as error:
            parser.error(f"{optim}: {error} (--learning_rate, --adam_beta1, --adam_beta2, "
                         "--adam_epsilon, --optim_args)")  # fmt: skip
    steps = training.max_steps if training.max_steps > 0 else 1_000_000  # epochs: not known yet
    schedule = _value(training.lr_scheduler_type)
    try:
        get_scheduler(
            schedule,
            torch.optim.SGD([parameter], lr=max(training.learning_rate, 0.0)),
            num_warmup_steps=training.get_warmup_steps(steps),
            num_training_steps=steps,
            scheduler_specific_kwargs=training.lr_scheduler_kwargs,
        )
    except (ValueError, TypeError) as error:
        kwargs = json.dumps(training.lr_scheduler_kwargs or {})
        parser.error(
            f"--lr_scheduler_type {schedule} with --lr_scheduler_kwargs '{kwargs}': {error}"
        )


def warmup_refusal(training: TrainingArguments, steps: int) -> str | None:
    """Why a warm-up cannot train a run of `steps` updates (one line), or None: a warm-up
    as long as the run never reaches the learning rate, and with one update the release is
    the initial weights (its update had learning rate 0). Schedules that read no warm-up
    (`prixlm.training.optimizer_settings.reads_warmup`) pass."""
    if not reads_warmup(training.lr_scheduler_type):
        return None
    warmup = training.get_warmup_steps(steps)  # as the Trainer's schedule
    if warmup < steps:
        return None
    if training.max_steps > 0:
        run, longer = f"--max_steps {training.max_steps}", " or raise --max_steps"
    else:
        run = f"{steps} update(s) of --num_train_epochs {training.num_train_epochs:g}"
        longer = (
            ", raise --num_train_epochs, or lower --per_device_train_batch_size or "
            "--gradient_accumulation_steps (more updates per epoch)"
        )
    return (
        f"--warmup_steps {training.warmup_steps:g}: a warm-up of {warmup} step(s) covers all "
        f"{run} (the first update has learning rate 0 and the run never reaches "
        f"--learning_rate); lower --warmup_steps (0: none){longer}"
    )


class WarmUpCheck(TrainerCallback):
    """`UsageError` (`warmup_refusal`) when training begins, once the Trainer knows the run's
    updates (`state.max_steps`, from `--num_train_epochs`, the facts and the batch), before
    any step: an epoch-based run whose warm-up covered every update exited 0 and released
    weights that never reached the learning rate (with one update, the initial weights)."""

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        refusal = warmup_refusal(args, state.max_steps)
        if refusal:
            raise UsageError(refusal)


def check_checkpointing(training: TrainingArguments, parser: HfArgumentParser) -> None:
    """A usage error for checkpoints that would never be written or could not be resumed."""
    if _value(training.save_strategy) == "best":
        parser.error(
            "--save_strategy best: not supported (it saves after an evaluation that improves, "
            "and training runs none); use steps or epoch"
        )
    if training.save_only_model:
        parser.error(
            "--save_only_model true: not supported (checkpoints without the optimizer's, the "
            "schedule's and the random state cannot be resumed; the release folder already "
            "holds the model alone)"
        )


#: Trainer options of its evaluation loop, which a Prix-LM run never enters.
EVALUATION_OPTIONS = (
    "do_eval",
    "eval_steps",
    "per_device_eval_batch_size",
    "eval_delay",
    "eval_accumulation_steps",
    "prediction_loss_only",
)


def check_data_options(data: Any, parser: HfArgumentParser, argv: Sequence[str]) -> None:
    """A usage error for a value of the data options the run cannot use: `--tokenize_num_proc`
    and `--lp_eval_beams` below 1 (a beam of 0 was a traceback at the first checkpoint
    evaluation, after the tokenizer's training), `--lp_eval_queries` below 0 (-5 meant "off"
    and was recorded as -5). Then a warning line on stderr for the checkpoint curve on the
    test split, and one for the evaluation options given in `argv` (`EVALUATION_OPTIONS`:
    training runs no evaluation loop, they change nothing)."""
    if data.tokenize_num_proc is not None and data.tokenize_num_proc < 1:
        parser.error(f"--tokenize_num_proc {data.tokenize_num_proc}: at least 1")
    if data.lp_eval_beams < 1:
        parser.error(f"--lp_eval_beams {data.lp_eval_beams}: at least 1 (the beam size K)")
    if data.lp_eval_queries < 0:
        parser.error(
            f"--lp_eval_queries {data.lp_eval_queries}: at least 0 (0: no link prediction "
            "at the checkpoints)"
        )
    if data.lp_eval_queries > 0 and data.lp_eval_split == "test":
        print(
            "warning: --lp_eval_split test: the checkpoint link prediction curve is taken on "
            "test facts, whose numbers are then no longer a held-out measure for choosing "
            "settings or steps; validation is the split for that",
            file=sys.stderr,
        )
    given = [f"--{name}" for name in EVALUATION_OPTIONS if option_given(name, argv)]
    if given:
        print(
            f"warning: {', '.join(given)}: no effect (training runs no evaluation loop: link "
            "prediction is evaluated on every checkpoint instead, see --save_steps and "
            "--lp_eval_queries)",
            file=sys.stderr,
        )


def check_output_outside_dataset(data: Any, training: Any, parser: HfArgumentParser) -> None:
    """A usage error for an `--output_dir` that is the local `--dataset` folder or inside
    it: the run's checkpoints and release went into the build, which a rebuild keeps (as
    any entry it does not own) and `prixlm.publish` then refused as "a training run's
    output_dir"."""
    dataset = Path(data.dataset).expanduser()
    if not dataset.is_dir():  # a Hub id: nothing local to write into
        return
    folder, output = dataset.resolve(), Path(training.output_dir).expanduser().resolve()
    if output == folder or folder in output.parents:
        parser.error(
            f"--output_dir {training.output_dir}: inside --dataset {data.dataset} (the run's "
            "checkpoints and release would be written into the dataset build); choose a "
            "folder outside it"
        )


def check_hub_options(
    training: TrainingArguments, parser: HfArgumentParser, argv: Sequence[str]
) -> None:
    """A usage error for `--hub_strategy` other than `end`, given in `argv`: `--push_to_hub`
    uploads the release folder once, when it is complete (`prixlm.publish`), and the
    Trainer never pushes, so `every_save`, `checkpoint` (the last checkpoint, to resume on
    another machine) and `all_checkpoints` uploaded nothing during the run, without a word.
    A warning for `--hub_always_push` (one upload: no effect). A usage error for
    `--push_to_hub` under HF_HUB_OFFLINE: the upload after the whole training would fail."""
    from huggingface_hub import constants

    if training.push_to_hub and constants.HF_HUB_OFFLINE:
        parser.error(
            "--push_to_hub: HF_HUB_OFFLINE is set, so the upload after training would fail; "
            "unset it, or train without --push_to_hub and upload the release later "
            "(python -m prixlm.publish <output_dir>/model REPO_ID)"
        )
    strategy = _value(training.hub_strategy)
    if option_given("hub_strategy", argv) and strategy != "end":
        parser.error(
            f"--hub_strategy {strategy}: not supported (--push_to_hub uploads the release "
            "folder once, when training has written it, never a checkpoint: they hold the "
            "optimizer state and pickles); leave --hub_strategy out, or use end"
        )
    if option_given("hub_always_push", argv):
        print(
            "warning: --hub_always_push: no effect (--push_to_hub uploads once, at the end)",
            file=sys.stderr,
        )


def option_given(name: str, argv: Sequence[str]) -> bool:
    """Whether the option `--name` (or `--name-with-dashes`) is on the command line `argv`."""
    spellings = {f"--{name}", f"--{name.replace('_', '-')}"}
    return any(item.partition("=")[0] in spellings for item in argv)


def check_autocast_residual(
    model: Any, training: TrainingArguments, parser: HfArgumentParser
) -> None:
    """A usage error for `--autocast_residual` without mixed precision (`--bf16` or
    `--fp16`): it keeps the hidden states in the autocast dtype, and without autocast it
    changed nothing while the run's records said it was on."""
    if model.autocast_residual and not (training.bf16 or training.fp16):
        parser.error(
            "--autocast_residual: only with --bf16 (it keeps the hidden states between layers "
            "in the autocast dtype; without mixed precision it changes nothing)"
        )


def check_dataset_id(data: Any, parser: HfArgumentParser) -> None:
    """A usage error for a `--dataset_id` that is not a Hub repo id (a folder path, a name
    with spaces): the model card names it as a Hub dataset, a link."""
    if data.dataset_id is None:
        return
    from prixlm.hub.calls import check_repo_id

    try:
        check_repo_id(data.dataset_id, "--dataset_id")
    except UsageError as error:
        parser.error(str(error))


def check_precision(training: TrainingArguments, parser: HfArgumentParser) -> None:
    """A usage error for `--fp16` on the CPU: accelerate turns fp16 mixed precision on only
    off the CPU, so the run would train in fp32 while its records say fp16. (`--bf16`
    without a GPU is refused earlier, by `bf16_refusal`: the Trainer's arguments refuse it
    when they are built.)"""
    if training.fp16 and training.device.type == "cpu":
        bf16 = "--bf16" if training.use_cpu else "--bf16 --use_cpu"
        parser.error(
            "--fp16: not on the CPU (fp16 mixed precision runs on a GPU only: this run would "
            f"train in fp32 while its records say fp16); use {bf16}, which runs on the CPU"
        )


__all__ = [
    "option_given",
    "EVALUATION_OPTIONS",
    "WarmUpCheck",
    "bf16_refusal",
    "check_autocast_residual",
    "check_checkpointing",
    "check_data_options",
    "check_dataset_id",
    "check_hub_options",
    "check_optimizer_settings",
    "check_precision",
    "check_step_counts",
    "precision_refusal",
    "trainer_option_refusal",
    "warmup_refusal",
]
