"""XLM-R's layers with XLM-R's parameter names, attending through a given boolean mask.

Hub custom code: imports only torch, transformers and this folder.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers.activations import ACT2FN
from transformers.cache_utils import Cache

from .beam_cache import BeamCache
from .configuration_prixlm import PrixLMConfig
from .linear_cross_entropy import DEFAULT_CHUNK_ROWS, linear_cross_entropy, masked_bias


class PrixLMLayerNorm(nn.LayerNorm):
    """`nn.LayerNorm` (same parameters) that can output the autocast dtype.

    Under `torch.autocast` a layer norm runs and outputs in fp32, so the hidden states that
    flow between layers (XLM-R's residual stream) are fp32, read and written at 4 bytes per
    value by every fused residual/dropout/norm step. With `autocast_output` (off by default;
    `PrixLMForCausalKB.set_autocast_residual`) it outputs the autocast dtype (bf16): half
    the memory traffic, the statistics still accumulated in fp32, but the stream is rounded
    to bf16 (not exact). Without autocast it is `nn.LayerNorm`.
    """

    autocast_output: bool = False

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        device = hidden.device.type
        if not (self.autocast_output and torch.is_autocast_enabled(device)):
            return super().forward(hidden)
        dtype = torch.get_autocast_dtype(device)
        with torch.autocast(device, enabled=False):
            return F.layer_norm(
                hidden.to(dtype),
                self.normalized_shape,
                self.weight.to(dtype),
                self.bias.to(dtype),
                self.eps,
            )


class PrixLMEmbeddings(nn.Module):
    """Word + position + token-type embeddings, as XLM-R."""

    def __init__(self, config: PrixLMConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(
            config.padded_vocab_size, config.hidden_size, padding_idx=config.pad_token_id
        )
        self.position_embeddings = nn.Embedding(
            config.max_position_embeddings, config.hidden_size, padding_idx=config.pad_token_id
        )
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = PrixLMLayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(
        self,
        input_ids: torch.Tensor,
        position_ids: torch.Tensor,
        check_positions: bool = True,
        max_position: int | None = None,
    ) -> torch.Tensor:
        """`(batch, query)` ids and positions -> `(batch, query, hidden)`.

        `check_positions` reads the largest position on the host (a device sync): callers
        whose inputs were validated already (the training collator) turn it off.
        `max_position`: a bound on `position_ids` known without reading them; when it fits
        the table, the check needs no read either.
        """
        table = self.position_embeddings.num_embeddings
        fits = max_position is not None and max_position < table
        if check_positions and not fits and int(position_ids.max()) >= table:
            raise ValueError(
                f"sequence needs position {int(position_ids.max())} but max_position_embeddings is "
                f"{self.position_embeddings.num_embeddings} (XLM-R positions start at padding_idx + 1)"
            )
        token_types = torch.zeros_like(input_ids)
        embeddings = (
            self.word_embeddings(input_ids)
            + self.position_embeddings(position_ids)
            + self.token_type_embeddings(token_types)
        )
        return self.dropout(self.LayerNorm(embeddings))


class PrixLMSelfAttention(nn.Module):
    def __init__(self, config: PrixLMConfig, layer_idx: int) -> None:
        super().__init__()
        if config.hidden_size % config.num_attention_heads:
            raise ValueError("hidden_size must be a multiple of num_attention_heads")
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout_prob = config.attention_probs_dropout_prob
        self.layer_idx = layer_idx

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        return x.view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(
        self, hidden: torch.Tensor, mask: torch.Tensor | None, cache: Cache | BeamCache | None
    ) -> torch.Tensor:
        """`(batch, query, hidden)` with mask `(batch, 1, query, keys)` -> `(batch, query, hidden)`.

        With a `BeamCache` (one new token per row) the cache masks and attends, `mask` is None.
        """
        query, key, value = (
            self._heads(self.query(hidden)),
            self._heads(self.key(hidden)),
            self._heads(self.value(hidden)),
        )
        if getattr(cache, "is_beam_cache", False):  # the class may be another copy's
            out = cache.attend(self.layer_idx, query, key, value)
            return out.transpose(1, 2).reshape(hidden.shape)
        if cache is not None:
            key, value = cache.update(key, value, self.layer_idx)
        out = F.scaled_dot_product_attention(
            query, key, value, attn_mask=mask, dropout_p=self.dropout_prob if self.training else 0.0
        )
        return out.transpose(1, 2).reshape(hidden.shape)


class PrixLMSelfOutput(nn.Module):
    def __init__(self, config: PrixLMConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = PrixLMLayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden)) + residual)


class PrixLMAttention(nn.Module):
    def __init__(self, config: PrixLMConfig, layer_idx: int) -> None:
        super().__init__()
        self.self = PrixLMSelfAttention(config, layer_idx)
        self.output = PrixLMSelfOutput(config)

    def forward(
        self, hidden: torch.Tensor, mask: torch.Tensor | None, cache: Cache | BeamCache | None
    ) -> torch.Tensor:
        return self.output(self.self(hidden, mask, cache), hidden)


class PrixLMIntermediate(nn.Module):
    def __init__(self, config: PrixLMConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.activation = ACT2FN[config.hidden_act]

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(hidden))


class PrixLMOutput(PrixLMSelfOutput):
    def __init__(self, config: PrixLMConfig) -> None:
        super().__init__(config)
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)


class PrixLMLayer(nn.Module):
    def __init__(self, config: PrixLMConfig, layer_idx: int) -> None:
        super().__init__()
        self.attention = PrixLMAttention(config, layer_idx)
        self.intermediate = PrixLMIntermediate(config)
        self.output = PrixLMOutput(config)

    def forward(
        self, hidden: torch.Tensor, mask: torch.Tensor | None, cache: Cache | BeamCache | None
    ) -> torch.Tensor:
        attended = self.attention(hidden, mask, cache)
        return self.output(self.intermediate(attended), attended)


class PrixLMEncoder(nn.Module):
    def __init__(self, config: PrixLMConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(PrixLMLayer(config, i) for i in range(config.num_hidden_layers))


class PrixLMLMHead(nn.Module):
    """XLM-R's LM head: dense -> gelu -> layer norm -> vocabulary projection (+ bias).

    The projection has `config.padded_vocab_size` rows; `vocab_size` is the real vocabulary
    (columns from it on are padding: sliced off by `forward`, -inf through the bias in
    `padded_logits` and `summed_cross_entropy`). `loss_chunk_rows`: rows whose logits
    `summed_cross_entropy` makes at once.
    """

    def __init__(self, config: PrixLMConfig) -> None:
        super().__init__()
        self.vocab_size = config.vocab_size
        self.loss_chunk_rows = DEFAULT_CHUNK_ROWS
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.layer_norm = PrixLMLayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.hidden_size, config.padded_vocab_size)
        self.bias = nn.Parameter(torch.zeros(config.padded_vocab_size))

    def _transform(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.layer_norm(F.gelu(self.dense(hidden)))

    def padded_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """`(..., hidden)` -> `(..., padded_vocab)` logits, -inf on the padding columns.

        For the loss: a softmax over them equals the softmax over the real vocabulary, and
        the matrix product keeps the padded (GPU-friendly) width. The padding columns get
        -inf from the bias (no extra pass over the logits).
        """
        bias = masked_bias(self.decoder.bias, self.vocab_size)
        return F.linear(self._transform(hidden), self.decoder.weight, bias)

    def summed_cross_entropy(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Summed cross-entropy (fp32 scalar) of the logits of `hidden` `(n, hidden)` against
        `targets` `(n,)` (-100 ignored), without keeping the `(n, padded_vocab)` logits
        (`linear_cross_entropy`): the training loss of the labelled positions."""
        return linear_cross_entropy(
            self._transform(hidden),
            self.decoder.weight,
            self.decoder.bias,
            targets,
            self.vocab_size,
            self.loss_chunk_rows,
        )

    def decoding_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """`(..., hidden)` -> `(..., vocab rounded up to 64)` logits, -inf on the padding
        columns, for decoding (`logsumexp` over them is the real vocabulary's).

        The projection runs on rows padded to a multiple of 64 (GPU matrix-product kernels
        want aligned widths: XLM-R's 250,015 rows get an older, slower kernel): the
        decoder's own rows when `padded_vocab_size` is such a multiple (the default), else a
        copy with zero rows added, made once and kept (about 770 MB for XLM-R base in
        float32; remade when the weight is replaced or changed by a tensor operation, not
        when written through `.data`). The -inf comes from a bias made at each call (one
        vector, so that no write to the weights can leave it stale): no extra pass over the
        logits.
        """
        weight, bias = self._padded_projection()
        return F.linear(self.layer_norm(F.gelu(self.dense(hidden))), weight, bias)

    def _padded_projection(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The decoder's weight `(rows, hidden)` and bias `(rows,)`, rows a multiple of 64."""
        weight, bias = self.decoder.weight, self.decoder.bias
        rows = -(-weight.shape[0] // 64) * 64
        if rows == weight.shape[0] and weight.shape[0] == self.vocab_size:
            return weight, bias
        with torch.no_grad():
            padded_bias = bias.new_full((rows,), float("-inf"))
            padded_bias[: self.vocab_size] = bias[: self.vocab_size]
        if rows == weight.shape[0]:
            return weight, padded_bias
        key = (weight.data_ptr(), weight._version, rows)
        cached = getattr(self, "_padded", None)
        if cached is None or cached[0] != key:
            with torch.no_grad():
                padded_weight = weight.new_zeros(rows, weight.shape[1])
                padded_weight[: weight.shape[0]] = weight
            self._padded = cached = (key, padded_weight)
        return cached[1], padded_bias

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """`(..., hidden)` -> `(..., vocab)` logits (the real vocabulary's columns)."""
        logits = self.decoder(self._transform(hidden))
        if logits.shape[-1] > self.vocab_size:
            logits = logits[..., : self.vocab_size].contiguous()
        return logits


__all__ = ["PrixLMEmbeddings", "PrixLMEncoder", "PrixLMLMHead", "PrixLMLayerNorm"]
