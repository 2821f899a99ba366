"""Constrained link prediction, K=50: our batched Algorithm 1 vs the slow reference.

Run::

    .venv/bin/python bench/bench_lp_speed.py [--queries 64] [--num_beams 50] [--batch_sizes 1,8,64]

Setting: the test suite's tiny Prix-LM (2 layers, hidden 32, a Unigram tokenizer trained on
the tiny KB: 76 tokens) and its ~200 candidate entities (shared prefixes, entities that are
prefixes of others, one duplicate tokenisation), `--queries` (subject, relation) queries
from the tiny KB. The baseline is `tests/link_prediction/reference_lp.py` (the pseudocode
as written: one forward per partial sequence, no cache, no batching); ours is
`prixlm.predict_objects` (all queries x K beams per forward, KV
cache, trie as tensors). Both must return the same ranked entities with losses within 1e-4.
Each is timed `--repeats` times (best run kept, on this shared machine); ours at each of
`--batch_sizes` queries per forward (1: the KV cache and the vectorised trie alone) and at
the library default (no `batch_size`: `DEFAULT_MAX_ROWS // num_beams` queries). One more
line times `score_candidates` (every candidate scored exactly) with its defaults. The last
line is the speed ratio reference / ours at the library default. (With a 250k vocabulary
a forward of R rows returns `R x 250k` float32 logits: 1 GB for the default 1,024 rows.)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "link_prediction"))

from reference_lp import reference_algorithm_1  # noqa: E402
from test_link_prediction import tiny_entities  # noqa: E402
from tiny_models import TINY_FACTS, TINY_LANGUAGES, make_tiny_model, tiny_texts  # noqa: E402

from modeling_prixlm.beam_search import default_batch_size, predict_objects  # noqa: E402
from modeling_prixlm.decoding_steps import encode_query  # noqa: E402
from modeling_prixlm.formatting import add_prixlm_tokens, encode_object  # noqa: E402
from prixlm.link_prediction.candidate_scoring import score_candidates  # noqa: E402
from prixlm.training.tokenizer_training import train_tokenizer  # noqa: E402


def best_of(fn, repeats: int):
    """`(result, best wall time)` of `repeats` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, min(times)


def compare_rankings(ours: list, reference: list, tolerance: float = 1e-4) -> float:
    """The largest |loss difference| between our rankings (`predict_objects`' results) and
    the reference's (lists of `(label, loss)`); raises `RuntimeError` when a query's ranked
    entities differ or a loss differs by `tolerance` or more (explicit checks, not `assert`:
    they hold under `python -O` too)."""
    if len(ours) != len(reference):
        raise RuntimeError(f"{len(ours)} rankings against the reference's {len(reference)}")
    worst = 0.0
    for index, (fast, slow) in enumerate(zip(ours, reference, strict=True)):
        expected = [label for label, _ in slow]
        if list(fast.labels) != expected:
            raise RuntimeError(
                f"query {index}: different ranked entities: {fast.labels} != {expected}"
            )
        differences = [abs(a - b) for a, (_, b) in zip(fast.losses, slow, strict=True)]
        worst = max([worst, *differences])
    if not worst < tolerance:
        raise RuntimeError(f"max |loss difference| {worst:.1e} is not below {tolerance:.0e}")
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=64)
    parser.add_argument("--num_beams", type=int, default=50)
    parser.add_argument("--batch_sizes", default="1,8,64")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    tokenizer = train_tokenizer(tiny_texts(), vocab_size=200)
    add_prixlm_tokens(tokenizer, TINY_LANGUAGES)
    model = make_tiny_model(tokenizer)
    labels = tiny_entities(tokenizer)
    candidates = [encode_object(tokenizer, label) for label in labels]
    eos = candidates[0][-1]
    pairs = list(dict.fromkeys((s, r) for s, r, _ in TINY_FACTS))
    queries = (pairs * (args.queries // len(pairs) + 1))[: args.queries]
    print(
        f"{len(queries)} queries, {len(labels)} candidates (longest {max(map(len, candidates))} "
        f"tokens), vocabulary {len(tokenizer)}, K={args.num_beams}, threads={args.threads}"
    )

    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]

    def run_ours(batch_size: int | None):
        if batch_size is None:  # the library default
            return predict_objects(model, tokenizer, queries, labels, args.num_beams)
        return predict_objects(model, tokenizer, queries, labels, args.num_beams, batch_size)

    def run_reference():
        return [
            reference_algorithm_1(
                model, encode_query(tokenizer, q), candidates, labels, eos, args.num_beams
            )
            for q in queries
        ]

    # one untimed query each first: first-call costs (allocator, threads) fall on neither side
    first = encode_query(tokenizer, queries[0])
    reference_algorithm_1(model, first, candidates, labels, eos, args.num_beams)
    predict_objects(model, tokenizer, queries[:1], labels, args.num_beams)
    reference, reference_seconds = best_of(run_reference, args.repeats)
    ours_seconds, worst = {}, 0.0
    for batch_size in [*batch_sizes, None]:
        ours, ours_seconds[batch_size] = best_of(lambda b=batch_size: run_ours(b), args.repeats)
        worst = max(worst, compare_rankings(ours, reference))
    completed = sum(len(r) for r in reference) / len(reference)
    print(
        f"identical rankings at every batch size ({completed:.0f} completed entities per "
        f"query), max |loss difference| {worst:.1e}"
    )
    print("| implementation | seconds | queries/s |")
    print("|---|---:|---:|")
    print(
        f"| reference (tests/link_prediction/reference_lp.py) | {reference_seconds:.2f} | {len(queries) / reference_seconds:.2f} |"
    )
    for batch_size, seconds in ours_seconds.items():
        name = (
            f"default: {default_batch_size(args.num_beams)}" if batch_size is None else batch_size
        )
        print(f"| predict_objects (batch {name}) | {seconds:.2f} | {len(queries) / seconds:.2f} |")
    _, full_seconds = best_of(
        lambda: score_candidates(model, tokenizer, queries, labels), args.repeats
    )
    print(
        f"| score_candidates (every candidate, defaults) | {full_seconds:.2f} | "
        f"{len(queries) / full_seconds:.2f} |"
    )
    print(
        "speed ratio (reference / ours, library default batch): "
        f"{reference_seconds / ours_seconds[None]:.1f}x"
    )


if __name__ == "__main__":
    main()
