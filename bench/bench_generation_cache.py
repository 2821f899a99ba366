"""Generation: time per generated token with the KV cache vs without.

Run::

    .venv/bin/python bench/bench_generation_cache.py [--threads 1]
        [--rows 256x4x1,256x4x8,256x4x50,768x12x1] [--new_tokens 16] [--warmup 1] [--repeats 5]

Prompts are real triple prompts `<s>[S] subject </s></s>[P] relation </s></s>[O]` of the
embedded CLDR KB (paper's nine languages, embedded ~8k tokenizer) that are exactly 24
tokens long (repeated to fill a batch, so there is no padding). A random Prix-LM
(`prefix_bidirectional`, eval mode) runs greedy `generate(max_new_tokens=16,
eos_token_id=None)` with `use_cache=True` and with `use_cache=False`; the two runs
alternate, and the table shows the median over `--repeats` of the wall time divided by the
number of new tokens (prefill included). The generated ids must be identical, and a hook
checks that cached decoding feeds one token per step. Batch 50 is one link-prediction
query's beam width (`num_beams=50`); 768 x 12 is XLM-R base's encoder (with the small
vocabulary). The last line is the ratio no-cache / cache time per token of the first row
(goal >= 3).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
from _prixlm_bench import (
    fact_tokenizer,
    interleaved_times,
    load_facts,
    machine_line,
    median,
    set_threads,
    spread,
)

from modeling_prixlm.formatting import encode_triple_prompt
from modeling_prixlm.modeling_prixlm import PrixLMForCausalKB
from prixlm.training.model_factory import build_prixlm

PREFIX_LENGTH = 24


def generator(
    model: PrixLMForCausalKB, prompts: torch.Tensor, new_tokens: int, use_cache: bool
) -> Callable[[], torch.Tensor]:
    """Greedy generation of exactly `new_tokens` tokens after `prompts`."""

    def run() -> torch.Tensor:
        return model.generate(
            prompts,
            attention_mask=torch.ones_like(prompts),
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            do_sample=False,
            num_beams=1,
            eos_token_id=None,
            use_cache=use_cache,
        )

    return run


def query_lengths(model: PrixLMForCausalKB, run: Callable[[], torch.Tensor]) -> list[int]:
    """Lengths of the `input_ids` that each forward of `run` received."""
    lengths: list[int] = []

    def hook(module: torch.nn.Module, args: tuple, kwargs: dict) -> None:
        ids = kwargs.get("input_ids", args[0] if args else None)
        lengths.append(int(ids.shape[1]))

    handle = model.roberta.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        run()
    finally:
        handle.remove()
    return lengths


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--rows",
        default="256x4x1,256x4x8,256x4x50,768x12x1",
        help="HIDDENxLAYERSxBATCH, comma-separated; the first gives the last line's ratio",
    )
    parser.add_argument("--new_tokens", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    threads = set_threads(args.threads)
    print(machine_line(threads))
    triples = load_facts()
    tokenizer = fact_tokenizer(triples)
    prompts = sorted(
        {
            tuple(ids)
            for ids in (encode_triple_prompt(tokenizer, s, r) for s, r, _ in triples)
            if len(ids) == PREFIX_LENGTH
        }
    )
    if not prompts:
        raise RuntimeError(f"no real prompt of {PREFIX_LENGTH} tokens")
    print(
        f"{len(prompts)} distinct real prompts of {PREFIX_LENGTH} tokens, vocabulary "
        f"{len(tokenizer)}, {args.new_tokens} new tokens (eos_token_id=None)"
    )

    models: dict[tuple[int, int], PrixLMForCausalKB] = {}
    rows = []
    for row in args.rows.split(","):
        hidden, layers, batch_size = (int(x) for x in row.split("x"))
        if (hidden, layers) not in models:
            models[hidden, layers] = build_prixlm(
                tokenizer,
                seed=0,
                hidden_size=hidden,
                num_hidden_layers=layers,
                num_attention_heads=hidden // 64,
            ).eval()
        model = models[hidden, layers]
        batch = torch.tensor([prompts[i % len(prompts)] for i in range(batch_size)])
        cached = generator(model, batch, args.new_tokens, use_cache=True)
        uncached = generator(model, batch, args.new_tokens, use_cache=False)
        steps = query_lengths(model, cached)
        if steps[0] != PREFIX_LENGTH or any(length != 1 for length in steps[1:]):
            raise RuntimeError(f"cached generate fed query lengths {steps}")
        identical = torch.equal(cached(), uncached())
        if not identical:
            raise RuntimeError(f"{row}: cached and uncached generated ids differ")
        times = interleaved_times(
            {"cache": cached, "no_cache": uncached}, args.warmup, args.repeats
        )
        rows.append((hidden, layers, batch_size, identical, times))

    print()
    print(
        f"{'hidden x layers':<16} {'batch':>5} {'cache ms/token (min-max)':>28} "
        f"{'no cache ms/token (min-max)':>30} {'no cache/cache':>15} {'same ids':>9}"
    )
    per_token = 1000 / args.new_tokens
    for hidden, layers, batch_size, identical, times in rows:
        cache_ms = per_token * median(times["cache"])
        plain_ms = per_token * median(times["no_cache"])
        cache_cell = f"{cache_ms:.2f} ({_per_token_spread(times['cache'], args.new_tokens)})"
        plain_cell = f"{plain_ms:.2f} ({_per_token_spread(times['no_cache'], args.new_tokens)})"
        print(
            f"{f'{hidden} x {layers}':<16} {batch_size:>5} {cache_cell:>28} {plain_cell:>30} "
            f"{plain_ms / cache_ms:>15.2f} {str(identical):>9}"
        )
    print(f"(median of {args.repeats} generate calls after {args.warmup} warm-up; goal >= 3)")
    hidden, layers, batch_size, _, times = rows[0]
    ratio = median(times["no_cache"]) / median(times["cache"])
    print(
        f"ratio (no-cache / cache time per token, {hidden} x {layers}, batch {batch_size}): "
        f"{ratio:.2f}"
    )
    return ratio


def _per_token_spread(times: list[float], new_tokens: int) -> str:
    return spread([t / new_tokens for t in times])


if __name__ == "__main__":
    main()
