"""Pretrain Prix-LM with the transformers Trainer (paper §3, "Training").

Defaults are the paper's: 5 epochs, Adam β=(0.9, 0.98), learning rate 5e-5, 6% warm-up then
linear decay, dropout 0.1, facts of 30 tokens or more dropped, global batch 1024
(32 per device × 32 accumulation steps). "Prix-LM (All)" trains on every language's
triples plus the links between them (`--variant all`); "Prix-LM (Single)" on one
language's triples (`--variant single --languages de`).

Run commands::

    # the embedded default: CLDR KB folder, tokenizer + small model from scratch
    python train.py --dataset_dir outputs/demo/dataset --languages en,de,fr \
        --output_dir outputs/demo/run --learning_rate 1e-3 --per_device_train_batch_size 64 \
        --gradient_accumulation_steps 1 --max_steps 1500 --save_steps 500
    # the paper: continue xlm-roberta-base on DBpedia (built with prixlm.data.dbpedia)
    python train.py --base_model xlm-roberta-base --dataset_dir dbpedia-prixlm --languages all \
        --output_dir runs/prixlm-all --bf16
    # data parallel on 2 CPU processes (this machine) or N GPUs; on CPUs use torchrun:
    # `accelerate launch --cpu --num_processes 2` starts ONE process in accelerate 1.15
    # (its multi-CPU path needs mpirun and a hostfile)
    torchrun --nproc_per_node 2 train.py ... --use_cpu
    accelerate launch --multi_gpu --num_processes 8 train.py ... --bf16 \
        --per_device_train_batch_size 128 --gradient_accumulation_steps 1   # 8 × 128 = 1024
    # several nodes: `accelerate config` on each node (machine rank, main address), then
    accelerate launch --config_file multi_node.yaml train.py ...
    # resume after a crash (same seed and arguments)
    python train.py ... --resume_from_checkpoint true

The release folder `<output_dir>/model` holds `model.safetensors`, the config with
`auto_map`, the custom code, the tokenizer with the added tokens, `generation_config.json`,
`training_args.json` and the metrics, and is self-contained (`prixlm.release.folder`): the
pipeline (`pipeline_prixlm.py`), `handler.py` and `candidates.json` (every entity label per
language of the dataset); `<output_dir>/lp_curve.png` is the paper's Fig. 2. The folder's
`README.md` is the model card rendered from its results (`prixlm.release.model_card`).
`--push_to_hub` (`--hub_model_id org/name`, `--hub_private_repo`) uploads that folder, once
complete, with `prixlm.publish`; the Trainer itself never pushes (it would send checkpoints,
optimizer state and pickles).
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import prixlm.threads  # noqa: F401 - first: sets OpenMP's wait policy before torch loads

# isort: split
from transformers import AutoTokenizer, HfArgumentParser, TrainingArguments, set_seed
from transformers.trainer_utils import get_last_checkpoint

from modeling_prixlm.formatting import MAX_FACT_LENGTH, add_prixlm_tokens, check_tokenizer_matches
from modeling_prixlm.modeling_prixlm import PrixLMForCausalKB
from prixlm.link_prediction.checkpoint_callback import LinkPredictionCallback
from prixlm.publish import publish_folder
from prixlm.release.folder import dataset_candidates, widget_examples
from prixlm.release.model_card import write_model_card
from prixlm.training.collator import PrixLMCollator
from prixlm.training.data import (
    load_split,
    load_training_rows,
    resolve_languages,
    tokenize_rows,
    tokenizer_training_texts,
)
from prixlm.training.model_factory import (
    build_prixlm,
    fact_generation_config,
    match_tokenizer_to_positions,
)
from prixlm.training.tokenizer_training import train_tokenizer
from prixlm.training.trainer import PrixLMTrainer


@dataclass
class ModelArguments:
    base_model: str | None = field(
        default=None,
        metadata={
            "help": "XLM-R checkpoint (name or folder) to continue; none: train from scratch"
        },
    )
    tokenizer_dir: str | None = field(
        default=None,
        metadata={
            "help": "from scratch: an existing tokenizer folder; none: train one on the data"
        },
    )
    tokenizer_vocab_size: int = field(
        default=8000, metadata={"help": "vocabulary of the tokenizer trained on the data"}
    )
    hidden_size: int = 256
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    intermediate_size: int = 1024
    dropout: float = field(
        default=0.1, metadata={"help": "dropout on all layers and attention weights"}
    )
    object_attention: str = field(
        default="prefix_bidirectional",
        metadata={"help": "prefix_bidirectional (paper) | causal | bidirectional"},
    )


@dataclass
class DataArguments:
    dataset_dir: str = field(metadata={"help": "folder written by prixlm.data.dbpedia.build"})
    languages: str = field(default="all", metadata={"help": "comma-separated codes, or all"})
    variant: str = field(
        default="all", metadata={"help": "all: triples + links | single: one language's triples"}
    )
    max_fact_length: int = field(
        default=MAX_FACT_LENGTH, metadata={"help": "drop facts this long or longer; 0 keeps all"}
    )
    tokenize_num_proc: int | None = field(
        default=None,
        metadata={"help": "processes that tokenise the training facts (batched); none: this one"},
    )
    lp_eval_queries: int = field(
        default=100, metadata={"help": "validation queries per language for checkpoint LP; 0 off"}
    )
    lp_eval_beams: int = field(default=10, metadata={"help": "beam size K of checkpoint LP"})
    lp_eval_split: str = field(
        default="validation", metadata={"help": "split sampled for checkpoint LP"}
    )
    dataset_hub_id: str | None = field(
        default=None,
        metadata={"help": "Hub id of the dataset, for the model card (default: the folder's name)"},
    )


@dataclass
class PrixLMTrainingArguments(TrainingArguments):
    """`TrainingArguments` with the paper's defaults."""

    output_dir: str = field(default="runs/prixlm")
    learning_rate: float = 5e-5
    adam_beta1: float = 0.9
    adam_beta2: float = 0.98
    warmup_steps: float = 0.06
    lr_scheduler_type: str = "linear"
    num_train_epochs: float = 5.0
    per_device_train_batch_size: int = 32
    gradient_accumulation_steps: int = 32
    group_by_length: bool = True
    remove_unused_columns: bool = False
    save_strategy: str = "steps"
    save_steps: float = 5000
    save_total_limit: int | None = 3
    logging_steps: float = 50
    report_to: str | None = "tensorboard"
    dataloader_drop_last: bool = False


def build_model_and_tokenizer(
    model_args: ModelArguments, data_args: DataArguments, languages: list[str], seed: int
):
    """XLM-R + Prix-LM tokens, or a fresh small model with a tokenizer trained on the data."""
    if model_args.base_model:
        model, tokenizer = PrixLMForCausalKB.from_xlm_roberta(
            model_args.base_model, languages, object_attention=model_args.object_attention
        )
        model.config.hidden_dropout_prob = model_args.dropout
        model.config.attention_probs_dropout_prob = model_args.dropout
        return model, tokenizer
    if model_args.tokenizer_dir:
        tokenizer = AutoTokenizer.from_pretrained(model_args.tokenizer_dir, trust_remote_code=True)
    else:
        texts = tokenizer_training_texts(data_args.dataset_dir, languages)
        tokenizer = train_tokenizer(texts, vocab_size=model_args.tokenizer_vocab_size)
    add_prixlm_tokens(tokenizer, languages)
    # Training facts are shorter than max_fact_length, but link prediction scores every
    # candidate entity after the prompt: leave room for twice that (+2: XLM-R's offset).
    longest = 2 * data_args.max_fact_length if data_args.max_fact_length else 510
    model = build_prixlm(
        tokenizer,
        seed=seed,
        hidden_size=model_args.hidden_size,
        num_hidden_layers=model_args.num_hidden_layers,
        num_attention_heads=model_args.num_attention_heads,
        intermediate_size=model_args.intermediate_size,
        max_position_embeddings=longest + 2,
        hidden_dropout_prob=model_args.dropout,
        attention_probs_dropout_prob=model_args.dropout,
        object_attention=model_args.object_attention,
    )
    return model, tokenizer


def lp_evaluator(
    tokenizer: Any, data_args: DataArguments, languages: list[str], seed: int
) -> Callable[[Any, str], dict[str, float]]:
    """(model, language) -> hits@1 and MRR@K on a fixed sample of `lp_eval_split` (filtered).

    Candidates are every entity label of the language (all splits), as in `prixlm.link_prediction.evaluate_lp`.
    """
    from prixlm.data.loading import load_kb
    from prixlm.link_prediction.evaluate_lp import candidate_labels, evaluate_link_prediction

    samples, candidates = {}, {}
    for language in languages:
        splits = load_kb(data_args.dataset_dir, language)
        rows = load_split(data_args.dataset_dir, language, data_args.lp_eval_split)
        sample_size = min(data_args.lp_eval_queries, len(rows))
        order = random.Random(seed).sample(range(len(rows)), sample_size)
        samples[language] = [rows[i] for i in sorted(order)]
        candidates[language] = candidate_labels(splits, language)

    def evaluate(model: Any, language: str) -> dict[str, float]:
        result = evaluate_link_prediction(
            model,
            tokenizer,
            samples[language],
            candidates[language],
            mode="beam",
            num_beams=data_args.lp_eval_beams,
        )
        mrr = next(value for key, value in result.items() if key.startswith("mrr"))
        return {"hits@1": result["hits@1"], "mrr": mrr}

    return evaluate


def main(argv: list[str] | None = None, extra_callbacks: list | None = None) -> Path:
    """Parse arguments, train, and write the release folder; returns its path."""
    parser = HfArgumentParser((ModelArguments, DataArguments, PrixLMTrainingArguments))
    model_args, data_args, training_args = parser.parse_args_into_dataclasses(args=argv)
    set_seed(training_args.seed)
    languages = resolve_languages(data_args.dataset_dir, data_args.languages)
    rows = load_training_rows(data_args.dataset_dir, languages, data_args.variant)
    model, tokenizer = build_model_and_tokenizer(
        model_args, data_args, languages, training_args.seed
    )
    check_tokenizer_matches(tokenizer, model.config)
    match_tokenizer_to_positions(tokenizer, model.config)  # saved with every checkpoint
    train_set = tokenize_rows(
        rows, tokenizer, data_args.max_fact_length or None, num_proc=data_args.tokenize_num_proc
    )
    model.generation_config = fact_generation_config(model.config)

    # --push_to_hub is ours: the Trainer would upload output_dir as it is (checkpoints with
    # optimizer state, training_args.bin, its generic card); we publish the release folder.
    push_to_hub, training_args.push_to_hub = training_args.push_to_hub, False
    callbacks = []
    if data_args.lp_eval_queries > 0:
        evaluate = lp_evaluator(tokenizer, data_args, languages, training_args.seed)
        callbacks.append(LinkPredictionCallback(evaluate, languages, training_args.output_dir))
    trainer = PrixLMTrainer(
        model=model,
        args=training_args,
        train_dataset=train_set,
        data_collator=PrixLMCollator(tokenizer.pad_token_id),
        processing_class=tokenizer,
        callbacks=callbacks + list(extra_callbacks or []),
    )
    for callback in callbacks:
        callback.trainer = trainer

    resume = training_args.resume_from_checkpoint
    if resume in ("true", "True", "last"):
        resume = get_last_checkpoint(training_args.output_dir)
        if resume is None:
            print(
                f"no checkpoint in {training_args.output_dir}: starting from scratch",
                file=sys.stderr,
            )
    if resume:
        print(f"resuming from {resume}", file=sys.stderr)
    result = trainer.train(resume_from_checkpoint=resume)
    metrics = {
        **result.metrics,
        "train_facts": len(train_set),
        "languages": languages,
        "variant": data_args.variant,
        "world_size": training_args.world_size,
        "checkpoint_link_prediction": callbacks[0].records if callbacks else [],
        "checkpoint_link_prediction_settings": {
            "dataset": data_args.dataset_hub_id or data_args.dataset_dir,
            "split": data_args.lp_eval_split,
            "queries_per_language": data_args.lp_eval_queries,
            "num_beams": data_args.lp_eval_beams,
        },
    }
    # Trainer.train() aligns generation_config.eos with the tokenizer's </s>; a fact ends at [EOS].
    trainer.model.generation_config = fact_generation_config(trainer.model.config)
    repo_id = training_args.hub_model_id or Path(training_args.output_dir).absolute().name
    curve = Path(training_args.output_dir) / "lp_curve.png"
    release_path = Path(training_args.output_dir) / "model"

    def write_card(folder: Path) -> None:
        """README.md from the folder's results + the Fig. 2 curve, before the folder appears."""
        card_rows = (  # a few rows per language for the card's widget examples
            row
            for language in languages
            for row in load_split(data_args.dataset_dir, language, "train").take(100)
        )
        write_model_card(
            folder,
            curve=curve if curve.is_file() else None,
            dataset_id=data_args.dataset_hub_id,
            base_model=model_args.base_model,
            widget=widget_examples(card_rows, languages),
            # named after the repo (or the run folder), not the staging folder it is written in
            model_name=repo_id.split("/")[-1],
            repo_id=repo_id if push_to_hub else str(release_path),
        )

    release = trainer.save_release(
        release_path,
        {"train_results.json": metrics},
        # the pipeline's candidates: every entity label per language (as evaluate_lp ranks)
        candidates=(
            dataset_candidates(data_args.dataset_dir, languages)
            if training_args.should_save
            else None
        ),
        finalize=write_card,
    )
    if trainer.is_world_process_zero():
        if push_to_hub:  # the complete release folder, nothing else (prixlm.publish)
            commit = publish_folder(
                release,
                repo_id,
                private=training_args.hub_private_repo,
                revision=training_args.hub_revision,
                token=training_args.hub_token,
            )
            print(f"published: {commit}")
        print(
            json.dumps(
                {k: v for k, v in metrics.items() if k != "checkpoint_link_prediction"}, indent=2
            )
        )
        print(f"release folder: {release}")
    return release


if __name__ == "__main__":
    main()
