"""The training paths that `bench_gpu_train.py` compares: for each, its model, collator,
Trainer class and `TrainingArguments` (the docstring of `bench_gpu_train.py` describes them).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from gpu_train_callbacks import WithKeys, WithoutKeys
from gpu_train_facts import BOS, EOS, LANGUAGES, PAD, Shape, fact_token_ids
from transformers import Trainer, TrainingArguments, XLMRobertaConfig, XLMRobertaForCausalLM

from modeling_prixlm.configuration_prixlm import PrixLMConfig
from modeling_prixlm.modeling_prixlm import PrixLMForCausalKB
from prixlm.training.arguments import PrixLMTrainingArguments
from prixlm.training.collator import PrixLMCollator, static_batch_shape
from prixlm.training.trainer import PrixLMTrainer


@dataclass(frozen=True)
class FastVariant:
    """How an `after*` path differs from `train.py`'s defaults."""

    static_shapes: bool = False
    compile_mode: str | None = None  # --torch_compile_mode
    fused_cross_entropy: bool = True
    autocast_residual: bool = False  # --autocast_residual (not exact)


FAST_VARIANTS = {
    "after": FastVariant(),
    "after_static": FastVariant(static_shapes=True),
    "after_static_cudagraphs": FastVariant(static_shapes=True, compile_mode="reduce-overhead"),
    "after_logits": FastVariant(fused_cross_entropy=False),
    "after_static_max_autotune": FastVariant(static_shapes=True, compile_mode="max-autotune"),
    "after_static_cudagraphs_bf16_residual": FastVariant(
        static_shapes=True, compile_mode="reduce-overhead", autocast_residual=True
    ),
}
#: Run by default, in this order (the previous path first, then the fast ones; the JSON is
#: written after each path, so a run cut short keeps the first ones). transformers' model
#: runs last: its full LM head took 98 GiB on an H200 and may not fit a smaller card.
DEFAULT_PATHS = ("before", "after", "after_static_cudagraphs", "after_static", "xlmr_causal_lm")
PATHS = (
    *DEFAULT_PATHS,
    "after_static_cudagraphs_bf16_residual",
    "before_grouped",
    "after_logits",
    "after_static_max_autotune",
)


def build_model(path: str, shape: Shape, vocab: int, device: torch.device) -> torch.nn.Module:
    common = dict(
        vocab_size=vocab,
        hidden_size=shape.hidden,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        intermediate_size=shape.ffn,
        max_position_embeddings=514,
        layer_norm_eps=1e-5,
        pad_token_id=PAD,
        bos_token_id=BOS,
        eos_token_id=EOS,
    )
    torch.manual_seed(0)
    with torch.device(device):
        if path == "xlmr_causal_lm":
            config = XLMRobertaConfig(**common, is_decoder=True)
            config._attn_implementation = "sdpa"
            return XLMRobertaForCausalLM(config)
        ids = fact_token_ids(shape.base_vocab)
        config = PrixLMConfig(
            **common,
            subject_token_id=ids["S"],
            predicate_token_id=ids["P"],
            object_token_id=ids["O"],
            end_of_object_token_id=ids["EOS"],
            language_token_ids={f"l{i}": ids["EOS"] + 1 + i for i in range(LANGUAGES)},
            vocab_padding_multiple=1 if path.startswith("before") else 64,
        )
        return PrixLMForCausalKB(config)


def build_collator(
    path: str, model_config: Any, pack_length: int, facts: list[dict], batch_size: int
) -> Any:
    if path == "xlmr_causal_lm":
        plain = PrixLMCollator(PAD, object_logits_only=False)
        return WithoutKeys(plain, ("object_logits_only",))
    if path.startswith("before"):
        return WithoutKeys(PrixLMCollator(PAD), ("label_positions", "label_targets"))
    variant = FAST_VARIANTS[path]
    collator = PrixLMCollator.for_model(model_config, packing=True, pack_length=pack_length)
    if variant.static_shapes:  # as train.py --static_shapes sizes them
        collator.pad_rows_to, collator.pad_labels_to = static_batch_shape(
            collator, facts, batch_size
        )
    if not variant.fused_cross_entropy:
        return WithKeys(collator, {"fused_cross_entropy": False})
    return collator


def sampling(grouped: bool) -> dict[str, Any]:
    """The Trainer's batch order: file order, or grouped by length (as the installed
    transformers spells it: `train_sampling_strategy` since 5.2x, `group_by_length` before)."""
    fields = TrainingArguments.__dataclass_fields__
    if "train_sampling_strategy" in fields:
        return {"train_sampling_strategy": "group_by_length" if grouped else "sequential"}
    return {"group_by_length": grouped}


def trainer_class(path: str) -> type[Trainer]:
    """`train.py`'s `PrixLMTrainer` for the fast paths, the plain `Trainer` for the others."""
    return PrixLMTrainer if path in FAST_VARIANTS else Trainer


def training_arguments(path: str, args: argparse.Namespace, cuda: bool) -> TrainingArguments:
    """The same run for every path (`args`: the command line of `bench_gpu_train.py`); the fast
    paths with `train.py`'s arguments, the others with those it had before."""
    settings = dict(
        output_dir=str(Path(args.work_dir) / path),
        per_device_train_batch_size=args.batch_size,
        gradient_accumulation_steps=1,
        max_steps=args.warmup + args.steps,
        optim="adamw_torch_fused" if cuda else "adamw_torch",
        bf16=cuda,
        use_cpu=not cuda,
        dataloader_num_workers=args.dataloader_workers,
        dataloader_drop_last=True,
        logging_steps=10_000,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=args.seed,
    )
    settings.update(sampling(path == "before_grouped"))
    variant = FAST_VARIANTS.get(path)
    if variant:  # train.py's arguments now (the paper's optimizer, no host syncs)
        return PrixLMTrainingArguments(
            **settings,
            torch_compile=args.compile,
            torch_compile_backend=args.compile_backend if args.compile else None,
            torch_compile_mode=variant.compile_mode if args.compile else None,
        )
    # train.py's arguments before: the Trainer's defaults for the host syncs
    return TrainingArguments(
        **settings,
        learning_rate=5e-5,
        adam_beta1=0.9,
        adam_beta2=0.98,
        lr_scheduler_type="linear",
        remove_unused_columns=False,
    )


__all__ = [
    "DEFAULT_PATHS",
    "FAST_VARIANTS",
    "PATHS",
    "FastVariant",
    "build_collator",
    "build_model",
    "sampling",
    "trainer_class",
    "training_arguments",
]
