"""The baselines of `bench_lp_gpu.py`, kept as they were: the device-resident decoding loop
before the shared-prompt cache (a `DynamicCache` holding every row's prompt, grown by
concatenation and reordered each step, the fused attention kernel with one query per row,
the LM head over the unpadded 250,015 columns, `torch.logsumexp`), and the full ranking
before its walk was planned on the device (index work on the host per chunk and batch,
losses on the host).
"""

from __future__ import annotations

from typing import Any

import torch

from modeling_prixlm.beam_search import RankedObjects, _rank_on_device
from modeling_prixlm.constrained_decoding import EntityTrie
from modeling_prixlm.decoding_steps import (
    BeamBounds,
    DecodingRows,
    best_children,
    extend_rows,
    left_pad,
    model_device,
    run_rows,
    smallest_k,
    uses_cache,
)

PAD = 1


def _log_probs_at_before(logits: torch.Tensor, rows: torch.Tensor, tokens: torch.Tensor):
    normaliser = torch.logsumexp(logits, dim=-1)
    return (logits[rows, tokens] - normaliser[rows]).double()


@torch.no_grad()
def decode_batch_on_device_before(
    model: Any, tokenizer: Any, prompts: list[list[int]], trie: EntityTrie, num_beams: int
) -> list[RankedObjects]:
    """`decode_batch_on_device` as it was (same bookkeeping, the model steps above)."""
    device, use_cache = model_device(model), uses_cache(model)
    host_trie, trie = trie, trie.to(device)
    widths = trie.max_children()
    num_queries, eos = len(prompts), trie.eos_token_id
    rows = DecodingRows(*left_pad(prompts, tokenizer.pad_token_id, device), None)
    beams = 1
    state = torch.zeros(num_queries, dtype=torch.long, device=device)
    loss = torch.zeros(num_queries, dtype=torch.float64, device=device)
    done_node, done_loss = [], []
    known = BeamBounds(device)
    grandchildren = trie.open_grandchildren()
    logits, rows = run_rows(model, rows, fresh=True, use_cache=use_cache)
    for depth in range(trie.max_length):
        normaliser = torch.logsumexp(logits, dim=-1, keepdim=True)
        done_node.append(trie.step(state, torch.full_like(state, eos)))
        done_loss.append(loss - (logits[:, eos] - normaliser[:, 0]).double())
        bound = known.bound(depth)
        k = num_beams if bound is None else min(num_beams, bound)
        if widths[depth] == 0 or k == 0:
            break
        value, token, child = best_children(trie, state, loss, logits, normaliser, widths[depth], k)
        pool = value.view(num_queries, -1)
        pick = smallest_k(pool, min(k, pool.shape[1]))
        per_beam = value.shape[1]
        parent = (
            torch.arange(num_queries, device=device)[:, None] * beams + pick // per_beam
        ).view(-1)
        loss = pool.gather(1, pick).view(-1)
        token = token.view(num_queries, -1).gather(1, pick).view(-1)
        child = child.view(num_queries, -1).gather(1, pick).view(-1)
        state = torch.where(torch.isfinite(loss), child, -1)
        beams = pick.shape[1]
        known.record(depth, state, grandchildren, num_queries, num_beams)
        if depth + 1 == trie.max_length or known.all_finished():
            break
        rows = extend_rows(rows, parent, token, copy_cache=False)
        logits, rows = run_rows(model, rows, fresh=False, use_cache=use_cache)
        if known.all_finished():
            break
    query = torch.cat(
        [
            torch.arange(num_queries, device=device).repeat_interleave(n.numel() // num_queries)
            for n in done_node
        ]
    )
    return _rank_on_device(
        trie, host_trie, tokenizer, num_queries, query, torch.cat(done_node), torch.cat(done_loss)
    )


# The previous `score_candidates` walk (kept here as the baseline): the index work of each
# chunk runs on the host for every batch of queries, the losses are kept on the host.


def _with_ancestors(parents: torch.Tensor, nodes: torch.Tensor) -> torch.Tensor:
    found, frontier = [nodes], nodes
    while frontier.numel():
        frontier = torch.unique(parents[frontier])
        frontier = frontier[frontier >= 0]
        found.append(frontier)
    return torch.unique(torch.cat(found))


def _rows_of(layout: torch.Tensor, nodes: torch.Tensor, num_queries: int) -> torch.Tensor:
    slot = torch.searchsorted(layout, nodes)
    return (torch.arange(num_queries)[:, None] * layout.numel() + slot[None, :]).reshape(-1)


def _score_subtrie_before(model, trie, parents, tokens, leaves, prompt_rows, prompt_logits):
    num_queries, device = prompt_logits.shape[0], prompt_logits.device
    nodes = _with_ancestors(parents, leaves)
    depth = torch.searchsorted(trie.depth_offsets, nodes, right=True) - 1
    loss = torch.zeros(num_queries, nodes.numel(), dtype=torch.float64)
    layout, rows, logits = nodes[:1], prompt_rows, prompt_logits
    for level in range(1, int(depth.max()) + 1):
        here = nodes[depth == level]
        log_p = _log_probs_at_before(
            logits,
            _rows_of(layout, parents[here], num_queries).to(device),
            tokens[here].repeat(num_queries).to(device),
        ).cpu()
        parent_loss = loss[:, torch.searchsorted(nodes, parents[here])]
        loss[:, torch.searchsorted(nodes, here)] = parent_loss - log_p.view(num_queries, -1)
        inner = here[tokens[here] != trie.eos_token_id]
        if inner.numel() == 0:
            break
        rows = extend_rows(
            rows,
            _rows_of(layout, parents[inner], num_queries).to(device),
            tokens[inner].repeat(num_queries).to(device),
            copy_cache=True,
        )
        logits, rows = run_rows(model, rows, fresh=False, use_cache=uses_cache(model))
        layout = inner
    return loss[:, torch.searchsorted(nodes, leaves)]


@torch.no_grad()
def score_prompts_before(model, prompts, trie, batch_size=4, max_rows=256) -> torch.Tensor:
    """`(queries, distinct leaves)` losses in trie order: the previous full ranking."""
    from prixlm.link_prediction.candidate_scoring import _leaves_in_trie_order

    parents, tokens = trie.parents_and_tokens()
    leaves = _leaves_in_trie_order(trie)
    per_chunk = max(1, max_rows // batch_size)
    device = model_device(model)
    scores = torch.empty(len(prompts), leaves.numel(), dtype=torch.float64)
    for start in range(0, len(prompts), batch_size):
        batch = prompts[start : start + batch_size]
        rows = DecodingRows(*left_pad(batch, PAD, device), None)
        logits, rows = run_rows(model, rows, fresh=True, use_cache=uses_cache(model))
        for first in range(0, leaves.numel(), per_chunk):
            chunk = slice(first, first + per_chunk)
            losses = _score_subtrie_before(
                model, trie, parents, tokens, leaves[chunk], rows, logits
            )
            scores[start : start + len(batch), chunk] = -losses
    return scores
