"""The cost of the constraint: `generate` with `TrieConstrainedLogitsProcessor` vs plain
beam search, same model, beams and lengths.

Run::

    .venv/bin/python bench/bench_constraint_overhead.py [--num_beams 50] [--steps 8] [--repeats 5]

Setting: a randomly initialised `PrixLMForCausalKB` with the released vocabulary (250,087
tokens: XLM-R's plus `[S] [P] [O] [EOS]` and 81 language tokens), 2 layers of width 256;
one 17-token prompt; 50 beams; a trie of 100k synthetic entities whose names are longer
than `--steps` tokens, so that no beam can finish early. Both runs use
`min_new_tokens = max_new_tokens = --steps`, `length_penalty=0`, `early_stopping=False`:
exactly the same number of steps and rows, the only difference is our processor. Runs
alternate; the best of `--repeats` is kept. The last line is the overhead in percent
(goal <= 20%).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from transformers import GenerationConfig, GenerationMixin  # noqa: E402

from modeling_prixlm.configuration_prixlm import PrixLMConfig  # noqa: E402
from modeling_prixlm.constrained_decoding import EntityTrie  # noqa: E402
from modeling_prixlm.modeling_prixlm import PrixLMForCausalKB  # noqa: E402
from modeling_prixlm.trie_logits_processor import TrieConstrainedLogitsProcessor  # noqa: E402

VOCAB = 250_087
SUBJECT, PREDICATE, OBJECT, EOS = 250_002, 250_003, 250_004, 250_005


def long_entities(num_entities: int, min_tokens: int, seed: int = 0) -> EntityTrie:
    """Entities of `min_tokens + 1` to `min_tokens + 4` tokens plus `[EOS]`."""
    generator = torch.Generator().manual_seed(seed)
    lengths = (
        torch.randint(min_tokens + 1, min_tokens + 5, (num_entities,), generator=generator) + 1
    )
    total = int(lengths.sum())
    ranks = torch.pow(200_000.0, torch.rand(total, generator=generator, dtype=torch.float64))
    tokens = 5 + ranks.long()
    tokens[torch.cumsum(lengths, 0) - 1] = EOS
    return EntityTrie.from_flat(tokens, lengths, EOS, VOCAB)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num_beams", type=int, default=50)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    torch.manual_seed(0)
    config = PrixLMConfig(
        vocab_size=VOCAB,
        hidden_size=args.hidden,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=4 * args.hidden,
        max_position_embeddings=64,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        subject_token_id=SUBJECT,
        predicate_token_id=PREDICATE,
        object_token_id=OBJECT,
        end_of_object_token_id=EOS,
    )
    model = PrixLMForCausalKB(config).eval()
    trie = long_entities(args.entities, args.steps)
    subject, relation = [1000, 1001, 1002, 1003, 1004], [2000, 2001, 2002, 2003]
    prompt = torch.tensor([[0, SUBJECT, *subject, 2, 2, PREDICATE, *relation, 2, 2, OBJECT]])
    generation = GenerationConfig(
        num_beams=args.num_beams,
        num_return_sequences=args.num_beams,
        do_sample=False,
        length_penalty=0.0,
        early_stopping=False,
        min_new_tokens=args.steps,
        max_new_tokens=args.steps,
        eos_token_id=EOS,
        pad_token_id=1,
        bos_token_id=0,
    )
    processor = TrieConstrainedLogitsProcessor(trie, prompt.shape[1])

    def run(constrained: bool) -> tuple[torch.Tensor, float]:
        start = time.perf_counter()
        with torch.no_grad():  # transformers' generate: the model's refuses a limit that cuts
            out = GenerationMixin.generate(  # an entity, and every one here is longer
                model,
                prompt,
                attention_mask=torch.ones_like(prompt),
                generation_config=generation,
                logits_processor=[processor] if constrained else None,
            )
        return out, time.perf_counter() - start

    run(True), run(False)  # warm-up
    times = {True: [], False: []}
    for _ in range(args.repeats):
        for constrained in (False, True):
            out, seconds = run(constrained)
            assert out.shape == (args.num_beams, prompt.shape[1] + args.steps), out.shape
            times[constrained].append(seconds)
            if constrained:  # every generated token follows the trie
                states = trie.walk(out[:, prompt.shape[1] :])
                assert bool((states > 0).all()), "a constrained beam left the trie"
    plain, constrained = min(times[False]), min(times[True])
    print(
        f"{trie}; {args.num_beams} beams x {args.steps} steps, vocabulary {VOCAB}, "
        f"hidden {args.hidden}, threads {args.threads}"
    )
    print("| generate | best of runs (s) | per step (ms) |")
    print("|---|---:|---:|")
    print(f"| beam search | {plain:.3f} | {1e3 * plain / args.steps:.1f} |")
    print(
        f"| beam search + TrieConstrainedLogitsProcessor | {constrained:.3f} | {1e3 * constrained / args.steps:.1f} |"
    )
    print(f"constraint overhead: {100 * (constrained / plain - 1):.1f}%")


if __name__ == "__main__":
    main()
