"""Prix-LM's attention mask and XLM-R positions, built from 2D inputs.

With `object_attention="prefix_bidirectional"` every position up to `[O]` sees the whole
prefix `<s> ... [O]`, and object positions see only themselves and earlier positions (paper
§2.2). Positions follow XLM-R (start at `padding_idx + 1`, skip padding) and are computed
from the 2D attention mask over cached and new tokens, so a full forward and cached decoding
agree, with left padding too.

Hub custom code: imports only torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def xlmr_position_ids(
    attention_mask: torch.Tensor, query_length: int, padding_idx: int
) -> torch.Tensor:
    """XLM-R position ids of the last `query_length` tokens.

    Args:
        attention_mask: `(batch, past + query_length)`, 1 for tokens and 0 for padding.
    Returns:
        `(batch, query_length)`: `padding_idx + 1 + (number of earlier real tokens)` for real
        tokens, `padding_idx` for padding.
    """
    mask = attention_mask.long()
    positions = torch.cumsum(mask, dim=1) * mask + padding_idx
    return positions[:, -query_length:]


def build_attention_mask(
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    past_length: int,
    object_token_id: int | None,
    mode: str,
    check_markers: bool = True,
    empty_object_ids: Sequence[int] = (),
) -> torch.Tensor:
    """Boolean attention mask (True = may attend) of shape `(batch, 1, query, past + query)`.

    Args:
        input_ids: `(batch, query)` new tokens.
        attention_mask: `(batch, past + query)` 2D padding mask.
        past_length: number of cached positions before `input_ids`.
        object_token_id: id of `[O]`; the first `[O]` of a row ends its bidirectional prefix
            (required by `"prefix_bidirectional"`: ValueError when None).
        mode: `"prefix_bidirectional"`, `"causal"` or `"bidirectional"`.
        check_markers: raise ValueError for a real row without `[O]` (reads a flag on the
            host: a device sync). Off for inputs validated before (the training collator)
            and under `torch.compile`; such a row then attends causally.
        empty_object_ids: with `check_markers` (and no cache), also raise ValueError for a
            real row whose first `[O]` is immediately followed by a real token of these ids
            (`</s>`, `<s>`): an empty object, never seen in training, so the model closes it
            at once. A prompt given to `generate()` with the tokenizer's default
            `add_special_tokens=True` ends `[O] </s>` so. The same host read as the `[O]`
            check: no further sync. Empty (the default): not checked (full facts with
            labels; `generate()`'s later steps, which hold generated tokens).
    """
    batch, query = input_ids.shape
    device = input_ids.device
    key_positions = torch.arange(past_length + query, device=device)
    query_positions = torch.arange(query, device=device) + past_length
    allowed = (key_positions[None, :] <= query_positions[:, None])[None].expand(batch, -1, -1)
    if mode == "bidirectional":
        allowed = torch.ones_like(allowed)
    elif mode == "prefix_bidirectional":
        _require_object_token(object_token_id)
        is_object_marker = input_ids == object_token_id
        has_marker = is_object_marker.any(dim=1)
        first_marker = is_object_marker.long().argmax(dim=1)
        if check_markers and past_length == 0:
            _check_prompt_rows(
                input_ids, attention_mask, has_marker, first_marker, object_token_id,
                empty_object_ids,
            )  # fmt: skip
        # Rows without [O] in this chunk continue a cached prefix: they are plain causal.
        object_start = torch.where(has_marker, first_marker + past_length, -1)
        in_prefix_query = query_positions[None, :] <= object_start[:, None]
        in_prefix_key = key_positions[None, :] <= object_start[:, None]
        allowed = allowed | (in_prefix_query[:, :, None] & in_prefix_key[:, None, :])
    elif mode != "causal":
        raise ValueError(f"unknown object_attention mode {mode!r}")
    allowed = allowed & attention_mask.bool()[:, None, :]
    # A padding query would see nothing (NaN in softmax): let every query see itself.
    allowed = allowed | (key_positions[None, :] == query_positions[:, None])[None]
    return allowed[:, None]


def _check_prompt_rows(
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    has_marker: torch.Tensor,
    first_marker: torch.Tensor,
    object_token_id: int,
    empty_object_ids: Sequence[int],
) -> None:
    """ValueError for a real row without `[O]`, or (`empty_object_ids`) whose first `[O]` is
    followed by one of those ids: an empty object. Uncached inputs only (`attention_mask`
    covers `input_ids`); one host read (a device sync) when every row is valid."""
    real = attention_mask.bool()
    unmarked = real.any(dim=1) & ~has_marker
    invalid = unmarked
    if empty_object_ids:
        query = input_ids.shape[1]
        following = (first_marker + 1).clamp(max=query - 1)[:, None]
        next_id = input_ids.gather(1, following)[:, 0]
        closes = torch.zeros_like(has_marker)
        for token_id in empty_object_ids:
            closes = closes | (next_id == token_id)
        empty = (
            has_marker
            & (first_marker + 1 < query)
            & real.gather(1, first_marker[:, None])[:, 0]
            & real.gather(1, following)[:, 0]
            & closes
        )
        invalid = invalid | empty
    if not bool(invalid.any()):
        return
    row = int(invalid.nonzero()[0])
    if bool(unmarked[row]):
        raise ValueError(
            f"row {row} has no [O] token (id {object_token_id}): prefix_bidirectional attention "
            "needs [O] to mark where the object starts; format facts with "
            "modeling_prixlm.formatting or use object_attention='causal' (generate() with "
            "prefill_chunk_size is not supported: the prompt, read in chunks, has no [O] in "
            "its first chunk; its bidirectional prefix is read in one forward)"
        )
    closing = int(input_ids[row, int(first_marker[row]) + 1])
    raise ValueError(
        f"row {row}: its [O] (id {object_token_id}) is followed by the special token id "
        f"{closing} (</s> or <s>): an empty object, which no training fact has, so the model "
        "would close the object at once. A prompt must end at [O]: build its ids with "
        "modeling_prixlm.formatting (encode_triple_prompt, encode_link_prompt or "
        "encode_prompt; on the Hub, the folder's formatting.py), or tokenize the prompt text "
        "with add_special_tokens=False (the tokenizer's default, True, appends </s> after "
        "[O]; a text-generation pipeline takes add_special_tokens=False too)"
    )


def _require_object_token(object_token_id: int | None) -> None:
    if object_token_id is None:
        raise ValueError(
            "config.object_token_id is not set: prefix_bidirectional attention needs the id "
            "of [O] to find where the object starts. Call "
            "modeling_prixlm.formatting.add_prixlm_tokens(tokenizer, languages, model), which "
            "adds [S] [P] [O] [EOS] and the language tokens and writes their ids into "
            "model.config, or build PrixLMConfig(object_token_id=..., subject_token_id=..., "
            "predicate_token_id=..., end_of_object_token_id=...); object_attention='causal' "
            "or 'bidirectional' needs no ids"
        )


def build_packed_attention_mask(
    input_ids: torch.Tensor,
    fact_ids: torch.Tensor,
    object_token_id: int | None,
    mode: str,
) -> torch.Tensor:
    """Block-diagonal attention mask `(batch, 1, length, length)` of rows holding several facts.

    Each fact attends only within itself, with the pattern `mode` gives a single fact: with
    `"prefix_bidirectional"` every position up to the fact's first `[O]` sees that prefix,
    object positions see themselves and earlier positions of their fact. No host sync and
    no data-dependent shape (`torch.compile` captures it).

    Args:
        input_ids: `(batch, length)` packed facts.
        fact_ids: `(batch, length)` the index of each token's fact in its row (any value
            unique per fact within the row; padding: -1, it sees only padding).
        mode: `"prefix_bidirectional"`, `"causal"` or `"bidirectional"`.
    """
    length = input_ids.shape[1]
    positions = torch.arange(length, device=input_ids.device)
    same_fact = fact_ids[:, :, None] == fact_ids[:, None, :]
    if mode == "bidirectional":
        return same_fact[:, None]
    causal = (positions[None, :] <= positions[:, None])[None]
    if mode == "causal":
        return (same_fact & causal)[:, None]
    if mode != "prefix_bidirectional":
        raise ValueError(f"unknown object_attention mode {mode!r}")
    _require_object_token(object_token_id)
    is_marker = input_ids == object_token_id
    strictly_before = (positions[None, :] < positions[:, None])[None]
    # a position is in its fact's prefix while no [O] of its fact precedes it
    marker_before = (same_fact & strictly_before & is_marker[:, None, :]).any(dim=-1)
    in_prefix = ~marker_before
    prefix_pair = in_prefix[:, :, None] & in_prefix[:, None, :]
    return (same_fact & (causal | prefix_pair))[:, None]


__all__ = ["build_attention_mask", "build_packed_attention_mask", "xlmr_position_ids"]
