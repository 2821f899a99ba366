"""The plain-text baseline: a masked LM of Prix-LM's architecture without the fact structure.

Our offline stand-in for the paper's XLM-R row: an `XLMRobertaForMaskedLM`
with the architecture of a trained Prix-LM folder (`xlmr_architecture` of its config:
layers, sizes, vocabulary, positions) and the same tokenizer, trained from scratch on the
same strings the KB model saw — every entity label of the languages' train splits and of the
links, one label per example, no relation, no pairing — with
`DataCollatorForLanguageModeling` (15% masking) and the Trainer. Pass the KB model's step
budget, batch and learning rate (`--max_steps`, `--batch_size`, `--learning_rate`); warm-up
(6% of the steps) and weight decay (0.01) are fixed at the demo recipe's values. The result
is a normal `AutoModelForMaskedLM` folder that `prixlm.similarity.embedder.load_embedder` and
Mirror tuning read.

    python -m prixlm.similarity.plain_mlm --reference outputs/similarity/kb/model \\
        --dataset outputs/similarity/dataset --languages en,fi,it,ru,tr \\
        --output_dir outputs/similarity/plain/model --max_steps 1000
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import prixlm.threads  # noqa: F401 - first: sets OpenMP's wait policy before torch loads

# isort: split
import torch
from transformers import (
    AutoTokenizer,
    DataCollatorForLanguageModeling,
    Trainer,
    TrainingArguments,
    XLMRobertaConfig,
    XLMRobertaForMaskedLM,
    set_seed,
)

from modeling_prixlm.configuration_prixlm import xlmr_architecture
from prixlm.cli import command_parser, renamed_options, user_errors
from prixlm.data.loading import local_data_files
from prixlm.model_loading import MODEL_CODE_HELP


def kb_label_texts(dataset_dir: str | Path, languages: Sequence[str]) -> list[str]:
    """Sorted distinct entity labels of the languages' train triples and of the links."""
    from prixlm.data.loading import load_kb
    from prixlm.training.encoding_cache import encoding_cache_errors

    labels: set[str] = set()
    configs = list(languages) + ["links"]
    for config in configs:
        train = load_kb(dataset_dir, config, "train")
        with encoding_cache_errors(train):  # `filter` writes its indices as a map does
            rows = train.filter(
                lambda row: (
                    row["subject_language"] in languages and row["object_language"] in languages
                )
            )
        labels.update(rows["subject"])
        labels.update(rows["object"])
    return sorted(label for label in labels if label)


def plain_masked_lm(reference_dir: str | Path, seed: int = 0) -> tuple[Any, Any]:
    """`(XLMRobertaForMaskedLM, tokenizer)`: fresh weights of the reference's architecture."""
    from transformers import AutoConfig

    from prixlm.model_loading import is_prixlm

    trusted = is_prixlm(reference_dir)  # a Prix-LM's code only
    reference = AutoConfig.from_pretrained(reference_dir, trust_remote_code=trusted)
    tokenizer = AutoTokenizer.from_pretrained(reference_dir, trust_remote_code=trusted)
    config = XLMRobertaConfig(**xlmr_architecture(reference))
    config.pad_token_id = tokenizer.pad_token_id
    torch.manual_seed(seed)
    return XLMRobertaForMaskedLM(config), tokenizer


def train_plain_mlm(
    reference_dir: str | Path,
    texts: Sequence[str],
    output_dir: str | Path,
    max_steps: int,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    warmup_ratio: float = 0.06,
    weight_decay: float = 0.01,
    seed: int = 0,
    mlm_probability: float = 0.15,
) -> Path:
    """Train the baseline on `texts` for `max_steps`; save the folder `output_dir` atomically
    (a full disk: an `OSError` naming it)."""
    from prixlm.outputs.atomic import atomic_folder, disk_errors

    if not texts:
        raise ValueError("no texts to train the plain masked LM on")
    if max_steps < 1:
        raise ValueError(f"max_steps={max_steps}: expected >= 1")
    set_seed(seed)
    model, tokenizer = plain_masked_lm(reference_dir, seed)
    budget = model.config.max_position_embeddings - model.config.pad_token_id - 1
    encoded = [
        {"input_ids": ids}
        for ids in tokenizer(list(texts), truncation=True, max_length=budget)["input_ids"]
    ]
    output_dir = Path(output_dir)
    work_dir = output_dir.with_name(f".{output_dir.name}.trainer")
    arguments = TrainingArguments(
        output_dir=str(work_dir),
        per_device_train_batch_size=batch_size,
        learning_rate=learning_rate,
        warmup_steps=warmup_ratio,
        weight_decay=weight_decay,
        adam_beta2=0.98,
        max_steps=max_steps,
        save_strategy="no",
        logging_steps=25,
        report_to=[],
        dataloader_num_workers=0,
        seed=seed,
        use_cpu=not torch.cuda.is_available(),
        disable_tqdm=True,
    )
    collator = DataCollatorForLanguageModeling(
        tokenizer, mlm_probability=mlm_probability, seed=seed
    )
    trainer = Trainer(model=model, args=arguments, train_dataset=encoded, data_collator=collator)
    try:  # the Trainer's scratch folder goes also when training or saving fails
        result = trainer.train()
        model.eval()
        with atomic_folder(output_dir, argument="--output_dir") as staging:
            with disk_errors(output_dir, "--output_dir"):  # a full disk: named
                model.save_pretrained(staging)
                tokenizer.save_pretrained(staging)
            (staging / "train_loss.txt").write_text(f"{result.training_loss}\n", encoding="utf-8")
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)  # the Trainer's scratch (no checkpoints)
    return output_dir


def main(argv: list[str] | None = None) -> Path:
    parser = command_parser("prixlm.similarity.plain_mlm", __doc__)
    parser.add_argument(
        "--reference",
        required=True,
        help=f"the KB model folder (architecture, tokenizer); {MODEL_CODE_HELP}",
    )
    parser.add_argument("--dataset", required=True, type=Path, help="the KB build folder")
    parser.add_argument("--languages", required=True, help="comma-separated language codes")
    parser.add_argument(
        "--output_dir", required=True, type=Path, help="the masked LM folder to write"
    )
    parser.add_argument(
        "--max_steps", type=int, required=True, help="training steps (the KB model's), at least 1"
    )
    parser.add_argument(
        "--batch_size", type=int, default=64, help="texts per step (the KB model's batch)"
    )
    parser.add_argument(
        "--learning_rate", type=float, default=1e-3, help="peak learning rate (the KB model's)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and masking")
    args = parser.parse_args(renamed_options(argv, {"--output": "--output_dir"}))
    for name in ("max_steps", "batch_size"):  # found before the labels are read
        if getattr(args, name) < 1:
            parser.error(f"--{name} {getattr(args, name)}: at least 1")
    with user_errors(ValueError):  # a language the dataset lacks: one line, exit 2
        languages = args.languages.split(",")
        for language in languages if args.dataset.is_dir() else ():  # checked before reading
            local_data_files(args.dataset, language, "--dataset")
        texts = kb_label_texts(args.dataset, languages)
    with user_errors():  # a full disk, a folder being written by another process: one line
        return train_plain_mlm(
            args.reference,
            texts,
            args.output_dir,
            args.max_steps,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            seed=args.seed,
        )


if __name__ == "__main__":
    main()
