"""The arguments of a Prix-LM training run: the model, the data and the Trainer's settings.

`train.py` parses them from the command line (`parse_training_arguments`); code that trains
builds a `TrainingRun` and calls `prixlm.training.pretrain.pretrain`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from transformers import HfArgumentParser, TrainingArguments

from modeling_prixlm.configuration_prixlm import OBJECT_ATTENTION_MODES
from modeling_prixlm.formatting import MAX_FACT_LENGTH
from prixlm.cli import UsageError, renamed_options
from prixlm.training.help_format import TrainingHelpFormatter
from prixlm.training.option_checks import (
    check_autocast_residual,
    check_checkpointing,
    check_data_options,
    check_dataset_id,
    check_hub_options,
    check_optimizer_settings,
    check_output_outside_dataset,
    check_precision,
    check_step_counts,
    trainer_option_refusal,
)
from prixlm.training.starting_point import (
    CONTINUE_RELEASE_HELP,
    TRAINING_OBJECT_ATTENTION,
    check_base_model,
    check_starting_point_options,
    object_attention_refusal,
)


@dataclass
class ModelArguments:
    base_model: str | None = field(
        default=None,
        metadata={
            "help": "XLM-R checkpoint or a Prix-LM release (Hub id or folder) to continue "
            "training; none: train from scratch"
        },
    )
    tokenizer_dir: str | None = field(
        default=None,
        metadata={
            "help": "from scratch: an existing tokenizer folder; none: train one on the data. "
            "A Prix-LM release folder's model code (its *.py files) is run to read it, as "
            "transformers' trust_remote_code=True; no other folder's code is"
        },
    )
    tokenizer_vocab_size: int = field(
        default=8000,
        metadata={
            "help": "vocabulary of the tokenizer trained on the data (not with --tokenizer_dir "
            "or --base_model)"
        },
    )
    hidden_size: int = field(
        default=256,
        metadata={"help": "hidden size of a model from scratch (not with --base_model)"},
    )
    num_hidden_layers: int = field(
        default=4, metadata={"help": "layers of a model from scratch (not with --base_model)"}
    )
    num_attention_heads: int = field(
        default=4,
        metadata={"help": "attention heads of a model from scratch (not with --base_model)"},
    )
    intermediate_size: int = field(
        default=1024,
        metadata={"help": "feed-forward size of a model from scratch (not with --base_model)"},
    )
    dropout: float = field(
        default=0.1,
        metadata={
            "help": "dropout on all layers and attention weights (replaces a --base_model's)"
        },
    )
    object_attention: str = field(
        default="prefix_bidirectional",
        metadata={
            "help": "the mask trained with: prefix_bidirectional (the paper's) or causal; "
            "bidirectional is refused (an inference mode of the official checkpoint: every "
            "object token would see itself). With a Prix-LM release as --base_model, the "
            "release's own mask unless given; otherwise",
            "choices": OBJECT_ATTENTION_MODES,
        },
    )
    autocast_residual: bool = field(
        default=False,
        metadata={
            "help": "with --bf16: keep the hidden states between layers in bf16 (autocast keeps "
            "them fp32): less memory traffic per step, not exact (the stream is rounded to bf16)"
        },
    )
    new_token_init: str = field(
        default="random",
        metadata={
            "help": "with --base_model: the rows of the tokens it lacks ([S] [P] [O] [EOS], "
            "language tokens) start at random, LM-head bias 0 (random, the paper's) or around "
            "the mean of its rows (mean, transformers' default for new tokens)",
            "choices": ["random", "mean"],
        },
    )
    vocab_padding_multiple: int = field(
        default=64,
        metadata={
            "help": "embedding and LM head rows rounded up to this multiple (GPU-friendly; the "
            "extra rows never get probability); 1: no padding"
        },
    )

    def __post_init__(self) -> None:
        if self.object_attention not in TRAINING_OBJECT_ATTENTION:
            raise UsageError(object_attention_refusal(self.object_attention))


@dataclass
class DataArguments:
    dataset: str = field(
        metadata={
            "help": "dataset folder written by prixlm.data.dbpedia.build, or a Hub id "
            "(old spelling: --dataset_dir)"
        }
    )
    languages: str = field(default="all", metadata={"help": "comma-separated codes, or all"})
    variant: str = field(
        default="all",
        metadata={
            "help": "all: triples + links | single: one language's triples",
            "choices": ("all", "single"),
        },
    )
    links: bool = field(
        default=True,
        metadata={
            "help": "variant all: add the links between the languages (--links false: the "
            "ablation that trains on the languages' triples alone)"
        },
    )
    max_fact_length: int = field(
        default=MAX_FACT_LENGTH,
        metadata={
            "help": "drop facts of this many tokens or more (a model built here gets positions "
            "for twice as many; with --base_model, at most one more than its positions); 0 "
            "keeps all (refused where a fact is longer than the model's positions: 510 tokens "
            "built here)"
        },
    )
    tokenize_num_proc: int | None = field(
        default=None,
        metadata={"help": "processes that tokenise the training facts (batched); none: this one"},
    )
    packing: bool = field(
        default=True,
        metadata={
            "help": "pack several facts per row (each attends only to itself: same loss and "
            "gradients as one fact per row, less padding)"
        },
    )
    pack_length: int = field(
        default=64,
        metadata={
            "help": "tokens per packed row (longer facts get their own row); 64 suits CPUs, "
            "128 GPUs (less padding; attention over longer rows costs a GPU little)"
        },
    )
    static_shapes: bool = field(
        default=False,
        metadata={
            "help": "pad every batch to one shape (packed rows and labelled positions sized from "
            "the data, or --pad_rows_to / --pad_labels_to): --torch_compile needs no dynamic "
            "shapes and CUDA graphs work (--torch_compile_mode reduce-overhead); a rare larger "
            "batch gets a larger shape, with a warning"
        },
    )
    pad_rows_to: int | None = field(
        default=None,
        metadata={"help": "with --static_shapes: rows per batch (default: sized from the data)"},
    )
    pad_labels_to: int | None = field(
        default=None,
        metadata={
            "help": "with --static_shapes: labelled positions per batch (default: from the data)"
        },
    )
    lp_eval_queries: int = field(
        default=100, metadata={"help": "validation queries per language for checkpoint LP; 0 off"}
    )
    lp_eval_beams: int = field(default=10, metadata={"help": "beam size K of checkpoint LP"})
    lp_eval_split: str = field(
        default="validation", metadata={"help": "split sampled for checkpoint LP"}
    )
    dataset_id: str | None = field(
        default=None,
        metadata={
            "help": "Hub id of the dataset, for the model card (default: --dataset if it is "
            "one; old spelling: --dataset_hub_id)"
        },
    )


@dataclass
class PrixLMTrainingArguments(TrainingArguments):
    """`TrainingArguments` with the paper's defaults."""

    output_dir: str = field(
        default="runs/prixlm",
        metadata={
            "help": "the run's folder: checkpoints, curves and the release in <output_dir>/model"
        },
    )
    learning_rate: float = field(
        default=5e-5, metadata={"help": "peak learning rate (the paper's)"}
    )
    adam_beta1: float = field(default=0.9, metadata={"help": "Adam beta1 (the paper's)"})
    adam_beta2: float = field(default=0.98, metadata={"help": "Adam beta2 (the paper's)"})
    warmup_steps: float = field(
        default=0.06,
        metadata={
            "help": "linear warm-up: steps, or below 1 a share of all steps (the paper's 6%%)"
        },
    )
    lr_scheduler_type: str = field(
        default="linear",
        metadata={"help": "learning rate schedule after the warm-up (the paper's linear decay)"},
    )
    num_train_epochs: float = field(
        default=5.0, metadata={"help": "epochs over the training facts (the paper's)"}
    )
    per_device_train_batch_size: int = field(
        default=32,
        metadata={
            "help": "facts per process (one device each) and step (32 x 32 accumulation "
            "steps = the paper's 1,024 facts per update in one process; with N processes, "
            "each adds its own: N x 1,024)"
        },
    )
    gradient_accumulation_steps: int = field(
        default=32,
        metadata={
            "help": "steps whose gradients make one update, in each process (the paper's 32: "
            "32 x 32 = 1,024 facts per update in one process; with N processes, divide it by N "
            "for the paper's batch)"
        },
    )
    remove_unused_columns: bool = field(
        default=False,
        metadata={
            "help": "let the Trainer drop the columns that the model's forward does not name "
            "(off: the collator gets every column)"
        },
    )
    save_strategy: str = field(
        default="steps", metadata={"help": "when to save checkpoints: no | steps | epoch"}
    )
    save_steps: float = field(
        default=5000,
        metadata={
            "help": "save a checkpoint (and evaluate LP on it) every this many steps "
            "(below 1: a share of all steps)"
        },
    )
    save_total_limit: int | None = field(
        default=3, metadata={"help": "checkpoints kept (older ones deleted)"}
    )
    logging_steps: float = field(
        default=50, metadata={"help": "log the loss every this many steps"}
    )
    report_to: str | None = field(
        default="tensorboard",
        metadata={"help": "where the logs go: tensorboard, wandb, ..., all or none"},
    )
    dataloader_drop_last: bool = field(
        default=False, metadata={"help": "drop the last incomplete batch of an epoch"}
    )
    # No host sync per step: the Trainer's NaN filter reads every step's loss on the host,
    # and a blocking copy of each batch waits for the previous step to finish.
    push_to_hub: bool = field(
        default=False,
        metadata={
            "help": "upload the release folder <output_dir>/model once it is complete, after "
            "training (to --hub_model_id, else the run folder's name); checkpoints are never "
            "uploaded"
        },
    )
    logging_nan_inf_filter: bool = field(
        default=False,
        metadata={
            "help": "leave NaN and Inf losses out of the logs (off: it reads every step's loss "
            "on the host, a sync per step)"
        },
    )
    resume_from_checkpoint: str | None = field(
        default=None,
        metadata={
            "help": "true: go on from the last checkpoint in --output_dir (none there: start "
            "the run); or a checkpoint folder's path; none: a new run (refused where "
            "--output_dir holds an earlier run's checkpoints or release)"
        },
    )
    accelerator_config: dict | str | None = field(
        default_factory=lambda: {"non_blocking": True},
        metadata={
            "help": "accelerate's settings (JSON); non_blocking: batches copied to the "
            "GPU without waiting for the step before"
        },
    )

    def __post_init__(self) -> None:
        refusal = trainer_option_refusal(self)  # before the Trainer's checks (tracebacks)
        if refusal:
            raise UsageError(refusal)
        try:
            super().__post_init__()
        except ValueError as error:  # the Trainer's check of a value (`--warmup_steps -1`)
            raise UsageError(str(error)) from error


@dataclass
class TrainingRun:
    """Everything one training run needs: `pretrain(run)` trains and writes the release."""

    model: ModelArguments
    data: DataArguments
    training: PrixLMTrainingArguments


def run_as_trained(run: TrainingRun, links: bool) -> TrainingRun:
    """`run` with `links` as its facts have them (`prixlm.training.data.training_rows`): what
    `train_results.json` and the run record compared on resume hold, not `--links` as given
    (`--variant single`, one language or a dataset without links trains none)."""
    return replace(run, data=replace(run.data, links=links))


def demo_training_argv(
    dataset_dir: str | Path, run_dir: str | Path, languages: str, max_steps: int
) -> list[str]:
    """`train.py`'s command line for `make demo`'s recipe: a small model from scratch
    (hidden 192, 4 layers, a 6,000-piece tokenizer), learning rate 1e-3, 6% warm-up, batch 64,
    for `max_steps` (at least 1) steps; one step has no warm-up (its one update would have
    learning rate 0)."""
    if max_steps < 1:
        raise ValueError(f"--max_steps {max_steps}: at least 1")
    warmup = "0.06" if max_steps > 1 else "0"
    return [
        "--dataset", str(dataset_dir), "--languages", languages, "--variant", "all",
        "--output_dir", str(run_dir), "--hidden_size", "192", "--num_hidden_layers", "4",
        "--num_attention_heads", "4", "--intermediate_size", "768", "--tokenizer_vocab_size", "6000",
        "--learning_rate", "1e-3", "--warmup_steps", warmup, "--weight_decay", "0.01",
        "--per_device_train_batch_size", "64", "--gradient_accumulation_steps", "1",
        "--max_steps", str(max_steps), "--save_steps", str(max(1, max_steps // 4)),
        "--save_total_limit", "2", "--logging_steps", "25", "--lp_eval_queries", "60",
        "--lp_eval_beams", "10", "--seed", "0", "--report_to", "tensorboard",
        "--dataloader_num_workers", "0",
    ]  # fmt: skip


#: Old option spellings, accepted with a deprecation warning for one release.
RENAMED = {"--dataset_dir": "--dataset", "--dataset_hub_id": "--dataset_id"}


def parse_training_arguments(argv: Sequence[str] | None = None) -> TrainingRun:
    """`TrainingRun` from `train.py`'s command line (`--help` lists every option)."""
    arguments = (ModelArguments, DataArguments, PrixLMTrainingArguments)
    # no abbreviations: the checks read which options `argv` names (`option_given`), so
    # `--object_attent causal` gave way to a release's own mask, unsaid
    parser = HfArgumentParser(
        arguments,
        # not the ~150 options' generated usage (125 lines ahead of every `error:` line)
        usage="%(prog)s [options]  (--help lists them)",
        epilog=CONTINUE_RELEASE_HELP,
        allow_abbrev=False,
        formatter_class=TrainingHelpFormatter,
    )
    argv = renamed_options(argv, RENAMED)
    try:
        model, data, training, unknown = parser.parse_args_into_dataclasses(
            args=argv, return_remaining_strings=True
        )
    except UsageError as error:  # a value refused by the arguments' own check
        parser.error(str(error))
    if unknown:  # HfArgumentParser raised a ValueError (a traceback) for these
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    check_data_options(data, parser, argv)  # also warns of options without an effect here
    check_output_outside_dataset(data, training, parser)
    check_step_counts(training, parser)
    check_optimizer_settings(training, parser)
    check_checkpointing(training, parser)
    check_hub_options(training, parser, argv)
    check_precision(training, parser)
    check_autocast_residual(model, training, parser)
    check_base_model(model, parser, argv)
    check_starting_point_options(model, parser, argv)
    check_dataset_id(data, parser)
    if training.use_cpu or not torch.cuda.is_available():  # nothing to overlap a copy with
        training.dataloader_pin_memory = False  # (torch and transformers warned of both)
        training.accelerator_config.non_blocking = False
    if training.label_smoothing_factor:
        # the Trainer's smoother would compare each position with its own token (it shifts
        # the labels only for the causal LM classes transformers lists, not this one)
        parser.error(
            f"--label_smoothing_factor {training.label_smoothing_factor}: not supported "
            "(the loss is the object tokens' cross-entropy, unsmoothed)"
        )
    return TrainingRun(model, data, training)


__all__ = [
    "DataArguments",
    "ModelArguments",
    "PrixLMTrainingArguments",
    "TRAINING_OBJECT_ATTENTION",
    "TrainingRun",
    "demo_training_argv",
    "parse_training_arguments",
    "run_as_trained",
]
