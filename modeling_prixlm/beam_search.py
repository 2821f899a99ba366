"""Link prediction with Prix-LM: batched constrained beam search (Algorithm 1).

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

This is the one home of Algorithm 1: the package (`prixlm.predict_objects`) and the
release folder's pipeline (`pipeline_prixlm.py`) both run it. `score_candidates` (the exact
log-likelihood of *every* candidate, a full ranking) lives in the package.

Hub custom code: imports only torch, transformers and this folder (relative imports).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from .constrained_decoding import EntityTrie
from .decoding_steps import (
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
            results.extend(decode_batch(model, tokenizer, batch, trie, num_beams))
    return results


def decode_batch(
    model: Any, tokenizer: Any, prompts: list[list[int]], trie: EntityTrie, num_beams: int
) -> list[RankedObjects]:
    """Algorithm 1 for one batch of prompt ids (ending with `[O]`): every completion, ranked."""
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


__all__ = [
    "DEFAULT_MAX_ROWS",
    "Query",
    "RankedObjects",
    "decode_batch",
    "default_batch_size",
    "encode_query",
    "predict_objects",
]
