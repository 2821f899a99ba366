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
    encode_query,
    eval_mode,
    extend_rows,
    left_pad,
    log_probs_at,
    model_device,
    prepare_inputs,
    run_rows,
    uses_cache,
)

#: Default row budget of `predict_objects`: queries x beams per forward (measured in
#: docs/benchmarks.md, "Constrained link prediction vs the reference").
DEFAULT_MAX_ROWS = 1024


def default_batch_size(num_beams: int, max_rows: int = DEFAULT_MAX_ROWS) -> int:
    """Queries per forward of `predict_objects` for a budget of `max_rows` rows (>= 1)."""
    if num_beams < 1 or max_rows < 1:
        raise ValueError(f"num_beams={num_beams} and max_rows={max_rows} must be >= 1")
    return max(1, max_rows // num_beams)


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
    batch_size: int | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> list[RankedObjects]:
    """Algorithm 1 (official-release semantics, module docstring) for every query.

    The model runs in eval mode (its previous mode is restored afterwards, also on errors):
    dropout would change the ranking at every call.

    Args:
        model: a `PrixLMForCausalKB` (or any causal LM taking `input_ids`, 2D
            `attention_mask`, `cache`, `use_cache`, `logits_to_keep`), in any mode.
        queries: `(subject, relation)` triples, `(subject, s_lang, o_lang)` links or rows.
        candidates_or_trie: entity labels or a prebuilt `EntityTrie` (with labels, ideally).
        num_beams: K, the partial sequences kept per query and step (paper: 50).
        batch_size: queries decoded together; a forward sees up to `batch_size * num_beams`
            rows and returns `(rows, vocab)` float32 logits. Default:
            `default_batch_size(num_beams, max_rows)`.
        max_rows: the row budget that sets the default `batch_size` (`max_rows // num_beams`
            queries, at least one). Logits take `max_rows x vocab x 4` bytes per step:
            1 GB for 1,024 rows and XLM-R's 250k vocabulary; lower it on a small GPU.
    Returns:
        One `RankedObjects` per query: every completed candidate, by increasing loss.
    Raises:
        ValueError: before decoding, for no queries or candidates, a subject/relation/entity
            that tokenises to nothing, an unknown language, or a candidate that does not fit
            `max_position_embeddings` after the longest prompt.
    """
    if batch_size is None:
        batch_size = default_batch_size(num_beams, max_rows)
    if num_beams < 1 or batch_size < 1:
        raise ValueError(f"num_beams={num_beams} and batch_size={batch_size} must be >= 1")
    prompts, trie = prepare_inputs(model, tokenizer, queries, candidates_or_trie)
    results: list[RankedObjects] = []
    with eval_mode(model):
        for start in range(0, len(prompts), batch_size):
            batch = prompts[start : start + batch_size]
            results.extend(_decode_batch(model, tokenizer, batch, trie, num_beams))
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

    def tokens_of(self, tokens: torch.Tensor) -> torch.Tensor:
        """`(len(tokens),)` per-node values repeated for every query, aligned with `rows_of`."""
        return tokens.repeat(self.num_queries)


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
            layout.tokens_of(node_tokens[here]).to(device),
        ).cpu()
        parent_loss = loss[:, torch.searchsorted(nodes, parents[here])]
        loss[:, torch.searchsorted(nodes, here)] = parent_loss - log_p.view(num_queries, -1)
        inner = here[node_tokens[here] != tables.trie.eos_token_id]
        if inner.numel() == 0:
            break
        rows = extend_rows(
            rows,
            layout.rows_of(parents[inner]).to(device),
            layout.tokens_of(node_tokens[inner]).to(device),
            copy_cache=True,  # never reorder `prompt_rows`' cache: every chunk starts from it
        )
        logits, rows = run_rows(model, rows, fresh=False, use_cache=use_cache)
        layout = _QueryMajorRows(nodes=inner, num_queries=num_queries)
    return loss[:, torch.searchsorted(nodes, leaves)]


__all__ = [
    "DEFAULT_MAX_ROWS",
    "Query",
    "RankedObjects",
    "default_batch_size",
    "encode_query",
    "predict_objects",
    "score_candidates",
]
