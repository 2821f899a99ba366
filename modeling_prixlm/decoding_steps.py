"""Model steps shared by the link-prediction decoders (`beam_search`, and
`prixlm.link_prediction.candidate_scoring` in the package).

Queries to prompt ids, input checks that must pass before any forward (the positions:
`position_checks`), eval mode for the duration of a decoding, and rows of growing sequences
that carry a KV cache (left-padded prompts, 2D attention masks over past + new tokens, the
cache index-selected when rows are re-parented).

Public (`__all__`): what other modules use. The row functions and classes (`DecodingRows`,
`run_rows`, `extend_rows`, ...) are the decoders' internals, as are the device-resident beam
search's steps (`best_children`: a padded rectangle of trie children and a stable top-k;
`BeamBounds`: whether a beam is open, read without waiting for the device).

Hub custom code: imports only torch, transformers and this folder (relative imports).
"""

from __future__ import annotations

import threading
import warnings
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from transformers.cache_utils import DynamicCache

from .beam_cache import BeamCache
from .constrained_decoding import EntityTrie
from .formatting import (
    encode_link_prompt,
    encode_prompt,
    encode_triple_prompt,
    special_token_ids,
)
from .modeling_prixlm import output_cache
from .position_checks import PositionBudgetError, check_positions

#: (subject, relation), (subject, subject_language, object_language) or a dataset row.
Query = tuple[str, str] | tuple[str, str, str] | Mapping[str, Any]


def encode_query(tokenizer: Any, query: Query) -> list[int]:
    """Prompt ids ending with `[O]` for a triple or link query (see `formatting`)."""
    if isinstance(query, Mapping):
        return encode_prompt(tokenizer, query)
    if isinstance(query, tuple) and len(query) == 2:
        return encode_triple_prompt(tokenizer, *query)
    if isinstance(query, tuple) and len(query) == 3:
        try:
            return encode_link_prompt(tokenizer, *query)
        except ValueError as error:  # ("Berlin", "country", "en") reads "country" as a code
            raise ValueError(
                f"{error}; a 3-tuple query is a link (subject, subject_language, "
                f"object_language): {query!r} (a triple query is (subject, relation))"
            ) from error
    raise TypeError(
        f"a query is (subject, relation), (subject, s_lang, o_lang) or a row: {query!r}"
    )


def as_trie(tokenizer: Any, candidates_or_trie: Sequence[str] | EntityTrie) -> EntityTrie:
    """The candidates' trie (built with `EntityTrie.from_labels` unless given)."""
    if isinstance(candidates_or_trie, EntityTrie):
        return candidates_or_trie
    if isinstance(candidates_or_trie, str):
        raise TypeError("candidates must be a sequence of labels, not one string")
    return EntityTrie.from_labels(tokenizer, list(candidates_or_trie))


def prepare_inputs(
    model: Any, tokenizer: Any, queries: Sequence[Query], candidates_or_trie: Any
) -> tuple[list[list[int]], EntityTrie]:
    """Encode prompts and check everything that could fail mid-decoding (ValueError)."""
    queries = list(queries)
    if not queries:
        raise ValueError("no queries")
    prompts = [encode_query(tokenizer, query) for query in queries]
    trie = as_trie(tokenizer, candidates_or_trie)
    eos = special_token_ids(tokenizer, ()).end_of_object
    if trie.eos_token_id != eos:
        raise ValueError(
            f"the trie ends entities with id {trie.eos_token_id}, the tokenizer's [EOS] is {eos}"
        )
    config = model.config
    vocab = config.get_text_config().vocab_size
    if trie.stride > vocab and int((trie.edge_keys % trie.stride).max()) >= vocab:
        raise ValueError(f"the candidates use token ids beyond the model's vocabulary ({vocab})")
    check_positions(config, queries, prompts, trie)
    return prompts, trie


#: Models inside `eval_mode` (in any thread): [calls inside, every submodule's mode before].
_IN_EVAL: weakref.WeakKeyDictionary[Any, list] = weakref.WeakKeyDictionary()
_IN_EVAL_LOCK = threading.Lock()


@contextmanager
def eval_mode(model: Any) -> Iterator[Any]:
    """Run `model` in eval mode (no dropout: decoding in train mode would rank differently
    on every call), then restore every submodule's mode, also when the body raises. Calls
    that overlap on one model (threads, nesting) share one eval mode: the last out restores."""
    if not isinstance(model, torch.nn.Module):
        yield model
        return
    with _IN_EVAL_LOCK:
        entry = _IN_EVAL.setdefault(model, [0, [(m, m.training) for m in model.modules()]])
        entry[0] += 1
        model.eval()
    try:
        yield model
    finally:
        with _IN_EVAL_LOCK:
            entry[0] -= 1
            if entry[0] == 0:
                del _IN_EVAL[model]
                for module, training in entry[1]:
                    module.training = training


def model_device(model: Any) -> torch.device:
    return next(model.parameters()).device


def half_precision_message(model: Any) -> str | None:
    """The warning for a model whose floating-point weights are half precision (`bfloat16`,
    `float16`: loaded with `dtype=`, cast with `.half()`, or saved so and loaded with the
    default `dtype="auto"`), else None. Its scores are rounded and near-equal candidates
    change places: its rankings are not those of the float32 weights the release was
    evaluated with."""
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), None)
    if dtype not in (torch.bfloat16, torch.float16):
        return None
    name = str(dtype).removeprefix("torch.")
    return (
        f"the model's weights are {name}: its scores are rounded and candidates with close "
        "scores change places, so its rankings differ from those of the float32 weights "
        "(the release's); load it with dtype=torch.float32 to rank as the release does"
    )


def uses_cache(model: Any) -> bool:
    return getattr(model.config, "object_attention", None) != "bidirectional"


def left_pad(
    prompts: Sequence[Sequence[int]], pad: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """`(n, longest)` ids and attention mask, padded on the left."""
    width = max(map(len, prompts))
    ids = torch.full((len(prompts), width), pad, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt) :] = torch.tensor(prompt)
        mask[row, width - len(prompt) :] = 1
    return ids.to(device), mask.to(device)


@dataclass
class DecodingRows:
    """Sequences being decoded: ids and mask `(rows, length)`, the cache of all but the last."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    cache: DynamicCache | None


def run_rows(
    model: Any, rows: DecodingRows, fresh: bool, use_cache: bool, shared_prompts: bool = False
) -> tuple[torch.Tensor, DecodingRows]:
    """Next-token logits `(rows, vocab)` (float32) after each row, and the rows with their cache.

    `shared_prompts`: the rows that will continue these are query-major, the same number
    per prompt (`decode_batch_on_device`, the full-ranking scorer): the prompts' cache
    becomes a `BeamCache` (each prompt cached once, not once per row), and off the CPU a
    Prix-LM returns logits over its vocabulary padded to 64 columns (-inf there: the same
    log-softmax, a faster projection; `PrixLMLMHead.decoding_logits`).
    """
    extra = {"padded_logits": True} if shared_prompts and _pads_logits(model) else {}
    if use_cache:
        new_ids = rows.input_ids if fresh else rows.input_ids[:, -1:]
        out = model(
            input_ids=new_ids,
            attention_mask=rows.attention_mask,
            cache=None if fresh else rows.cache,
            use_cache=True,
            logits_to_keep=1,
            **extra,
        )
        cache = output_cache(out)
        if fresh and shared_prompts and getattr(model, "supports_beam_cache", False):
            cache = BeamCache.from_prompt(cache, rows.attention_mask)
        return out.logits[:, -1].float(), DecodingRows(rows.input_ids, rows.attention_mask, cache)
    out = model(
        input_ids=rows.input_ids,
        attention_mask=rows.attention_mask,
        use_cache=False,
        logits_to_keep=1,
        **extra,
    )
    return out.logits[:, -1].float(), rows


def _pads_logits(model: Any) -> bool:
    """A Prix-LM off the CPU (there the padded projection pays; on the CPU it would not)."""
    head = getattr(model, "lm_head", None)
    return hasattr(head, "decoding_logits") and model_device(model).type != "cpu"


def extend_rows(
    rows: DecodingRows, parents: torch.Tensor, tokens: torch.Tensor, copy_cache: bool
) -> DecodingRows:
    """Rows `parents` of `rows`, each followed by its token of `tokens` `(n,)`."""
    cache = rows.cache
    if isinstance(cache, BeamCache):  # a new cache: `rows.cache` stays usable
        cache = cache.select(parents)
    elif cache is not None:
        if copy_cache:  # keep `rows.cache` usable
            cache = DynamicCache(
                [(k.index_select(0, parents), v.index_select(0, parents)) for k, v, *_ in cache]
            )
        else:
            cache.reorder_cache(parents)
    ones = torch.ones_like(tokens)[:, None]
    return DecodingRows(
        torch.cat([rows.input_ids.index_select(0, parents), tokens[:, None]], 1),
        torch.cat([rows.attention_mask.index_select(0, parents), ones], 1),
        cache,
    )


def log_probs_at(logits: torch.Tensor, rows: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """`log_softmax(logits, -1)[rows, tokens]` `(n,)` float64, without the full softmax."""
    normaliser = log_normaliser(logits)[:, 0]
    return (logits[rows, tokens] - normaliser[rows]).double()


def _logsumexp(logits: torch.Tensor) -> torch.Tensor:
    # written as softmax's first half, which the compiler turns into one pass (online softmax)
    largest = logits.amax(dim=-1, keepdim=True)
    return (logits - largest).exp().sum(dim=-1, keepdim=True).log() + largest


_compiled_logsumexp: Any = None  # False once compiling failed


def log_normaliser(logits: torch.Tensor) -> torch.Tensor:
    """`logsumexp(logits, -1)` `(rows, 1)` of `(rows, vocab)` float32 logits.

    On CUDA a compiled reduction reads the logits once (`torch.logsumexp` takes five passes
    over them: 8 GB each for 8,192 rows of a 250k vocabulary); elsewhere, or if compiling
    fails (a warning, then `torch.logsumexp`), `torch.logsumexp`. The two agree to float32
    rounding.
    """
    global _compiled_logsumexp
    if logits.device.type == "cuda" and _compiled_logsumexp is not False:
        try:
            if _compiled_logsumexp is None:
                _compiled_logsumexp = torch.compile(_logsumexp)
            return _compiled_logsumexp(logits)
        except Exception as error:  # noqa: BLE001 - any compiler failure: fall back
            warnings.warn(
                f"log_normaliser: compiling failed ({error!r}); using torch.logsumexp",
                stacklevel=2,
            )
            _compiled_logsumexp = False
    return torch.logsumexp(logits, dim=-1, keepdim=True)


#: Elements of one `(beams, children)` rectangle in `decode_batch_on_device` (wider nodes
#: are taken in column chunks): 16M x (8 + 8 + 8 + 1) bytes.
_CHILDREN_BUDGET = 1 << 24


def smallest_k(values: torch.Tensor, k: int) -> torch.Tensor:
    """Positions `(n, k)` of the `k` smallest of each row of `values` `(n, m)`, `k <= m`,
    ordered by (value, position): a stable top-k (`torch.topk` alone breaks ties anyhow)."""
    kth = values.topk(k, dim=1, largest=False, sorted=True).values[:, -1:]
    less, ties = values < kth, values == kth
    need = k - less.sum(1, keepdim=True)
    take = less | (ties & (ties.cumsum(1) <= need))
    positions = torch.arange(values.shape[1], device=values.device)
    key = torch.where(take, positions, positions + values.shape[1])
    chosen = key.topk(k, dim=1, largest=False, sorted=True).indices  # by position
    return chosen.gather(1, torch.sort(values.gather(1, chosen), dim=1, stable=True).indices)


def best_children(
    trie: EntityTrie,
    state: torch.Tensor,
    loss: torch.Tensor,
    logits: torch.Tensor,
    normaliser: torch.Tensor,
    width: int,
    k: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The `k` best open (not `[EOS]`) extensions of each beam: `(loss, token, child)`,
    each `(beams, k)`, by (loss, token); `inf` losses where a beam has fewer.

    Args:
        state, loss: `(beams,)` trie nodes (-1: finished) and losses (`inf` if finished).
        logits, normaliser: `(beams, vocab)` next-token logits and their `(beams, 1)`
            logsumexp, so that `log p = logits - normaliser` (as `log_probs_at`).
        width: the most children a node of this depth has.
    """
    first, count = trie.child_ranges(state)
    chunk = max(k, _CHILDREN_BUDGET // max(1, state.numel()))
    best = None
    for start in range(0, width, chunk):
        token, child, valid = trie.children_padded(first, count, start, min(chunk, width - start))
        value = loss[:, None] - (logits.gather(1, token) - normaliser).double()
        value = value.masked_fill(~valid | (token == trie.eos_token_id), float("inf"))
        if best is not None:  # earlier chunks hold smaller tokens: they stay first on ties
            value, token, child = (
                torch.cat([b, x], 1) for b, x in zip(best, (value, token, child), strict=True)
            )
        pick = smallest_k(value, min(k, value.shape[1]))
        best = (value.gather(1, pick), token.gather(1, pick), child.gather(1, pick))
    assert best is not None
    return best


class BeamBounds:
    """What the host learns about the beams without waiting for the device.

    After each selection `record` computes, on the device, whether any beam is open and
    a bound on the beams per query two selections later (`EntityTrie.open_grandchildren`,
    summed per query, at most K). On a CUDA device both are copied to pinned memory behind
    an event and read once the event has passed (`Event.query()`, which never blocks, or,
    for the bound, a wait on a step two behind: see `bound`); elsewhere they are read at
    once. No tensor is read back synchronously (`.item()`, `.cpu()`, `nonzero`).
    """

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        self.pending: list[tuple[int, Any, torch.Tensor]] = []
        self.bounds: dict[int, int] = {}
        self.finished = False

    def record(
        self, depth: int, state: torch.Tensor, grandchildren: torch.Tensor, queries: int, k: int
    ) -> None:
        """Beams `state` `(queries * beams,)` chosen by the selection of step `depth`."""
        reach = torch.where(state >= 0, grandchildren[state.clamp(min=0)], 0)
        values = torch.stack(
            [(state >= 0).any().long(), reach.view(queries, -1).sum(1).clamp(max=k).max()]
        )
        if not self.cuda:
            self._read(depth, values)
            return
        pinned = torch.empty(2, dtype=torch.long, pin_memory=True)
        pinned.copy_(values, non_blocking=True)
        event = torch.cuda.Event()
        event.record()
        self.pending.append((depth, event, pinned))

    def _read(self, depth: int, values: torch.Tensor) -> None:
        any_open, bound = values.tolist()
        self.finished = self.finished or not any_open
        self.bounds[depth + 2] = bound

    def all_finished(self) -> bool:
        """True once a step the device has passed had no open beam."""
        while self.pending and self.pending[0][1].query():
            depth, _, pinned = self.pending.pop(0)
            self._read(depth, pinned)
        return self.finished

    def bound(self, depth: int) -> int | None:
        """A bound on the beams per query chosen at step `depth` (None at steps 0 and 1).

        On CUDA this waits, if need be, until the device has passed the selection of step
        `depth - 2`: by then the forward of `depth - 1` and the selection and forward of
        the step before are queued behind it, so the device never waits for the host; and
        the host stays at most two steps ahead, so that it learns the end in time.
        """
        while self.pending and self.pending[0][0] <= depth - 2:
            recorded, event, pinned = self.pending.pop(0)
            event.synchronize()
            self._read(recorded, pinned)
        self.all_finished()
        return self.bounds.get(depth)


__all__ = [
    "PositionBudgetError",
    "Query",
    "encode_query",
    "eval_mode",
    "half_precision_message",
    "log_normaliser",
    "prepare_inputs",
    "smallest_k",
]
