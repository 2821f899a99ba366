"""Prix-LM's attention mask and XLM-R positions, built from 2D inputs.

With `object_attention="prefix_bidirectional"` every position up to `[O]` sees the whole
prefix `<s> ... [O]`, and object positions see only themselves and earlier positions (paper
§2.2). Positions follow XLM-R (start at `padding_idx + 1`, skip padding) and are computed
from the 2D attention mask over cached and new tokens, so a full forward and cached decoding
agree, with left padding too.

Hub custom code: imports only torch.
"""

from __future__ import annotations

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
        real_rows = attention_mask[:, past_length:].bool().any(dim=1)
        if check_markers and past_length == 0 and bool((real_rows & ~has_marker).any()):
            row = int((real_rows & ~has_marker).nonzero()[0])
            raise ValueError(
                f"row {row} has no [O] token (id {object_token_id}): prefix_bidirectional attention "
                "needs [O] to mark where the object starts; format facts with "
                "modeling_prixlm.formatting or use object_attention='causal'"
            )
        # Rows without [O] in this chunk continue a cached prefix: they are plain causal.
        object_start = torch.where(
            has_marker, is_object_marker.long().argmax(dim=1) + past_length, -1
        )
        in_prefix_query = query_positions[None, :] <= object_start[:, None]
        in_prefix_key = key_positions[None, :] <= object_start[:, None]
        allowed = allowed | (in_prefix_query[:, :, None] & in_prefix_key[:, None, :])
    elif mode != "causal":
        raise ValueError(f"unknown object_attention mode {mode!r}")
    allowed = allowed & attention_mask.bool()[:, None, :]
    # A padding query would see nothing (NaN in softmax): let every query see itself.
    allowed = allowed | (key_positions[None, :] == query_positions[:, None])[None]
    return allowed[:, None]


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
