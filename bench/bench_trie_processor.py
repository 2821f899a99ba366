"""One constrained beam-search step: our `TrieConstrainedLogitsProcessor` vs
transformers' `PrefixConstrainedLogitsProcessor` driven by the same `EntityTrie`.

Run::

    .venv/bin/python bench/bench_trie_processor.py [--beams 50] [--vocab 250002] [--entities 200000]

Setting: 50 beams x a 250k-token vocabulary (XLM-R), a trie of 200k synthetic entities
(Zipf-distributed tokens, 2-12 tokens + [EOS]), each beam a live prefix of a random entity
after a 12-token prompt, measured at generated lengths 0 (root: thousands of allowed tokens),
1, 3 and 6. The baseline's `prefix_allowed_tokens_fn` asks the same trie for one
sequence's allowed tokens (`EntityTrie.allowed_tokens`), as a GENRE-style callback does.
Both outputs are checked equal before timing. The last line is the speed ratio (baseline
time / ours) over all lengths; the table also shows ours with `inplace=False` (a copy of
the scores first: on CPU a fresh 50 MB tensor costs more than the masking itself).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from transformers import PrefixConstrainedLogitsProcessor  # noqa: E402

from modeling_prixlm.constrained_decoding import EntityTrie  # noqa: E402
from modeling_prixlm.trie_logits_processor import TrieConstrainedLogitsProcessor  # noqa: E402

PROMPT_LENGTH = 12


def synthetic_entities(
    num_entities: int, vocab: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat ids and lengths: Zipf tokens (frequent pieces shared), 2-12 tokens + [EOS]."""
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(2, 13, (num_entities,), generator=generator) + 1
    total = int(lengths.sum())
    ranks = torch.rand(total, generator=generator).pow(3.0)  # skewed towards small ranks
    tokens = 5 + (ranks * (vocab - 10)).long()
    tokens[torch.cumsum(lengths, 0) - 1] = vocab - 1  # [EOS] = last id
    return tokens, lengths


def best_of(processor, input_ids: torch.Tensor, scores: torch.Tensor, repeats: int) -> float:
    """Best wall time of `processor(input_ids, scores)` (in-place ones rewrite the same -inf)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        processor(input_ids, scores)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beams", type=int, default=50)
    parser.add_argument("--vocab", type=int, default=250_002)
    parser.add_argument("--entities", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    tokens, lengths = synthetic_entities(args.entities, args.vocab)
    eos = args.vocab - 1
    trie = EntityTrie.from_flat(tokens, lengths, eos, args.vocab)
    print(f"{trie}; root allows {len(trie.allowed_tokens([]))} tokens")
    generator = torch.Generator().manual_seed(1)
    ours_processor = TrieConstrainedLogitsProcessor(trie, PROMPT_LENGTH)
    copying_processor = TrieConstrainedLogitsProcessor(trie, PROMPT_LENGTH, inplace=False)
    baseline_processor = PrefixConstrainedLogitsProcessor(
        lambda batch_id, sent: trie.allowed_tokens(sent[PROMPT_LENGTH:].tolist()),
        num_beams=args.beams,
    )
    ours_total = baseline_total = 0.0
    print(
        "| generated | ours (ms) | ours, inplace=False (ms) | PrefixConstrained... (ms) | ratio |"
    )
    print("|---|---|---|---|---|")
    for generated in (0, 1, 3, 6):
        long_enough = (trie.entity_lengths() > generated).nonzero()[:, 0]
        picks = torch.randint(0, long_enough.numel(), (args.beams,), generator=generator)
        prefixes = [trie.token_ids(int(long_enough[i]))[:generated] for i in picks]
        prompt = torch.randint(5, 100, (args.beams, PROMPT_LENGTH), generator=generator)
        input_ids = torch.cat(
            [prompt, torch.tensor(prefixes, dtype=torch.long).view(args.beams, generated)], 1
        )
        scores = torch.log_softmax(torch.randn(args.beams, args.vocab, generator=generator), -1)
        ours_out = ours_processor(input_ids, scores.clone())
        assert torch.equal(ours_out, baseline_processor(input_ids, scores.clone())), "differ"
        ours = best_of(ours_processor, input_ids, scores, args.repeats)
        copying = best_of(copying_processor, input_ids, scores, args.repeats)
        baseline = best_of(baseline_processor, input_ids, scores, args.repeats)
        ours_total += ours
        baseline_total += baseline
        print(
            f"| {generated} | {ours * 1e3:.2f} | {copying * 1e3:.2f} | {baseline * 1e3:.2f} "
            f"| {baseline / ours:.1f}x |"
        )
    print(f"beams={args.beams} vocab={args.vocab} threads={args.threads}")
    print(
        f"speed ratio (PrefixConstrainedLogitsProcessor / ours): {baseline_total / ours_total:.1f}x"
    )


if __name__ == "__main__":
    main()
