"""Building the candidate trie: our flat `EntityTrie` vs a dict-of-prefixes trie.

Run::

    .venv/bin/python bench/bench_trie_build.py [--entities 1000000] [--memory_entities 100000]

Synthetic entities with realistic lengths: 1 + Poisson(3) tokens (mean ~4 XLM-R pieces, as
DBpedia labels: two or three words), capped at 28, plus `[EOS]`; tokens drawn from a
Zipf-like law over a 250k vocabulary, so frequent pieces start many entities (shared
prefixes). The baseline is the usual Python constrained-decoding trie
`{prefix tuple: set(next tokens)}` (the `prefix_allowed_tokens_fn` recipe). Both are built
from the same Python lists of all `--entities` (ours also from flat tensors); memory per
entity is the size of our tensors and, for the baseline, tracemalloc's count on the first
`--memory_entities` (tracemalloc slows the build down). Goals: <= 100 bytes per entity,
>= 200k entities/s. The last line is the build-speed ratio ours (from lists) / baseline.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modeling_prixlm.constrained_decoding import EntityTrie  # noqa: E402

VOCAB = 250_002
EOS = 250_001


def synthetic_entities(num_entities: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat token ids and lengths (`[EOS]` included) of `num_entities` entities."""
    generator = torch.Generator().manual_seed(seed)
    lengths = 1 + torch.poisson(torch.full((num_entities,), 3.0), generator=generator).long()
    lengths = lengths.clamp(max=28) + 1
    total = int(lengths.sum())
    # Zipf-like: rank = floor(V ** u), u uniform -> P(rank) ~ 1 / rank
    ranks = torch.pow(
        float(VOCAB - 10), torch.rand(total, generator=generator, dtype=torch.float64)
    )
    tokens = 5 + ranks.long().clamp(max=VOCAB - 10)
    tokens[torch.cumsum(lengths, 0) - 1] = EOS
    return tokens, lengths


def as_lists(tokens: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
    return [chunk.tolist() for chunk in torch.split(tokens, lengths.tolist())]


def dict_of_prefixes(sequences: list[list[int]]) -> dict[tuple[int, ...], set[int]]:
    allowed: dict[tuple[int, ...], set[int]] = {}
    for sequence in sequences:
        for i, token in enumerate(sequence):
            allowed.setdefault(tuple(sequence[:i]), set()).add(token)
    return allowed


def timed(fn, *args):
    gc.collect()
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument("--memory_entities", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    tokens, lengths = synthetic_entities(args.entities)
    sequences = as_lists(tokens, lengths)
    print(
        f"{args.entities} entities, {len(tokens)} tokens, mean length {lengths.float().mean():.2f} "
        f"(with [EOS]), max {int(lengths.max())}"
    )

    trie, flat_seconds = timed(EntityTrie.from_flat, tokens, lengths, EOS, VOCAB)
    trie_from_lists, list_seconds = timed(EntityTrie.from_token_ids, sequences, EOS, VOCAB)
    assert torch.equal(trie.edge_keys, trie_from_lists.edge_keys)
    ours_bytes = trie.nbytes / args.entities
    print(f"ours: {trie}")

    baseline, baseline_seconds = timed(dict_of_prefixes, sequences)
    print(f"dict of prefixes: {len(baseline)} prefixes")
    del baseline
    gc.collect()
    subset = sequences[: args.memory_entities]
    tracemalloc.start()
    baseline = dict_of_prefixes(subset)
    baseline_bytes = tracemalloc.get_traced_memory()[0] / len(subset)
    tracemalloc.stop()
    del baseline

    ours_rate = args.entities / list_seconds
    baseline_rate = args.entities / baseline_seconds
    rows = [
        ("EntityTrie, from flat tensors", flat_seconds, f"{ours_bytes:.1f}"),
        ("EntityTrie, from lists", list_seconds, f"{ours_bytes:.1f}"),
        ("dict of prefixes, from lists", baseline_seconds, f"{baseline_bytes:,.0f}"),
    ]
    print("| trie | build (s) | entities/s | bytes/entity |")
    print("|---|---:|---:|---:|")
    for name, seconds, per_entity in rows:
        print(f"| {name} | {seconds:.2f} | {args.entities / seconds:,.0f} | {per_entity} |")
    print(
        f"goals: {ours_bytes:.1f} bytes/entity <= 100: {ours_bytes <= 100}; "
        f"{ours_rate:,.0f} entities/s >= 200,000: {ours_rate >= 200_000}"
    )
    print(
        f"memory ratio (dict of prefixes / ours, bytes per entity): {baseline_bytes / ours_bytes:.1f}x"
    )
    print(
        f"build speed ratio (ours from lists / dict of prefixes): {ours_rate / baseline_rate:.1f}x"
    )


if __name__ == "__main__":
    main()
