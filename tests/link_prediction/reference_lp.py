"""SLOW REFERENCE of Algorithm 1 (Prix-LM, Appendix B), for tests and benchmarks only.

Written straight from the pseudocode, with the official release's semantics where the
pseudocode is ambiguous (`/work/shared/OFFICIAL_RELEASE.md`): one forward per partial
sequence, no KV cache, no batching, no trie — every vocabulary token `w` is tried and the
sequences that cannot expand to a candidate are removed.

    X_0 = {(prompt, 0)}; completed = {}
    while X_{t-1} is not empty:                       # no length limit
        X_t = {}
        for (X, l) in X_{t-1}:                        # in order of loss
            for w in V:                               # in token order
                if X + w cannot expand to a candidate: continue
                l' = l - log_softmax(model(X))[w]     # full vocabulary, no normalisation
                if w == [EOS]: completed[X + w] = l'  # takes no beam slot
                else: X_t += (X + w, l')
        X_t = the K of X_t with the smallest loss     # stable: ties keep their order
    return completed, sorted by loss

Identically tokenised candidates are one answer (the first label).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


@torch.no_grad()
def reference_algorithm_1(
    model: torch.nn.Module,
    prompt: Sequence[int],
    candidates: Sequence[Sequence[int]],
    labels: Sequence[str],
    eos_token_id: int,
    num_beams: int,
) -> list[tuple[str, float]]:
    """`(label, loss)` of every completed candidate, by increasing loss.

    Args:
        prompt: ids of `<s>[S] s </s></s>[P] p </s></s>[O]`.
        candidates: ids of each candidate, `[EOS]` last.
        labels: one per candidate.
    """
    vocab = model.config.vocab_size
    complete = {}
    for label, ids in zip(labels, candidates, strict=True):
        complete.setdefault(tuple(ids), label)  # identical tokenisations: first label
    expandable = {ids[:i] for ids in complete for i in range(1, len(ids) + 1)}
    beams: list[tuple[tuple[int, ...], float]] = [((), 0.0)]
    completed: dict[tuple[int, ...], float] = {}
    while beams:
        extended = []
        for sequence, loss in beams:
            input_ids = torch.tensor([list(prompt) + list(sequence)])
            logits = model(input_ids=input_ids, use_cache=False).logits[0, -1]
            log_probs = torch.log_softmax(logits.float(), dim=-1)
            for token in range(vocab):
                candidate = sequence + (token,)
                if candidate not in expandable:
                    continue
                new_loss = loss - float(log_probs[token])
                if token == eos_token_id:
                    completed[candidate] = new_loss
                else:
                    extended.append((candidate, new_loss))
        extended.sort(key=lambda pair: pair[1])  # stable
        beams = extended[:num_beams]
    ranked = sorted(completed.items(), key=lambda pair: (pair[1], pair[0]))
    return [(complete[sequence], loss) for sequence, loss in ranked]


@torch.no_grad()
def reference_log_likelihood(
    model: torch.nn.Module, prompt: Sequence[int], candidate: Sequence[int]
) -> float:
    """`sum log p` of one candidate (ids, `[EOS]` last) after `prompt`: one full forward."""
    input_ids = torch.tensor([list(prompt) + list(candidate[:-1])])
    logits = model(input_ids=input_ids, use_cache=False).logits[0, len(prompt) - 1 :]
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    return float(log_probs[torch.arange(len(candidate)), torch.tensor(candidate)].double().sum())
