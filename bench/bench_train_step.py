"""Training step: `PrixLMForCausalKB` vs `transformers.XLMRobertaForCausalLM`.

Run::

    .venv/bin/python bench/bench_train_step.py [--threads 1] [--sizes 256x4,512x4]
        [--batch_size 32] [--warmup 3] [--repeats 15]

Both models have the same size and the same weights (Prix-LM's state dict copied into an
`XLMRobertaForCausalLM` with `is_decoder=True`), sdpa attention, train mode (dropout 0.1).
One step = zero grads, forward with labels on the same right-padded batch of real
formatted facts (the embedded CLDR KB in the paper's nine languages, the embedded
~8k tokenizer), backward. Prix-LM builds its partial-causal mask (bidirectional prefix up
to `[O]`, causal object) from the 2D mask; XLM-R uses its causal mask. The steps of the two
models alternate, after warm-up, and the table shows the median of `--repeats`.

Before timing, a check that the copy is exact: Prix-LM with `object_attention="causal"`
gives XLM-R's logits on the batch. The last line is the ratio of the median step times
XLM-R / Prix-LM of the first size (goal >= 0.9: the custom mask costs at most 10%).
"""

from __future__ import annotations

import argparse
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
from transformers import XLMRobertaConfig, XLMRobertaForCausalLM

from modeling_prixlm.configuration_prixlm import xlmr_architecture
from modeling_prixlm.masking_prixlm import build_attention_mask
from modeling_prixlm.modeling_prixlm import PrixLMForCausalKB
from prixlm.training.model_factory import build_prixlm


def xlmr_twin(model: PrixLMForCausalKB) -> XLMRobertaForCausalLM:
    """An `XLMRobertaForCausalLM` (decoder, sdpa) of the same size with `model`'s weights.

    Its vocabulary is the tokenizer's (`vocab_size`): the rows that pad Prix-LM's embedding
    and LM head to `padded_vocab_size` are left out."""
    config = XLMRobertaConfig(**xlmr_architecture(model.config), is_decoder=True)
    config._attn_implementation = "sdpa"
    twin = XLMRobertaForCausalLM(config)
    shapes = {name: tensor.shape for name, tensor in twin.state_dict().items()}
    state = {
        name: tensor[: shapes[name][0]]
        if name in shapes and tensor.dim() and tensor.shape[1:] == shapes[name][1:]
        else tensor
        for name, tensor in model.state_dict().items()
    }
    missing, unexpected = twin.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith(("position_ids", "token_type_ids"))]
    if missing or unexpected:
        raise RuntimeError(f"state dicts differ: missing {missing}, unexpected {unexpected}")
    return twin


@torch.no_grad()
def check_same_weights(ours: PrixLMForCausalKB, xlmr: XLMRobertaForCausalLM, batch: Batch) -> float:
    """Max |logit difference| at real tokens with Prix-LM in `causal` mode (should be ~1e-6)."""
    ours.eval()
    xlmr.eval()
    mode = ours.config.object_attention
    ours.config.object_attention = "causal"
    try:
        a = ours(batch.input_ids, attention_mask=batch.attention_mask, use_cache=False).logits
    finally:
        ours.config.object_attention = mode
    b = xlmr(batch.input_ids, attention_mask=batch.attention_mask, use_cache=False).logits
    real = batch.attention_mask.bool()
    return float((a[real] - b[real]).abs().max())


def train_step(model: torch.nn.Module, batch: Batch) -> Callable[[], object]:
    """Zero grads, forward with labels, backward: one training step without the optimizer."""

    def step() -> float:
        model.zero_grad(set_to_none=True)
        loss = model(
            input_ids=batch.input_ids,
            attention_mask=batch.attention_mask,
            labels=batch.labels,
            use_cache=False,
        ).loss
        loss.backward()
        return float(loss.detach())

    return step


def mask_build_ms(batch: Batch, object_token_id: int, mode: str, repeats: int = 200) -> float:
    """Median milliseconds of one `build_attention_mask` call on the batch."""
    times = interleaved_times(
        {
            mode: lambda: build_attention_mask(
                batch.input_ids, batch.attention_mask, 0, object_token_id, mode
            )
        },
        warmup=10,
        repeats=repeats,
    )
    return 1000 * median(times[mode])


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--sizes",
        default="256x4,512x4",
        help="comma-separated HIDDENxLAYERS; first is the goal row",
    )
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)

    threads = set_threads(args.threads)
    print(machine_line(threads))
    triples = load_facts()
    tokenizer = fact_tokenizer(triples)
    facts = encode_facts(tokenizer, triples)
    batch = sample_batches(facts, args.batch_size, 1, tokenizer.pad_token_id)[0]
    padding = 1 - batch.attention_mask.float().mean().item()
    print(
        f"batch: {tuple(batch.input_ids.shape)} right-padded real facts ({padding:.0%} padding, "
        f"{batch.label_count} labelled positions), vocabulary {len(tokenizer)}"
    )

    rows = []
    for size in args.sizes.split(","):
        hidden, layers = (int(x) for x in size.split("x"))
        ours = build_prixlm(
            tokenizer,
            seed=0,
            hidden_size=hidden,
            num_hidden_layers=layers,
            num_attention_heads=hidden // 64,
        )
        xlmr = xlmr_twin(ours)
        difference = check_same_weights(ours, xlmr, batch)
        if difference > 1e-4:
            raise RuntimeError(f"Prix-LM (causal) and XLM-R logits differ by {difference:.2e}")
        ours.train()
        xlmr.train()
        times = interleaved_times(
            {"xlmr": train_step(xlmr, batch), "ours": train_step(ours, batch)},
            args.warmup,
            args.repeats,
        )
        rows.append((hidden, layers, hidden // 64, difference, times))

    print()
    print(
        f"{'hidden x layers (heads)':<24} {'XLM-R ms (min-max)':>22} {'Prix-LM ms (min-max)':>22} "
        f"{'XLM-R/ours':>11} {'max |dlogit| causal':>20}"
    )
    for hidden, layers, heads, difference, times in rows:
        xlmr_ms, ours_ms = 1000 * median(times["xlmr"]), 1000 * median(times["ours"])
        name = f"{hidden} x {layers} ({heads})"
        xlmr_cell = f"{xlmr_ms:.1f} ({spread(times['xlmr'])})"
        ours_cell = f"{ours_ms:.1f} ({spread(times['ours'])})"
        print(
            f"{name:<24} {xlmr_cell:>22} {ours_cell:>22} "
            f"{xlmr_ms / ours_ms:>11.2f} {difference:>20.1e}"
        )
    print(f"(median of {args.repeats} steps after {args.warmup} warm-up steps; goal >= 0.90)")
    object_token_id = tokenizer.convert_tokens_to_ids("[O]")
    partial, causal = (
        mask_build_ms(batch, object_token_id, mode) for mode in ("prefix_bidirectional", "causal")
    )
    ours_first = 1000 * median(rows[0][4]["ours"])
    print(
        f"mask construction (build_attention_mask, once per forward): {partial:.3f} ms "
        f"prefix_bidirectional, {causal:.3f} ms causal = {partial / ours_first:.3%} of "
        f"Prix-LM's {rows[0][0]} x {rows[0][1]} step"
    )
    first = rows[0][4]
    ratio = median(first["xlmr"]) / median(first["ours"])
    print(f"ratio (XLM-R step time / ours, hidden {rows[0][0]} x {rows[0][1]}): {ratio:.2f}")
    return ratio


if __name__ == "__main__":
    main()
