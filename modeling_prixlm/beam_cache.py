"""KV cache and attention for rows that continue shared prompts, one token per step.

Beam search (Algorithm 1) and the full-ranking scorer decode many rows per query: the K
beams, or the candidate prefixes, of a query all continue the same prompt. `BeamCache`
keeps the prompt's keys and values once per query and only the object tokens' once per
row; re-parenting rows copies the object part alone; and the attention of a row's one new
token is computed as two small products (against its query's prompt, against its own
object tokens) and one softmax over both, instead of a fused attention kernel whose
tiles are built for many query tokens per row.

Layout: rows are query-major with the same number of rows per query (row `r` continues
prompt `r // (rows // queries)`), what `decode_batch_on_device` and the scorer feed.

Numerics: the attention is computed in float32 without TF32 (the prompt's products in
float64, the object's as float32 products and sums), as close to the fused kernel as its
rounding, whatever the model's dtype; no dropout (inference only).

Hub custom code: imports only torch and transformers.
"""

from __future__ import annotations

from typing import Any

import torch


class BeamCache:
    """Keys and values of shared prompts (per query) and of object tokens (per row).

    The model recognises it by `is_beam_cache`, not by its class: a model loaded from a
    release folder runs its own copy of this module, the decoders the package's.

    Args:
        prefix_keys, prefix_values: per layer `(queries, heads, prompt, head_dim)` float64.
        prefix_padding: `(queries, prompt)` bool, True at (left) padding.
        dtype: the model's (the object part is kept in it).
        object_keys, object_values: per layer `(slots, rows, heads, head_dim)`, time-major;
            after `select` the last slot is pending: the next forward writes it.
    """

    is_beam_cache = True

    def __init__(
        self,
        prefix_keys: list[torch.Tensor],
        prefix_values: list[torch.Tensor],
        prefix_padding: torch.Tensor,
        dtype: torch.dtype,
        object_keys: list[torch.Tensor] | None = None,
        object_values: list[torch.Tensor] | None = None,
    ) -> None:
        self.prefix_keys, self.prefix_values = prefix_keys, prefix_values
        self.prefix_padding = prefix_padding
        self.dtype = dtype  # of the model's keys and values
        self.object_keys, self.object_values = object_keys, object_values
        self.written = len(prefix_keys)  # layers that wrote the last slot

    @classmethod
    def from_prompt(cls, cache: Any, attention_mask: torch.Tensor) -> BeamCache:
        """The cache of a prompt forward (`DynamicCache`, one row per query) and its 2D
        mask `(queries, prompt)`."""
        pairs = [(key, value) for key, value, *_ in cache]
        keys, values = (
            [x.to(torch.float64, memory_format=torch.contiguous_format) for x in part]
            for part in zip(*pairs, strict=True)
        )
        return cls(keys, values, attention_mask == 0, pairs[0][0].dtype)

    @property
    def num_queries(self) -> int:
        return self.prefix_keys[0].shape[0]

    @property
    def object_length(self) -> int:
        """Object tokens cached (the pending slot counts once every layer wrote it)."""
        if self.object_keys is None:
            return 0
        slots = self.object_keys[0].shape[0]
        return slots if self.written == len(self.object_keys) else slots - 1

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return self.prefix_keys[0].shape[2] + self.object_length

    def select(self, parents: torch.Tensor) -> BeamCache:
        """A new cache (this one stays valid) whose rows continue rows `parents` `(rows,)`
        of this one, with a pending slot for the next token. Every parent must belong to
        the query of its new row (query-major rows, the same number per query)."""
        length = self.object_length
        heads, _, head_dim = self.prefix_keys[0].shape[1:]
        keys, values = [], []
        for layer in range(len(self.prefix_keys)):
            for old, new in (
                (self.object_keys, keys),
                (self.object_values, values),
            ):
                buffer = torch.empty(
                    length + 1,
                    parents.numel(),
                    heads,
                    head_dim,
                    dtype=self.dtype,
                    device=parents.device,
                )
                if length:
                    torch.index_select(old[layer][:length], 1, parents, out=buffer[:length])
                new.append(buffer)
        selected = BeamCache(
            self.prefix_keys, self.prefix_values, self.prefix_padding, self.dtype, keys, values
        )
        selected.written = 0
        return selected

    def attend(
        self, layer: int, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor
    ) -> torch.Tensor:
        """Attention of each row's new token `(rows, heads, 1, head_dim)` over its query's
        prompt (without padding) and its own object tokens, the new one included; `key`,
        `value` `(rows, heads, 1, head_dim)` are stored in the pending slot."""
        if self.object_keys is None or self.written != layer:
            raise RuntimeError("BeamCache.attend needs select() before each forward")
        keys, values = self.object_keys[layer], self.object_values[layer]
        keys[-1] = key[:, :, 0]
        values[-1] = value[:, :, 0]
        self.written += 1
        rows, heads, _, head_dim = query.shape
        per_query = rows // self.num_queries
        prompt = self.prefix_keys[layer].shape[2]
        scale = head_dim**-0.5
        q = query[:, :, 0].float()  # (rows, heads, head_dim)
        grouped = q.double().view(self.num_queries, per_query, heads, head_dim).transpose(1, 2)
        prefix_scores = (grouped @ self.prefix_keys[layer].transpose(-1, -2)).float() * scale
        prefix_scores = prefix_scores.masked_fill(self.prefix_padding[:, None, None, :], -torch.inf)
        object_scores = (keys.float() * q[None]).sum(-1).permute(1, 2, 0)  # (rows, heads, T)
        object_scores = object_scores * scale
        scores = torch.cat(
            [prefix_scores.transpose(1, 2).reshape(rows, heads, prompt), object_scores], -1
        )
        probs = torch.softmax(scores, dim=-1)
        prefix_probs = probs[..., :prompt].reshape(self.num_queries, per_query, heads, prompt)
        prefix_out = prefix_probs.transpose(1, 2).double() @ self.prefix_values[layer]
        prefix_out = prefix_out.transpose(1, 2).reshape(rows, heads, head_dim).float()
        object_out = (probs[..., prompt:].permute(2, 0, 1)[..., None] * values.float()).sum(0)
        return (prefix_out + object_out)[:, :, None].to(query.dtype)


__all__ = ["BeamCache"]
