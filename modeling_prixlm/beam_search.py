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

Two loops compute the same ranking for fp32 weights (losses equal to float32 rounding, so
candidates whose losses tie to within it may swap, as they may between two row budgets; with
half-precision weights the device loop's attention, computed in fp32, and the host loop's,
in the weights' dtype, differ by more). On the CPU (`decode_batch`), the bookkeeping keeps only
the open beams (ragged tensors: what a CPU does fastest). On an accelerator
(`decode_batch_on_device`), everything stays on the model's device in fixed shapes: the trie
is moved there once, each beam's children are a padded rectangle of its trie range, the K
best open extensions come from a per-beam then a per-query top-k (ties broken as on the
CPU), finished beams are kept as `-1` states, the prompts are cached once per query and
only the beams' object tokens per row (`BeamCache`, with its single-token attention), the
LM head runs over the vocabulary padded to 64 columns and the log-softmax normaliser is
one compiled pass over the logits, and whether any beam is still open, and a
bound on the beams per query two steps on (the rows shrink to it), are read from pinned
copies two steps late (`BeamBounds`: CUDA events), so the device always has work queued
and nothing is read back synchronously inside the step loop; the completions are copied to
the host once per batch. Both loops refuse next-token scores that are not finite (a NaN or
infinite logit: `NonFiniteScoresError`), checked once per batch, with no read in the loop.

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
    BeamBounds,
    DecodingRows,
    Query,
    best_children,
    encode_query,
    eval_mode,
    extend_rows,
    left_pad,
    log_normaliser,
    model_device,
    prepare_inputs,
    run_rows,
    smallest_k,
    uses_cache,
)

#: Default row budget of `predict_objects` on the CPU: queries x beams per forward (measured
#: in docs/benchmarks.md, "Constrained link prediction vs the reference").
DEFAULT_MAX_ROWS = 1024
#: The most rows per forward by default on a CUDA device, where larger forwards pay (one
#: H200, 1M entities, K=50, XLM-R base: 160.6 queries/s at 1,024 rows, 681.0 at 8,192).
DEVICE_MAX_ROWS = 8192
#: The share of a CUDA device's memory that one step's float32 logits may take by default
#: (the beams' key/value cache takes about as much again at the deepest steps).
LOGITS_MEMORY_SHARE = 1 / 8


class NonFiniteScoresError(ValueError):
    """The model's next-token log-probabilities are not finite: no ranking can be made."""

    def __init__(self) -> None:
        super().__init__(
            "the model's next-token scores are not finite (NaN or infinite logits), so no "
            "ranking can be made: its weights or activations are not finite (a diverged "
            "training run, or an overflow in half precision)"
        )


def rows_for_memory(total_memory: int, vocab_size: int) -> int:
    """`DEVICE_MAX_ROWS`, halved while `rows x vocab_size x 4` bytes of logits exceed
    `LOGITS_MEMORY_SHARE` of `total_memory` bytes, never below `DEFAULT_MAX_ROWS`."""
    rows = DEVICE_MAX_ROWS
    while rows > DEFAULT_MAX_ROWS and rows * vocab_size * 4 > total_memory * LOGITS_MEMORY_SHARE:
        rows //= 2
    return rows


def default_max_rows(model: Any) -> int:
    """`predict_objects`' row budget for `model`: `DEFAULT_MAX_ROWS` on the CPU (and any
    device but CUDA, or without `config.vocab_size`), else `rows_for_memory` of the CUDA
    device's memory and the vocabulary."""
    device = model_device(model)
    vocab_size = getattr(getattr(model, "config", None), "vocab_size", None)
    if device.type != "cuda" or not vocab_size:
        return DEFAULT_MAX_ROWS
    total = torch.cuda.get_device_properties(device).total_memory
    return rows_for_memory(total, int(vocab_size))


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
    max_rows: int | None = None,
    device_resident: bool | None = None,
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
            1 GB for 1,024 rows and XLM-R's 250k vocabulary. Default: `default_max_rows`
            (1,024 on the CPU; on a CUDA device up to 8,192, 8 GB of logits and several
            times the queries/s, as far as an eighth of the device's memory allows).
        device_resident: run the step loop on the model's device (`decode_batch_on_device`)
            instead of keeping the bookkeeping on the CPU (`decode_batch`). Default: on
            when the model is not on the CPU. Both give the same ranking (fp32 weights).
    Returns:
        One `RankedObjects` per query: every completed candidate, by increasing loss.
    Raises:
        ValueError: before decoding, for no queries or candidates, a subject/relation/entity
            that tokenises to nothing, an unknown language, or a candidate that does not fit
            `max_position_embeddings` after the longest prompt; after a batch, in both loops,
            when an open beam's next-token scores are not finite (`NonFiniteScoresError`).
    """
    if batch_size is None:
        rows = default_max_rows(model) if max_rows is None else max_rows
        batch_size = default_batch_size(num_beams, rows)
    if num_beams < 1 or batch_size < 1:
        raise ValueError(f"num_beams={num_beams} and batch_size={batch_size} must be >= 1")
    prompts, trie = prepare_inputs(model, tokenizer, queries, candidates_or_trie)
    if device_resident is None:
        device_resident = model_device(model).type != "cpu"
    decode = decode_batch_on_device if device_resident else decode_batch
    results: list[RankedObjects] = []
    with eval_mode(model):
        for start in range(0, len(prompts), batch_size):
            batch = prompts[start : start + batch_size]
            results.extend(decode(model, tokenizer, batch, trie, num_beams))
    return results


@torch.no_grad()
def decode_batch(
    model: Any, tokenizer: Any, prompts: list[list[int]], trie: EntityTrie, num_beams: int
) -> list[RankedObjects]:
    """Algorithm 1 for one batch of prompt ids (ending with `[O]`): every completion, ranked;
    `NonFiniteScoresError` after it if an open beam's logsumexp was ever NaN or infinite."""
    device, use_cache = model_device(model), uses_cache(model)
    rows = DecodingRows(*left_pad(prompts, tokenizer.pad_token_id, device), None)
    query = torch.arange(len(prompts))  # beams: query, trie state and loss per row
    state = torch.zeros(len(prompts), dtype=torch.long)
    loss = torch.zeros(len(prompts), dtype=torch.float64)
    done_query, done_node, done_loss = [], [], []
    non_finite = torch.zeros((), dtype=torch.bool, device=device)  # read once, at the end
    logits, rows = run_rows(model, rows, fresh=True, use_cache=use_cache)
    while True:
        parent, token, child = trie.children(state)
        normaliser = log_normaliser(logits)[:, 0]  # (open beams,): every row is an open beam
        non_finite |= ~torch.isfinite(normaliser).all()
        at = parent.to(device)
        log_p = (logits[at, token.to(device)] - normaliser[at]).double()  # as `log_probs_at`
        candidate_loss = loss[parent] - log_p.cpu()
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
    if non_finite.item():
        raise NonFiniteScoresError
    return _rank_completions(
        trie,
        tokenizer,
        len(prompts),
        torch.cat(done_query),
        torch.cat(done_node),
        torch.cat(done_loss),
    )


@torch.no_grad()
def decode_batch_on_device(
    model: Any, tokenizer: Any, prompts: list[list[int]], trie: EntityTrie, num_beams: int
) -> list[RankedObjects]:
    """`decode_batch` with the step loop on the model's device (module docstring).

    Rows are `queries x beams` in fixed shapes (a finished beam stays as state -1, loss
    `inf`); the K best extensions of a query are its beams' best open children, ordered by
    (loss, beam, token) as `decode_batch` orders them. Inside the loop nothing is read back
    synchronously: whether a beam is still open, and a bound on the beams per query two
    steps on, come from pinned copies two steps late (`BeamBounds`: the host waits at most
    for the step two behind, while the device has the next forwards queued). The rows
    shrink to the bound (fewer finished beams carried along); the loop may run a step or
    two past the end. A device flag, copied with the completions, refuses non-finite scores.
    """
    device, use_cache = model_device(model), uses_cache(model)
    host_trie, trie = trie, trie.to(device)
    widths = trie.max_children()
    num_queries, eos = len(prompts), trie.eos_token_id
    rows = DecodingRows(*left_pad(prompts, tokenizer.pad_token_id, device), None)
    beams = 1  # rows per query
    state = torch.zeros(num_queries, dtype=torch.long, device=device)
    loss = torch.zeros(num_queries, dtype=torch.float64, device=device)
    done_node, done_loss = [], []
    known = BeamBounds(device)
    grandchildren = trie.open_grandchildren()
    non_finite = torch.zeros((), dtype=torch.bool, device=device)  # no read inside the loop
    logits, rows = run_rows(model, rows, fresh=True, use_cache=use_cache, shared_prompts=True)
    for depth in range(trie.max_length):
        normaliser = log_normaliser(logits)  # (rows, 1); rows with state -1 are finished
        non_finite |= (~torch.isfinite(normaliser[:, 0]) & (state >= 0)).any()
        done_node.append(trie.step(state, torch.full_like(state, eos)))
        done_loss.append(loss - (logits[:, eos] - normaliser[:, 0]).double())
        bound = known.bound(depth)  # beams per query this step keeps, at most
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
        logits, rows = run_rows(model, rows, fresh=False, use_cache=use_cache, shared_prompts=True)
        if known.all_finished():
            break
    query = torch.cat(
        [
            torch.arange(num_queries, device=device).repeat_interleave(n.numel() // num_queries)
            for n in done_node
        ]
    )
    return _rank_on_device(  # the batch's one copy to the host
        trie,
        host_trie,
        tokenizer,
        num_queries,
        query,
        torch.cat(done_node),
        torch.cat(done_loss),
        non_finite,
    )


def _completion_order(queries: torch.Tensor, nodes: torch.Tensor, losses: torch.Tensor):
    """Indices that sort completions `(n,)` by (query, loss, node)."""
    order = torch.sort(nodes, stable=True).indices
    order = order[torch.sort(losses[order], stable=True).indices]
    return order[torch.sort(queries[order], stable=True).indices]


def _rank_completions(
    trie: EntityTrie,
    tokenizer: Any,
    num_queries: int,
    queries: torch.Tensor,
    nodes: torch.Tensor,
    losses: torch.Tensor,
) -> list[RankedObjects]:
    """Group completions `(n,)` by query and sort each by (loss, node)."""
    order = _completion_order(queries, nodes, losses)
    counts = torch.bincount(queries, minlength=num_queries)
    return _results(trie, tokenizer, counts, trie.entity_of(nodes[order]), losses[order])


def _rank_on_device(
    trie: EntityTrie,
    host_trie: EntityTrie,
    tokenizer: Any,
    num_queries: int,
    queries: torch.Tensor,
    nodes: torch.Tensor,
    losses: torch.Tensor,
    non_finite: torch.Tensor | None = None,
) -> list[RankedObjects]:
    """`_rank_completions` for device tensors, where `nodes` -1 is no completion: sorted on
    the device, copied to the host in one transfer (query, entity, loss as float64, and the
    0-d bool `non_finite`: `NonFiniteScoresError` if set)."""
    queries = torch.where(nodes >= 0, queries, num_queries)  # a last group, dropped
    order = _completion_order(queries, nodes, losses)
    entities = trie.entity_of(nodes[order].clamp(min=0))
    packed = torch.stack([queries[order].double(), entities.double(), losses[order]])
    flag = losses.new_zeros(1) if non_finite is None else non_finite.double().view(1)
    flat = torch.cat([packed.view(-1), flag]).cpu()
    if flat[-1]:
        raise NonFiniteScoresError
    packed = flat[:-1].view(3, -1)
    kept = int((packed[0] < num_queries).sum())
    counts = torch.bincount(packed[0, :kept].long(), minlength=num_queries)
    return _results(host_trie, tokenizer, counts, packed[1, :kept].long(), packed[2, :kept])


def _results(
    trie: EntityTrie,
    tokenizer: Any,
    counts: torch.Tensor,
    entities: torch.Tensor,
    losses: torch.Tensor,
) -> list[RankedObjects]:
    """`RankedObjects` per query from its `counts` `(queries,)` consecutive completions."""
    results, start = [], 0
    all_ids, all_losses = entities.tolist(), losses.tolist()
    for count in counts.tolist():
        ids = all_ids[start : start + count]
        labels = (
            [trie.labels[e] for e in ids]
            if trie.labels is not None
            else [_label(trie, tokenizer, e) for e in ids]
        )
        results.append(RankedObjects(ids, labels, all_losses[start : start + count]))
        start += count
    return results


def _label(trie: EntityTrie, tokenizer: Any, entity: int) -> str:
    label = trie.label(entity)
    return label if label is not None else tokenizer.decode(trie.token_ids(entity)[:-1])


__all__ = [
    "DEFAULT_MAX_ROWS",
    "DEVICE_MAX_ROWS",
    "NonFiniteScoresError",
    "Query",
    "RankedObjects",
    "decode_batch",
    "decode_batch_on_device",
    "default_batch_size",
    "default_max_rows",
    "encode_query",
    "predict_objects",
    "rows_for_memory",
]
