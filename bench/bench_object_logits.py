"""Training throughput: LM head on the labelled positions only vs on every position.

Run::

    .venv/bin/python bench/bench_object_logits.py [--threads 1] [--vocab_sizes 250015,0]
        [--hidden 128] [--layers 2] [--batch_size 32] [--warmup 2] [--repeats 8]

One training step = zero grads, forward with labels, backward, AdamW step (the paper's
betas 0.9/0.98), in train mode (dropout 0.1). `object_logits_only=True` gathers the hidden
states of the positions that have a label (object tokens and `[EOS]`, about 4 of ~19 per
fact) before the vocabulary projection; `object_logits_only=False` projects every position,
as `XLMRobertaForCausalLM` does. Two copies of the same random Prix-LM (hidden 128, 2
layers, tied input/output embeddings) step on the same cycle of right-padded batches of
real formatted facts (embedded CLDR KB, paper's nine languages, embedded tokenizer), in
turn; the random seed is reset before each step so both see the same dropout, and their
losses must agree (they train identically). Vocabulary sizes: `250015` is XLM-R's 250,002
plus the 13 Prix-LM tokens of nine languages (the release has 250,087 with 81 languages;
inputs use only the embedded tokenizer's ids, the head projects onto all); `0` means the
embedded tokenizer's size (~7.4k). The last line is the ratio of sequences/s object-only /
full at the first vocabulary size (goal >= 2 at 250k).
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Callable

import torch
from _prixlm_bench import (
    Batch,
    encode_facts,
    fact_tokenizer,
    interleaved_times,
    load_facts,
    machine_line,
    median,
    sample_batches,
    set_threads,
    spread,
)

from modeling_prixlm.modeling_prixlm import PrixLMForCausalKB
from prixlm.training.model_factory import prixlm_config_for


def training_step(
    model: PrixLMForCausalKB,
    batches: list[Batch],
    object_logits_only: bool,
    losses: list[float],
) -> Callable[[], None]:
    """One optimizer step per call on the next batch of the cycle; appends the loss."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.98))
    model.train()
    calls = 0

    def step() -> None:
        nonlocal calls
        batch = batches[calls % len(batches)]
        torch.manual_seed(calls)  # the same dropout masks in both variants
        calls += 1
        optimizer.zero_grad(set_to_none=True)
        loss = model(
            input_ids=batch.input_ids,
            attention_mask=batch.attention_mask,
            labels=batch.labels,
            object_logits_only=object_logits_only,
        ).loss
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))

    return step


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--vocab_sizes",
        default="250015,0",
        help="comma-separated; 0 = the embedded tokenizer's size; the first gives the ratio",
    )
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--batches", type=int, default=4, help="distinct batches, cycled")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=8)
    args = parser.parse_args(argv)

    threads = set_threads(args.threads)
    print(machine_line(threads))
    triples = load_facts()
    tokenizer = fact_tokenizer(triples)
    batches = sample_batches(
        encode_facts(tokenizer, triples), args.batch_size, args.batches, tokenizer.pad_token_id
    )
    shapes = ", ".join(str(tuple(b.input_ids.shape)) for b in batches)
    labelled = sum(b.label_count for b in batches) / sum(b.input_ids.numel() for b in batches)
    print(
        f"batches (cycled): {shapes}; {labelled:.0%} of positions labelled; "
        f"model hidden {args.hidden} x {args.layers} layers"
    )

    rows = []
    for vocab_size in (int(v) or len(tokenizer) for v in args.vocab_sizes.split(",")):
        config = prixlm_config_for(
            tokenizer,
            hidden_size=args.hidden,
            num_hidden_layers=args.layers,
            num_attention_heads=max(1, args.hidden // 64),
        )
        config.vocab_size = vocab_size
        torch.manual_seed(0)
        full_model = PrixLMForCausalKB(config)
        object_model = copy.deepcopy(full_model)
        parameters = sum(p.numel() for p in full_model.parameters())
        full_losses: list[float] = []
        object_losses: list[float] = []
        times = interleaved_times(
            {
                "full": training_step(full_model, batches, False, full_losses),
                "object": training_step(object_model, batches, True, object_losses),
            },
            args.warmup,
            args.repeats,
        )
        difference = max(abs(a - b) for a, b in zip(full_losses, object_losses, strict=True))
        if difference > 1e-4:
            raise RuntimeError(f"vocab {vocab_size}: losses differ by {difference:.2e}")
        rows.append((vocab_size, parameters, difference, times))
        del full_model, object_model

    print()
    print(
        f"{'vocabulary':>10} {'parameters':>11} {'full head seq/s (step ms)':>26} "
        f"{'object-only seq/s (step ms)':>28} {'object/full':>12} {'max |dloss|':>12}"
    )
    for vocab_size, parameters, difference, times in rows:
        full_s, object_s = median(times["full"]), median(times["object"])
        full_cell = f"{args.batch_size / full_s:.1f} ({1000 * full_s:.0f})"
        object_cell = f"{args.batch_size / object_s:.1f} ({1000 * object_s:.0f})"
        print(
            f"{vocab_size:>10,} {parameters / 1e6:>10.1f}M {full_cell:>26} {object_cell:>28} "
            f"{full_s / object_s:>12.2f} {difference:>12.1e}"
        )
    for vocab_size, _, _, times in rows:
        print(
            f"  step ms min-max at {vocab_size:,}: full {spread(times['full'])}, "
            f"object-only {spread(times['object'])}"
        )
    print(
        f"(median of {args.repeats} steps after {args.warmup} warm-up, batch {args.batch_size}; "
        "goal >= 2 at 250k)"
    )
    vocab_size, _, _, times = rows[0]
    ratio = median(times["full"]) / median(times["object"])
    print(f"ratio (object-only / full sequences/s, vocabulary {vocab_size:,}): {ratio:.2f}")
    return ratio


if __name__ == "__main__":
    main()
