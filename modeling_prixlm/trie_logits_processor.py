"""`generate()` constrained to a trie of candidate entities (beam search over `EntityTrie`):

    processor = TrieConstrainedLogitsProcessor(trie, prompt_length=input_ids.shape[1])
    model.generate(input_ids, num_beams=50, num_return_sequences=50, length_penalty=0.0,
                   early_stopping=False, logits_processor=[processor],
                   max_new_tokens=trie.max_length)

Algorithm 1 itself (every completed entity kept, no beam slot for completions) is
`beam_search.predict_objects`; this processor is for callers of `generate()`.

Hub custom code: imports only torch, transformers and this folder.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from transformers import GenerationMixin, LogitsProcessor

from .constrained_decoding import EntityTrie


class TrieConstrainedLogitsProcessor(LogitsProcessor):
    """Mask every row of the scores to the tokens its trie state allows.

    The state of a row is read from its tokens after `prompt_length` (all rows share the
    prompt length: left-pad batched prompts). Vectorised over rows: a few tensor ops per
    generated position, no Python loop over beams: the allowed scores are gathered, the
    row is filled with `-inf` and they are scattered back; when every row is in one state
    that allows many tokens (the root, at the first step) one broadcast `-inf`/0 penalty
    is added instead. A row with no continuation (a dead prefix, e.g. a beam that `generate`
    filled with a `-inf` token) gets only `[EOS]`, at score `finfo.min`, so the batch never
    crashes and such hypotheses sort last: drop returned sequences scoring below about
    -1e9 (also `generate`'s placeholder beams start at -1e9).

    With `length_penalty=0` the beam score is the plain sum of log-probabilities over the full
    vocabulary, as in the paper; `generate` keeps `num_beams` finished hypotheses, while
    `beam_search.predict_objects` keeps every completed entity (Algorithm 1).

    Args:
        trie: the candidate entities.
        prompt_length: length of the (padded) prompt, `input_ids.shape[1]` of `generate`.
        inplace: write into `scores` (default; beam search passes a fresh tensor at every
            step, and a 250k-column copy costs more than the masking). Set False when the
            caller keeps `scores`, e.g. greedy/sampling with `output_logits=True`.
    """

    def __init__(self, trie: EntityTrie, prompt_length: int, inplace: bool = True) -> None:
        self.trie = trie
        self.prompt_length = int(prompt_length)
        self.inplace = inplace
        self._max_token = int((trie.edge_keys % trie.stride).max()) if trie.num_nodes > 1 else 0

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        """`(rows, length)` ids and `(rows, vocab)` scores -> `(rows, vocab)` masked scores."""
        num_rows, vocab = scores.shape
        if self._max_token >= vocab:
            raise ValueError(
                f"the trie uses token {self._max_token} but the scores have {vocab} columns"
            )
        if input_ids.shape[1] < self.prompt_length:
            raise ValueError(
                f"input of length {input_ids.shape[1]} < prompt_length {self.prompt_length}"
            )
        device = self.trie.edge_keys.device
        states = self.trie.walk(input_ids[:, self.prompt_length :].to(device))
        distinct, inverse = torch.unique(states, return_inverse=True)
        state_rows, state_tokens, _ = self.trie.children(distinct)
        per_state = torch.bincount(state_rows, minlength=distinct.numel())
        allowed_per_row = per_state[inverse]
        processed = scores if self.inplace else scores.clone()
        processed = processed.contiguous()  # a copy only if `scores` was not contiguous
        if distinct.numel() == 1 and int(per_state.sum()) * 16 > vocab:
            # every row in one state with many allowed tokens (the root): one broadcast add
            penalty = torch.full((1, vocab), float("-inf"), dtype=scores.dtype, device=device)
            penalty[0, state_tokens] = 0.0
            processed.add_(penalty.to(scores.device))
        else:
            rows, tokens, _ = self.trie.children(states)
            flat = (rows * vocab + tokens).to(scores.device)
            allowed_scores = processed.view(-1).take(flat)
            processed.fill_(float("-inf"))
            processed.view(-1).index_copy_(0, flat, allowed_scores)
        dead = (allowed_per_row == 0).to(scores.device)
        processed[dead, self.trie.eos_token_id] = torch.finfo(scores.dtype).min
        return processed


#: `generate()`'s parameters in order (`self` left out): a positional `generation_config` or
#: `logits_processor` is bound to its name as `generate()` binds it.
_GENERATE = inspect.signature(GenerationMixin.generate)
#: `generate()`'s limit where neither `max_new_tokens` nor `max_length` is set: 20 new tokens
#: (transformers' default `max_length`, counted after the prompt).
_DEFAULT_NEW_TOKENS = 20


def generate_arguments(args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments of a `generate(*args, **kwargs)` call by name (its `**kwargs` among
    them); `kwargs` alone where they do not bind (`generate()` itself says what is wrong)."""
    try:
        bound = _GENERATE.bind_partial(None, *args, **kwargs)  # None: `self`
    except TypeError:
        return dict(kwargs)
    named = dict(bound.arguments)
    named.pop("self", None)
    for name, parameter in _GENERATE.parameters.items():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            named.update(named.pop(name, {}))
    return named


def _new_token_limit(default_config: Any, named: Mapping[str, Any]) -> int | None:
    """The new-token limit `generate()` applies to a call (`named`: `generate_arguments`),
    as transformers resolves it: a keyword argument over the call's `generation_config`,
    whose unset values are the model's (`default_config`); `max_length` (with the prompt's
    length) where no `max_new_tokens` is set. None where it cannot be told (no prompt tensor)."""
    passed = named.get("generation_config")

    def setting(name: str) -> Any:
        if name in named:
            return named[name]
        value = getattr(passed, name, None) if passed is not None else None
        return getattr(default_config, name, None) if value is None else value

    new_tokens = setting("max_new_tokens")
    if new_tokens is not None:
        return new_tokens
    max_length = setting("max_length")
    if max_length is None:
        return _DEFAULT_NEW_TOKENS
    prompt = named.get("inputs", named.get("input_ids"))
    if not isinstance(prompt, torch.Tensor):
        return None
    return max_length - prompt.shape[-1]


def check_new_tokens(default_config: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
    """`ValueError` for a `generate(*args, **kwargs)` call constrained by a
    `TrieConstrainedLogitsProcessor` whose new-token limit (`max_new_tokens` of the call,
    else of its `generation_config`, else of `default_config`: 30 for a release; else
    `max_length` less the prompt's length) is shorter than the trie's longest entity with
    its `[EOS]`: `generate()` would return such an entity cut, without `[EOS]`, as if it
    were an answer. Arguments passed by position count as by name."""
    named = generate_arguments(args, kwargs)
    # by name: the package's class and the Hub's copy of this module (a model loaded with
    # `trust_remote_code=True`) are two classes
    tries = [
        processor.trie
        for processor in named.get("logits_processor") or ()
        if type(processor).__name__ == TrieConstrainedLogitsProcessor.__name__
    ]
    if not tries:
        return
    limit = _new_token_limit(default_config, named)
    longest = max(trie.max_length for trie in tries)
    if limit is not None and limit < longest:
        raise ValueError(
            f"max_new_tokens={limit} is shorter than the trie's longest entity with its [EOS] "
            f"({longest} tokens): generate() would return it cut, without [EOS]; pass "
            f"max_new_tokens=trie.max_length"
        )


__all__ = ["TrieConstrainedLogitsProcessor", "check_new_tokens"]
