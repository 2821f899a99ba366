"""Exact log-likelihood of every candidate entity for every query (a full ranking).

`score_candidates` is the paper's "simple way" to rank: `log p(o | s, p)` of every
candidate, summed `log_softmax` over the full vocabulary along `tok(o) + [EOS]`, exactly what
`modeling_prixlm.beam_search.predict_objects` (Algorithm 1) gives the candidates it
completes. The candidates' trie is walked level by level (candidates grouped by length):
one forward per level for all distinct prefixes of that length, so a prefix shared by many
candidates is encoded once per query, with a KV cache that follows the prefixes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from modeling_prixlm.constrained_decoding import EntityTrie
from modeling_prixlm.decoding_steps import (
    DecodingRows,
    Query,
    eval_mode,
    extend_rows,
    left_pad,
    log_probs_at,
    model_device,
    prepare_inputs,
    run_rows,
    uses_cache,
)


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
    The model runs in eval mode (its previous mode is restored afterwards).

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
    tables = _TrieTables.of(trie)
    leaves = _leaves_in_trie_order(trie, tables.parents)
    leaves_per_chunk = max(1, max_rows // batch_size)
    leaf_scores = torch.empty(len(prompts), leaves.numel(), dtype=torch.float64)
    device, use_cache = model_device(model), uses_cache(model)
    with eval_mode(model):
        for start in range(0, len(prompts), batch_size):
            batch = prompts[start : start + batch_size]
            prompt_rows = DecodingRows(*left_pad(batch, tokenizer.pad_token_id, device), None)
            prompt_logits, prompt_rows = run_rows(
                model, prompt_rows, fresh=True, use_cache=use_cache
            )
            for first in range(0, leaves.numel(), leaves_per_chunk):
                chunk = slice(first, first + leaves_per_chunk)
                losses = _score_subtrie(
                    model,
                    tables=tables,
                    leaves=leaves[chunk],
                    prompt_rows=prompt_rows,
                    prompt_logits=prompt_logits,
                    use_cache=use_cache,
                )
                leaf_scores[start : start + len(batch), chunk] = -losses
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


@dataclass(frozen=True)
class _TrieTables:
    """The trie with every node's parent and incoming token `(num_nodes,)` (root: -1)."""

    trie: EntityTrie
    parents: torch.Tensor
    tokens: torch.Tensor

    @classmethod
    def of(cls, trie: EntityTrie) -> _TrieTables:
        parents, tokens = trie.parents_and_tokens()
        return cls(trie, parents, tokens)

    def depth(self, nodes: torch.Tensor) -> torch.Tensor:
        """`(n,)` depth of `nodes` (the root is 0, a node after one token is 1)."""
        return torch.searchsorted(self.trie.depth_offsets, nodes, right=True) - 1

    def with_ancestors(self, nodes: torch.Tensor) -> torch.Tensor:
        """`nodes` and every ancestor (the root, node 0, included), sorted and distinct."""
        found, frontier = [nodes], nodes
        while frontier.numel():
            frontier = torch.unique(self.parents[frontier])
            frontier = frontier[frontier >= 0]  # the root's parent is -1
            found.append(frontier)
        return torch.unique(torch.cat(found))


@dataclass(frozen=True)
class _QueryMajorRows:
    """How the rows of one forward are laid out: every query x every node of `nodes`.

    Row `query * len(nodes) + slot` is query `query`'s prompt followed by the path to
    `nodes[slot]` (`nodes` sorted ascending): the prompt rows are `nodes = [root]`.
    """

    nodes: torch.Tensor
    num_queries: int

    def rows_of(self, nodes: torch.Tensor) -> torch.Tensor:
        """`(num_queries * len(nodes),)` flat rows of the pairs (query, node), query-major.

        Every node of `nodes` must be one of `self.nodes`.
        """
        slot = torch.searchsorted(self.nodes, nodes)
        first_row_of_query = torch.arange(self.num_queries)[:, None] * self.nodes.numel()
        return (first_row_of_query + slot[None, :]).reshape(-1)

    def per_query(self, values: torch.Tensor) -> torch.Tensor:
        """`(num_queries * len(values),)`: per-node `values` for every query, aligned with `rows_of`."""
        return values.repeat(self.num_queries)


def _score_subtrie(
    model: Any,
    *,
    tables: _TrieTables,
    leaves: torch.Tensor,
    prompt_rows: DecodingRows,
    prompt_logits: torch.Tensor,
    use_cache: bool,
) -> torch.Tensor:
    """Losses `(queries, len(leaves))` of the paths from the root to `leaves`.

    Level by level over `leaves` and their ancestors: the nodes of depth `d` take their
    log-probabilities from the logits of their parents' rows (depth `d - 1`), then the
    nodes that continue (not `[EOS]`) become the rows of the next forward.

    Args:
        prompt_rows, prompt_logits: the queries' prompts and their next-token logits
            `(queries, vocab)`: the rows of the root.
    """
    num_queries = prompt_logits.shape[0]
    device = prompt_logits.device
    parents, node_tokens = tables.parents, tables.tokens
    nodes = tables.with_ancestors(leaves)  # nodes[0] is the root
    depth = tables.depth(nodes)
    loss = torch.zeros(num_queries, nodes.numel(), dtype=torch.float64)  # root: loss 0
    layout = _QueryMajorRows(nodes=nodes[:1], num_queries=num_queries)  # rows of `logits`
    rows, logits = prompt_rows, prompt_logits
    for level in range(1, int(depth.max()) + 1):
        here = nodes[depth == level]
        log_p = log_probs_at(
            logits,
            layout.rows_of(parents[here]).to(device),
            layout.per_query(node_tokens[here]).to(device),
        ).cpu()
        parent_loss = loss[:, torch.searchsorted(nodes, parents[here])]
        loss[:, torch.searchsorted(nodes, here)] = parent_loss - log_p.view(num_queries, -1)
        inner = here[node_tokens[here] != tables.trie.eos_token_id]
        if inner.numel() == 0:
            break
        rows = extend_rows(
            rows,
            layout.rows_of(parents[inner]).to(device),
            layout.per_query(node_tokens[inner]).to(device),
            copy_cache=True,  # never reorder `prompt_rows`' cache: every chunk starts from it
        )
        logits, rows = run_rows(model, rows, fresh=False, use_cache=use_cache)
        layout = _QueryMajorRows(nodes=inner, num_queries=num_queries)
    return loss[:, torch.searchsorted(nodes, leaves)]


__all__ = ["score_candidates"]
