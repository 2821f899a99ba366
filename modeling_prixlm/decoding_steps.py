"""Model steps shared by the link-prediction decoders (`beam_search`, and
`prixlm.link_prediction.candidate_scoring` in the package).

Queries to prompt ids, input checks that must pass before any forward, eval mode for the
duration of a decoding, and rows of growing sequences that carry a KV cache (left-padded
prompts, 2D attention masks over past + new tokens, the cache index-selected when rows are
re-parented).

Public (`__all__`): what other modules use. The row helpers (`DecodingRows`, `run_rows`,
`extend_rows`, ...) are the decoders' internals.

Hub custom code: imports only torch, transformers and this folder (relative imports).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from transformers.cache_utils import DynamicCache

from .constrained_decoding import EntityTrie
from .formatting import (
    encode_link_prompt,
    encode_prompt,
    encode_triple_prompt,
    special_token_ids,
)

#: (subject, relation), (subject, subject_language, object_language) or a dataset row.
Query = tuple[str, str] | tuple[str, str, str] | Mapping[str, Any]


def encode_query(tokenizer: Any, query: Query) -> list[int]:
    """Prompt ids ending with `[O]` for a triple or link query (see `formatting`)."""
    if isinstance(query, Mapping):
        return encode_prompt(tokenizer, query)
    if isinstance(query, tuple) and len(query) == 2:
        return encode_triple_prompt(tokenizer, *query)
    if isinstance(query, tuple) and len(query) == 3:
        return encode_link_prompt(tokenizer, *query)
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
    max_positions = getattr(config, "max_position_embeddings", None)
    if max_positions is not None:
        # XLM-R positions start at padding_idx + 1; the final [EOS] is predicted, never fed.
        pad = getattr(config, "pad_token_id", None)
        budget = max_positions - (pad + 1 if pad is not None else 0)
        longest_prompt = max(map(len, prompts))
        fed = trie.entity_lengths() - 1 + longest_prompt
        if int(fed.max()) > budget:
            worst = int(fed.argmax())
            name = trie.label(worst) or f"#{worst}"
            raise ValueError(
                f"candidate {name!r} ({int(fed[worst]) - longest_prompt} tokens) with the longest "
                f"prompt ({longest_prompt} tokens) needs {int(fed[worst])} positions, but the model "
                f"has {budget} (max_position_embeddings={max_positions}); "
                f"{int((fed > budget).sum())} candidates are too long: drop or shorten them"
            )
    return prompts, trie


@contextmanager
def eval_mode(model: Any) -> Iterator[Any]:
    """Run `model` in eval mode (no dropout), then restore every submodule's previous mode.

    Decoding in train mode would give different rankings on every call. The modes are
    restored also when the body raises.
    """
    if not isinstance(model, torch.nn.Module):
        yield model
        return
    modules = list(model.modules())
    previous = [module.training for module in modules]
    model.eval()
    try:
        yield model
    finally:
        for module, training in zip(modules, previous, strict=True):
            module.training = training


def model_device(model: Any) -> torch.device:
    return next(model.parameters()).device


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
    model: Any, rows: DecodingRows, fresh: bool, use_cache: bool
) -> tuple[torch.Tensor, DecodingRows]:
    """Next-token logits `(rows, vocab)` (float32) after each row, and the rows with their cache."""
    if use_cache:
        new_ids = rows.input_ids if fresh else rows.input_ids[:, -1:]
        out = model(
            input_ids=new_ids,
            attention_mask=rows.attention_mask,
            cache=None if fresh else rows.cache,
            use_cache=True,
            logits_to_keep=1,
        )
        return out.logits[:, -1].float(), DecodingRows(
            rows.input_ids, rows.attention_mask, out.cache
        )
    out = model(
        input_ids=rows.input_ids,
        attention_mask=rows.attention_mask,
        use_cache=False,
        logits_to_keep=1,
    )
    return out.logits[:, -1].float(), rows


def extend_rows(
    rows: DecodingRows, parents: torch.Tensor, tokens: torch.Tensor, copy_cache: bool
) -> DecodingRows:
    """Rows `parents` of `rows`, each followed by its token of `tokens` `(n,)`."""
    cache = rows.cache
    if cache is not None:
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
    normaliser = torch.logsumexp(logits, dim=-1)
    return (logits[rows, tokens] - normaliser[rows]).double()


__all__ = ["Query", "encode_query", "eval_mode", "prepare_inputs"]
