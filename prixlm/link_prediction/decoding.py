"""Link prediction with Prix-LM: batched constrained beam search and full candidate scoring.

`predict_objects` is Algorithm 1 of the paper (Appendix B). Where the pseudocode is
ambiguous it follows the official release's code (luka-group/prix-lm, `decode.py` and
`lp.py`; the Hub checkpoint `wzhouad/prix-lm`), not the paper's prose:

- the prompt is `<s>[S] s </s></s>[P] p </s></s>[O]` (a link: `[P] [s_lang] [o_lang]`); each
  candidate is `tok(entity) + [EOS]`;
- every kept partial sequence is extended by every token its trie node allows, adding
  `-log_softmax(logits over the FULL vocabulary)[token]` (no renormalisation over the
  allowed tokens, no length normalisation);
- an extension that completes a candidate (its `[EOS]`) is collected and takes **no beam
  slot**; of the others the `num_beams` with the smallest loss are kept (ties: earlier beam,
  then smaller token id);
- no length limit: the search runs until no partial sequence is left (the trie is finite;
  the paper's `L` is the longest candidate, so the two agree);
- every completed candidate is returned, ranked by loss (ties: smaller trie node id);
- entities that tokenise identically collapse into one answer (the first label);
- filtering of other true objects happens at the end, outside this module (`prixlm.link_prediction.ranking`).

Fast path: many queries x beams per forward, left-padded prompts, a KV cache that follows
the beams (`Cache.reorder_cache`), the trie as flat tensors. Models run with
`object_attention="bidirectional"` (no cache) are re-encoded in full at every step.

`score_candidates` is the exact log-likelihood of *every* candidate (the paper's "simple
way", a full ranking): the trie is walked level by level (candidates grouped by length), so
a prefix shared by many candidates is encoded once per query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from modeling_prixlm.constrained_decoding import EntityTrie
from prixlm.link_prediction.decoding_steps import (
    DecodingRows,
    Query,
    as_trie,
    encode_query,
    extend_rows,
    left_pad,
    log_probs_at,
    model_device,
    prepare_inputs,
    run_rows,
    uses_cache,
)


@dataclass
class RankedObjects:
    """Completed entities of one query, best (smallest loss) first.

    `entities` index the candidate list (the first of identically tokenised candidates),
    `losses` are summed `-log p` over the entity's tokens and `[EOS]`.
    """

    entities: list[int]
    labels: list[str]
    losses: list[float]

    @property
    def scores(self) -> list[float]:
        """Log-likelihoods (higher is better): what `prixlm.link_prediction.ranking` expects."""
        return [-loss for loss in self.losses]


def _top_k_per_group(losses: torch.Tensor, groups: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the `k` smallest `losses` of each group, grouped ascending, then by loss
    (stable: equal losses keep their input order)."""
    order = torch.sort(losses, stable=True).indices
    order = order[torch.sort(groups[order], stable=True).indices]
    sorted_groups = groups[order]
    rank = torch.arange(order.numel()) - torch.searchsorted(sorted_groups, sorted_groups)
    return order[rank < k]


@torch.no_grad()
def predict_objects(
    model: Any,
    tokenizer: Any,
    queries: Sequence[Query],
    candidates_or_trie: Sequence[str] | EntityTrie,
    num_beams: int = 50,
    batch_size: int = 8,
) -> list[RankedObjects]:
    """Algorithm 1 (official-release semantics, module docstring) for every query.

    Args:
        model: a `PrixLMForCausalKB` (or any causal LM taking `input_ids`, 2D
            `attention_mask`, `cache`, `use_cache`, `logits_to_keep`), in eval mode.
        queries: `(subject, relation)` triples, `(subject, s_lang, o_lang)` links or rows.
        candidates_or_trie: entity labels or a prebuilt `EntityTrie` (with labels, ideally).
        num_beams: K, the partial sequences kept per query and step (paper: 50).
        batch_size: queries decoded together; a forward sees up to `batch_size * num_beams`
            rows and returns `(rows, vocab)` logits (mind memory with a 250k vocabulary).
    Returns:
        One `RankedObjects` per query: every completed candidate, by increasing loss.
    Raises:
        ValueError: before decoding, for no queries or candidates, a subject/relation/entity
            that tokenises to nothing, an unknown language, or a candidate that does not fit
            `max_position_embeddings` after the longest prompt.
    """
    if num_beams < 1 or batch_size < 1:
        raise ValueError(f"num_beams={num_beams} and batch_size={batch_size} must be >= 1")
    prompts, trie = prepare_inputs(model, tokenizer, queries, candidates_or_trie)
    results: list[RankedObjects] = []
    for start in range(0, len(prompts), batch_size):
        results.extend(
            _decode_batch(model, tokenizer, prompts[start : start + batch_size], trie, num_beams)
        )
    return results


def _decode_batch(
    model: Any, tokenizer: Any, prompts: list[list[int]], trie: EntityTrie, num_beams: int
) -> list[RankedObjects]:
    device, use_cache = model_device(model), uses_cache(model)
    rows = DecodingRows(*left_pad(prompts, tokenizer.pad_token_id, device), None)
    query = torch.arange(len(prompts))  # beams: query, trie state and loss per row
    state = torch.zeros(len(prompts), dtype=torch.long)
    loss = torch.zeros(len(prompts), dtype=torch.float64)
    done_query, done_node, done_loss = [], [], []
    logits, rows = run_rows(model, rows, fresh=True, use_cache=use_cache)
    while True:
        parent, token, child = trie.children(state)
        candidate_loss = (
            loss[parent] - log_probs_at(logits, parent.to(device), token.to(device)).cpu()
        )
        complete = token == trie.eos_token_id
        done_query.append(query[parent[complete]])
        done_node.append(child[complete])
        done_loss.append(candidate_loss[complete])
        open_ = complete.logical_not().nonzero()[:, 0]
        if open_.numel() == 0:
            break
        kept = open_[_top_k_per_group(candidate_loss[open_], query[parent[open_]], num_beams)]
        query, state, loss = query[parent[kept]], child[kept], candidate_loss[kept]
        rows = extend_rows(rows, parent[kept].to(device), token[kept].to(device), copy_cache=False)
        logits, rows = run_rows(model, rows, fresh=False, use_cache=use_cache)
    return _rank_completions(
        trie,
        tokenizer,
        len(prompts),
        torch.cat(done_query),
        torch.cat(done_node),
        torch.cat(done_loss),
    )


def _rank_completions(
    trie: EntityTrie,
    tokenizer: Any,
    num_queries: int,
    queries: torch.Tensor,
    nodes: torch.Tensor,
    losses: torch.Tensor,
) -> list[RankedObjects]:
    """Group completions `(n,)` by query and sort each by (loss, node)."""
    order = torch.sort(nodes, stable=True).indices
    order = order[torch.sort(losses[order], stable=True).indices]
    order = order[torch.sort(queries[order], stable=True).indices]
    entities = trie.entity_of(nodes[order])
    counts = torch.bincount(queries, minlength=num_queries).tolist()
    results, start = [], 0
    for count in counts:
        ids = entities[start : start + count].tolist()
        labels = [_label(trie, tokenizer, e) for e in ids]
        results.append(RankedObjects(ids, labels, losses[order[start : start + count]].tolist()))
        start += count
    return results


def _label(trie: EntityTrie, tokenizer: Any, entity: int) -> str:
    label = trie.label(entity)
    return label if label is not None else tokenizer.decode(trie.token_ids(entity)[:-1])


@torch.no_grad()
def score_candidates(
    model: Any,
    tokenizer: Any,
    queries: Sequence[Query],
    candidates_or_trie: Sequence[str] | EntityTrie,
    batch_size: int = 4,
    max_rows: int = 256,
) -> torch.Tensor:
    """Exact log-likelihood of every candidate for every query (a full ranking).

    `log p(o | s, p) = sum log_softmax(full vocabulary)` over `tok(o) + [EOS]`, as
    `predict_objects` scores what it completes. Candidates are taken in trie (lexicographic)
    order, in chunks; within a chunk the trie is walked level by level, one forward per
    level for all distinct prefixes of that length, so a shared prefix is encoded once.

    Args:
        batch_size: queries scored together.
        max_rows: bound on `batch_size x prefixes` per forward (each row returns a
            `(vocab,)` logit vector).
    Returns:
        `(num_queries, num_candidates)` float64; identically tokenised candidates get equal
        values. Raises ValueError like `predict_objects`.
    """
    if batch_size < 1 or max_rows < batch_size:
        raise ValueError(f"need 1 <= batch_size ({batch_size}) <= max_rows ({max_rows})")
    prompts, trie = prepare_inputs(model, tokenizer, queries, candidates_or_trie)
    parents, node_tokens = trie.parents_and_tokens()
    leaves = _leaves_in_trie_order(trie, parents)
    chunk = max(1, max_rows // batch_size)
    leaf_scores = torch.empty(len(prompts), leaves.numel(), dtype=torch.float64)
    device, use_cache = model_device(model), uses_cache(model)
    for start in range(0, len(prompts), batch_size):
        batch = prompts[start : start + batch_size]
        prompt_rows = DecodingRows(*left_pad(batch, tokenizer.pad_token_id, device), None)
        prompt_logits, prompt_rows = run_rows(model, prompt_rows, fresh=True, use_cache=use_cache)
        for first in range(0, leaves.numel(), chunk):
            chunk_leaves = leaves[first : first + chunk]
            losses = _score_subtrie(
                model,
                trie,
                parents,
                node_tokens,
                chunk_leaves,
                prompt_rows,
                prompt_logits,
                use_cache,
            )
            leaf_scores[start : start + len(batch), first : first + chunk] = -losses
    # leaves are in trie order: map every entity to its leaf's column
    leaf_order = torch.argsort(leaves)
    columns = leaf_order[torch.searchsorted(leaves[leaf_order], trie.entity_nodes)]
    return leaf_scores[:, columns]


def _leaves_in_trie_order(trie: EntityTrie, parents: torch.Tensor) -> torch.Tensor:
    """Distinct `[EOS]` nodes sorted lexicographically by path (depth-first order)."""
    leaves = torch.unique(trie.entity_nodes)
    depth = torch.searchsorted(trie.depth_offsets, leaves, right=True) - 1
    paths = torch.full((leaves.numel(), trie.max_length), -1, dtype=torch.long)
    node = leaves.clone()
    for level in range(trie.max_length, 0, -1):  # fill each path from its leaf upwards
        here = depth == level
        paths[here, level - 1] = node[here]
        node = torch.where(depth >= level, parents[node.clamp(min=0)], node)
    order = torch.arange(leaves.numel())
    for column in range(trie.max_length - 1, -1, -1):
        order = order[torch.sort(paths[order, column], stable=True).indices]
    return leaves[order]


def _score_subtrie(
    model: Any,
    trie: EntityTrie,
    parents: torch.Tensor,
    node_tokens: torch.Tensor,
    leaves: torch.Tensor,
    prompt_rows: DecodingRows,
    prompt_logits: torch.Tensor,
    use_cache: bool,
) -> torch.Tensor:
    """Losses `(queries, len(leaves))` of the paths to `leaves`, level by level."""
    num_queries = prompt_logits.shape[0]
    nodes = {0: leaves}
    frontier = leaves
    while bool((frontier > 0).any()):  # every ancestor of the chunk's leaves
        frontier = torch.unique(parents[frontier[frontier > 0]])
        frontier = frontier[frontier > 0]
        if frontier.numel():
            nodes[len(nodes)] = frontier
    chunk_nodes = torch.unique(torch.cat(list(nodes.values())))
    depth = torch.searchsorted(trie.depth_offsets, chunk_nodes, right=True) - 1
    loss = torch.zeros(num_queries, chunk_nodes.numel() + 1, dtype=torch.float64)  # last: root
    level_nodes = torch.zeros(1, dtype=torch.long)  # nodes whose logits are in `logits`
    rows, logits = prompt_rows, prompt_logits
    for level in range(1, int(depth.max()) + 1):
        here = chunk_nodes[depth == level]
        parent_slot = torch.searchsorted(level_nodes, parents[here])
        row = (
            torch.arange(num_queries)[:, None] * level_nodes.numel() + parent_slot[None, :]
        ).reshape(-1)
        token = node_tokens[here].repeat(num_queries)
        log_p = log_probs_at(logits, row.to(logits.device), token.to(logits.device)).cpu()
        parent_loss = _gather_loss(loss, chunk_nodes, parents[here], num_queries)
        columns = torch.searchsorted(chunk_nodes, here)
        loss[:, columns] = parent_loss - log_p.view(num_queries, -1)
        inner = here[node_tokens[here] != trie.eos_token_id]
        if inner.numel() == 0:
            break
        inner_slot = torch.searchsorted(level_nodes, parents[inner])
        inner_rows = (
            torch.arange(num_queries)[:, None] * level_nodes.numel() + inner_slot[None, :]
        ).reshape(-1)
        rows = extend_rows(
            rows,
            inner_rows.to(logits.device),
            node_tokens[inner].repeat(num_queries).to(logits.device),
            copy_cache=True,
        )
        logits, rows = run_rows(model, rows, fresh=False, use_cache=use_cache)
        level_nodes = inner
    return loss[:, torch.searchsorted(chunk_nodes, leaves)]


def _gather_loss(
    loss: torch.Tensor, chunk_nodes: torch.Tensor, nodes: torch.Tensor, num_queries: int
) -> torch.Tensor:
    """Losses `(queries, len(nodes))` of `nodes` (the root, id 0, has loss 0)."""
    columns = torch.where(nodes == 0, loss.shape[1] - 1, torch.searchsorted(chunk_nodes, nodes))
    return loss[:, columns]


__all__ = [
    "Query",
    "RankedObjects",
    "as_trie",
    "encode_query",
    "predict_objects",
    "score_candidates",
]
