"""Pretraining throughput through the Trainer: transformers' XLM-R causal LM, the previous
Prix-LM path and the fast path, same facts, same batches, one run.

Run (one H200, about 4 minutes)::

    python bench/bench_gpu_train.py --output results/bench_gpu_train.json
    # toy size on the CPU (seconds; a test runs it)
    python bench/bench_gpu_train.py --device cpu --tiny --output /tmp/bench.json

Every path is `transformers.Trainer.train()` with the optimizer settings of `train.py`
(AdamW β=(0.9, 0.98), lr 5e-5, linear schedule, gradient clipping 1.0; fused AdamW and bf16
autocast on a GPU), `max_steps` = warm-up + timed steps, one batch per step, the same
seed, the same facts in the same batches, in file order, for every path but
`before_grouped`:

- `xlmr_causal_lm`: `transformers.XLMRobertaForCausalLM` (is_decoder, sdpa attention), the
  full LM head over every position, batches padded to their longest fact;
- `before`: `PrixLMForCausalKB` as trained before the fast path: vocabulary not padded,
  LM head at the labelled positions picked by a boolean mask (host sync, data-dependent
  shape), inputs checked in the forward, rows padded to the longest fact, eager;
- `before_grouped`: the same with the Trainer's `group_by_length` (batches of facts of
  similar length: less padding), as `train.py` ran it by default;
- `after`: `train.py`'s fast path (its `TrainingArguments`, collator and `PrixLMTrainer`):
  vocabulary padded to a multiple of 64 (masked through the bias, exact), labelled rows
  padded to a multiple of 64 at static positions from the collator, the loss over them
  without keeping the logits (`linear_cross_entropy`), facts packed into rows of
  `--pack_length` tokens with a block-diagonal prefix-bidirectional mask, inputs checked in
  the collator, no host sync per step (no NaN filter, non-blocking batch copies),
  `torch.compile` (`--torch_compile`) with dynamic shapes;
- `after_static`: the same with `--static_shapes` (every batch padded to one number of
  rows and labelled positions, sized from 64 random batches as `train.py` does): compiled
  for one static shape;
- `after_static_cudagraphs`: the same with `--torch_compile_mode reduce-overhead` (CUDA
  graphs replay the compiled forward and backward);
- not run by default (`--paths`): `before_grouped` (the previous path with the Trainer's
  `group_by_length`), `after_logits` (`after` with the loss taken from the returned logits,
  `fused_cross_entropy=False`: the fast path before `linear_cross_entropy`),
  `after_static_max_autotune` (`--torch_compile_mode max-autotune`: minutes of autotuning),
  `after_static_cudagraphs_bf16_residual` (`after_static_cudagraphs` with
  `--autocast_residual`: hidden states between layers in bf16, not exact).

Model: XLM-R base's shape (hidden 768, 12 layers, 12 heads, FFN 3072, vocabulary
250,015 = XLM-R + 4 fact tokens + 9 language tokens) with random weights. Facts: synthetic
triples in Prix-LM's format (`<s> [S] s </s> </s> [P] p </s> </s> [O] o [EOS] </s>`),
random word pieces, lengths drawn to match the paper's languages after the length filter
(mean 19.0 tokens, 4.3 labelled positions: object + [EOS]; shorter than 30 tokens).

A step's time is the time between the ends of consecutive optimizer steps on the device
(CUDA events recorded at each step's end, no host synchronisation, as in `train.py`;
wall clock on the CPU): data loading, forward, backward, clipping and AdamW. Figures are
the median over `--steps` steps after `--warmup` (compilation happens in warm-up);
`window_facts_per_s` is the facts of the timed steps over their wall time, the device
synchronised only at both ends.
Useful MFU = 3 × forward FLOPs of the real work / step time / `--peak_tflops` (989: H200
dense bf16), the forward FLOPs counting the non-padding tokens through the layers
(2 × (4d² + 2·d·FFN) each), attention within each fact (2 × 2 × len² × d per layer) and
the LM head at the labelled positions only (2 × (d² + d·V)).

Writes `--output` (JSON) after each path; the last line printed is the speed-up of the
fast path (`after`, and the fastest `after*` path) over the previous one (and over
transformers' model).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import transformers  # noqa: E402
from gpu_train_callbacks import StepTimer, collator_speed  # noqa: E402
from gpu_train_facts import LANGUAGES, SHAPES, forward_flops, synthetic_facts  # noqa: E402
from gpu_train_paths import (  # noqa: E402
    DEFAULT_PATHS,
    FAST_VARIANTS,
    PATHS,
    build_collator,
    build_model,
    trainer_class,
    training_arguments,
)
from transformers import TrainerCallback  # noqa: E402

from modeling_prixlm.formatting import IGNORE_INDEX  # noqa: E402
from prixlm.training.collator import PrixLMCollator  # noqa: E402


def run_path(
    path: str,
    args: argparse.Namespace,
    facts: list[dict],
    device: torch.device,
    extra_callbacks: list[TrainerCallback] = (),
) -> dict:
    shape = SHAPES[args.size]
    vocab = shape.base_vocab + 4 + LANGUAGES
    model = build_model(path, shape, vocab, device)
    collator = build_collator(path, model.config, args.pack_length, facts, args.batch_size)
    cuda = device.type == "cuda"
    variant = FAST_VARIANTS.get(path)
    if variant and variant.autocast_residual:
        model.set_autocast_residual(True)
    training_args = training_arguments(path, args, cuda)
    timer = StepTimer(device, args.warmup)
    trainer = trainer_class(path)(
        model=model,
        args=training_args,
        train_dataset=facts,
        data_collator=collator,
        callbacks=[timer, *extra_callbacks],
    )
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    # rows, row length and labelled rows change from batch to batch: compile once for all,
    # with dynamic shapes (unless --static_first_compile); static shapes: one static graph
    dynamic = args.compile and not args.static_first_compile
    dynamic = dynamic and not (variant and variant.static_shapes)
    counters = torch._dynamo.utils.counters
    counters.clear()
    started = time.perf_counter()
    with torch._dynamo.config.patch(assume_static_by_default=not dynamic):
        trainer.train()
    total = time.perf_counter() - started
    graphs = int(counters["stats"]["unique_graphs"])
    step_times = timer.step_times()[args.warmup - 1 :]
    median = float(statistics.median(step_times))
    window = timer.window_end - timer.window_start
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if cuda else None
    sample = facts[: args.batch_size]  # a batch's length statistics (facts are i.i.d.)
    flops = forward_flops(sample, shape, vocab)
    batch = collator(sample)
    rows_tokens = batch["input_ids"].numel()
    tokens = sum(len(f["input_ids"]) for f in sample)
    result = {
        "facts_per_s": args.batch_size / median,
        "window_facts_per_s": args.batch_size * args.steps / window if window > 0 else None,
        "tokens_per_s": tokens / median,
        "useful_mfu": 3 * flops / median / (args.peak_tflops * 1e12),
        "step_ms_median": 1000 * median,
        "step_ms_min_max": [1000 * float(step_times.min()), 1000 * float(step_times.max())],
        "step_ms": [round(1000 * float(t), 2) for t in step_times],  # the timed steps, in order
        "peak_memory_gib": peak,
        # (of a file-order batch: a grouped batch has less)
        "padding_fraction": None if path == "before_grouped" else 1 - tokens / rows_tokens,
        "batch_shape": list(batch["input_ids"].shape),
        "collator_facts_per_s": collator_speed(collator, facts, args.batch_size),
        "wall_s_including_warmup": total,
        "compiled_graphs": graphs,
        "static_shape": [collator.pad_rows_to, collator.pad_labels_to]
        if isinstance(collator, PrixLMCollator) and collator.pad_rows_to
        else None,
    }
    del trainer, model
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    torch._dynamo.reset()
    return result


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, with `--tiny` and `--compile` resolved."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="toy size: --size tiny, batch 64")
    parser.add_argument("--size", choices=sorted(SHAPES), default="base")
    parser.add_argument("--batch_size", type=int, default=1024)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--pack_length", type=int, default=128)
    parser.add_argument(
        "--paths", default=",".join(DEFAULT_PATHS), help=f"some of {', '.join(PATHS)}"
    )
    parser.add_argument(
        "--compile",
        choices=("auto", "on", "off"),
        default="auto",
        help="torch.compile the fast path (auto: on a GPU only; inductor's CPU compile is minutes)",
    )
    parser.add_argument("--compile_backend", default="inductor", help="torch.compile backend")
    parser.add_argument(
        "--static_first_compile",
        action="store_true",
        help="let torch.compile specialise on the first batch's shapes and recompile for the "
        "next ones (the default in train.py); without it, one compile with dynamic shapes",
    )
    parser.add_argument("--dataloader_workers", type=int, default=2)
    parser.add_argument("--peak_tflops", type=float, default=989.0, help="H200 dense bf16")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work_dir", default="/tmp/bench_gpu_train")
    parser.add_argument("--output", default=None, help="JSON file")
    args = parser.parse_args(argv)
    if args.tiny:
        args.size, args.batch_size = "tiny", 64
        args.warmup, args.steps = min(args.warmup, 2), min(args.steps, 3)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.warmup < 1:
        parser.error("--warmup must be at least 1")
    args.compile = args.compile == "on" or (args.compile == "auto" and args.device != "cpu")
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    unknown = sorted(set(paths) - set(PATHS))
    if unknown:
        parser.error(f"--paths: unknown {unknown}; expected some of {PATHS}")
    args.path_list = paths
    return args


def facts_for(args: argparse.Namespace) -> list[dict]:
    """Enough synthetic facts for every step of one path."""
    total = args.batch_size * (args.warmup + args.steps)
    return synthetic_facts(total, SHAPES[args.size].base_vocab, args.seed)


def main(argv: list[str] | None = None) -> float:
    args = parse(argv)
    device = torch.device(args.device)
    paths = args.path_list
    shape = SHAPES[args.size]
    facts = facts_for(args)
    lengths = [len(f["input_ids"]) for f in facts]
    labelled = [sum(1 for x in f["labels"] if x != IGNORE_INDEX) for f in facts]
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
    report: dict[str, Any] = {
        "device": f"{device.type}: {name or platform.machine()}, {os.cpu_count()} CPU cores",
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "command": "python "
        + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])]),
        "settings": {
            "size": args.size,
            "shape": vars(shape),
            "vocab": shape.base_vocab + 4 + LANGUAGES,
            "batch_size": args.batch_size,
            "warmup": args.warmup,
            "steps": args.steps,
            "pack_length": args.pack_length,
            "compile": args.compile,
            "static_first_compile": args.static_first_compile,
            "seed": args.seed,
            "mean_fact_tokens": statistics.fmean(lengths),
            "mean_labelled_positions": statistics.fmean(labelled),
            "peak_tflops": args.peak_tflops,
        },
        "facts_per_s": {},
        "tokens_per_s": {},
        "useful_mfu": {},
        "paths": {},
    }
    print(
        f"{report['device']}; torch {torch.__version__}, transformers {transformers.__version__}; "
        f"{args.size} shape, batch {args.batch_size}, mean {statistics.fmean(lengths):.1f} tokens "
        f"and {statistics.fmean(labelled):.1f} labelled positions per fact",
        flush=True,
    )
    print(
        f"{'path':<25} {'facts/s':>10} {'window/s':>10} {'tokens/s':>10} {'useful MFU':>10} "
        f"{'step ms':>8} {'peak GiB':>8} {'padding':>8} {'collate/s':>10} {'wall s':>7}",
        flush=True,
    )
    for path in paths:
        try:
            result = run_path(path, args, facts, device)
        except Exception as error:  # one failing path must not lose the others' figures
            result = {"error": f"{type(error).__name__}: {error}"}
            print(f"{path:<25} failed: {result['error']}", flush=True)
        report["paths"][path] = result
        if "error" not in result:
            for key in ("facts_per_s", "tokens_per_s", "useful_mfu"):
                report[key][path] = result[key]
            peak = result["peak_memory_gib"]
            padding = (
                "-" if result["padding_fraction"] is None else f"{result['padding_fraction']:.0%}"
            )
            window = result["window_facts_per_s"]
            print(
                f"{path:<25} {result['facts_per_s']:>10,.0f} "
                f"{'-' if window is None else f'{window:,.0f}':>10} "
                f"{result['tokens_per_s']:>10,.0f} "
                f"{result['useful_mfu']:>10.1%} {result['step_ms_median']:>8.1f} "
                f"{'-' if peak is None else f'{peak:.1f}':>8} {padding:>8} "
                f"{result['collator_facts_per_s']:>10,.0f} "
                f"{result['wall_s_including_warmup']:>7.1f}",
                flush=True,
            )
        if args.output:
            Path(args.output).parent.mkdir(parents=True, exist_ok=True)
            temporary = Path(args.output).with_suffix(".partial")
            temporary.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
            temporary.replace(args.output)

    speeds = report["facts_per_s"]
    before = speeds.get("before", math.nan)
    ratio = speeds.get("after", math.nan) / before
    versus = speeds.get("after", math.nan) / speeds.get("xlmr_causal_lm", math.nan)
    fast = {path: speed for path, speed in speeds.items() if path in FAST_VARIANTS}
    best = max(fast, key=fast.get) if fast else "after"
    print(
        f"ratio fast path / previous path (facts/s): {ratio:.2f}x "
        f"(fastest, {best}: {speeds.get(best, math.nan) / before:.2f}x, "
        f"{speeds.get(best, math.nan):,.0f} facts/s; "
        f"fast path / XLMRobertaForCausalLM: {versus:.2f}x)"
    )
    return ratio


if __name__ == "__main__":
    main()
