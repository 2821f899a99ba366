"""`PrixLMModel`: the XLM-R encoder with Prix-LM's attention pattern and positions.

The attention mask is built from 2D inputs (`masking_prixlm.py`): with
`object_attention="prefix_bidirectional"` every position up to `[O]` sees the whole prefix
`<s> ... [O]`, and object positions see only themselves and earlier positions. Positions
follow XLM-R (start at `padding_idx + 1`, skip padding) and are computed from the 2D
attention mask over cached and new tokens, so a full forward and cached step-by-step
decoding give the same logits, with left padding too. `PrixLMPreTrainedModel` is the
base of this and of `PrixLMForCausalKB` (`modeling_prixlm.py`): config class, weight
init, the names to ignore when loading an XLM-R checkpoint.

Hub custom code: imports only torch, transformers and this folder.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.cache_utils import Cache, DynamicCache
from transformers.modeling_outputs import ModelOutput

from .beam_cache import BeamCache
from .configuration_prixlm import PrixLMConfig
from .input_guards import refuse_compileable_cache
from .layers_prixlm import PrixLMEmbeddings, PrixLMEncoder, PrixLMLMHead
from .masking_prixlm import build_attention_mask, build_packed_attention_mask, xlmr_position_ids


@dataclass
class PrixLMModelOutput(ModelOutput):
    """Output of `PrixLMModel`.

    Args:
        last_hidden_state: `(batch, query, hidden)`.
        pooler_output: `(batch, hidden)` mean of the hidden states over non-padding tokens
            of this call: an entity embedding when the input is an entity name.
        cache: the KV cache, when `use_cache`.
        hidden_states: with `output_hidden_states`, `num_hidden_layers + 1` tensors
            `(batch, query, hidden)`: the embedding output, then each layer's output (the
            last is `last_hidden_state`), as XLM-R gives them.
    """

    last_hidden_state: torch.Tensor | None = None
    pooler_output: torch.Tensor | None = None
    cache: Cache | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None


class PrixLMPreTrainedModel(PreTrainedModel):
    config_class = PrixLMConfig
    config: PrixLMConfig
    base_model_prefix = "roberta"
    _supports_sdpa = True
    #: decoders may pass a `BeamCache` (a model saved before it existed has no such flag)
    supports_beam_cache = True
    _no_split_modules = ["PrixLMEmbeddings", "PrixLMLayer"]
    _keys_to_ignore_on_load_unexpected = [r"position_ids", r"pooler\.", r"token_type_ids"]

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, PrixLMLMHead):
            with torch.no_grad():
                module.bias.zero_()


class PrixLMModel(PrixLMPreTrainedModel):
    """The XLM-R encoder with Prix-LM's attention pattern and positions."""

    def __init__(self, config: PrixLMConfig) -> None:
        super().__init__(config)
        self.embeddings = PrixLMEmbeddings(config)
        self.encoder = PrixLMEncoder(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embeddings.word_embeddings = value

    def forward(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        cache: Cache | BeamCache | None = None,
        use_cache: bool | None = None,
        object_attention: str | None = None,
        position_ids: torch.LongTensor | None = None,
        fact_ids: torch.LongTensor | None = None,
        check_inputs: bool = True,
        check_empty_object: bool = True,
        output_hidden_states: bool | None = None,
        **kwargs,
    ) -> PrixLMModelOutput:
        """Encode `input_ids` `(batch, query)`.

        Args:
            attention_mask: `(batch, past + query)`; 1 for tokens, 0 for padding (left or right).
                Defaults to `input_ids != pad_token_id` (plus the cached positions).
            cache: a `Cache` of earlier positions; `use_cache` creates one when none is given.
                A static (compileable) cache is refused (ValueError): use a dynamic one.
                A `BeamCache` (rows continuing shared prompts, one new token each) masks and
                attends itself (decoders).
            object_attention: overrides `config.object_attention` for this call (e.g.
                `"bidirectional"` to embed an entity name, which has no `[O]`).
            position_ids: `(batch, query)` XLM-R positions; default: from `attention_mask`.
            fact_ids: `(batch, query)` packed rows (several facts per row, no cache): each
                token's fact index in its row, -1 for padding. Attention is block-diagonal
                (`build_packed_attention_mask`); give `position_ids` restarting per fact.
            check_inputs: validate on the host (every row has `[O]`, positions in range);
                these reads sync with the device. The training collator validates its
                batches and turns this off; it is off under `torch.compile` too.
            check_empty_object: with `check_inputs`, `prefix_bidirectional` attention and no
                cache, also refuse (ValueError) a row whose first `[O]` is followed by `</s>`
                or `<s>` (an empty object: a prompt tokenised with the default
                `add_special_tokens=True`). `PrixLMForCausalKB` turns it off with labels
                and for `generate()`'s later steps. No further device read.
            output_hidden_states: return `hidden_states` (the embedding output and every
                layer's); default `config.output_hidden_states`.
        """
        check_inputs = check_inputs and not torch.compiler.is_compiling()
        if fact_ids is not None and position_ids is None:  # no device read: always checked
            raise ValueError(
                "fact_ids (packed rows) needs position_ids restarting at each fact; positions "
                "counted over the whole row change every fact's states after the first"
            )
        cache = cache if cache is not None else kwargs.get("past_key_values")
        refuse_compileable_cache(cache)  # a static cache's fixed length: ValueError
        mode = object_attention or self.config.object_attention
        use_cache = self.config.use_cache if use_cache is None else use_cache
        if mode == "bidirectional":
            if cache is not None and cache.get_seq_length() > 0:
                raise ValueError(
                    "bidirectional attention has no KV cache: call generate(..., use_cache=False)"
                )
            cache, use_cache = None, False
        elif use_cache and cache is None:
            cache = DynamicCache()
        past_length = cache.get_seq_length() if cache is not None else 0
        query_length = input_ids.shape[1]
        if attention_mask is None:
            new_mask = (input_ids != self.config.pad_token_id).long()
            past_mask = torch.ones(
                input_ids.shape[0], past_length, dtype=torch.long, device=input_ids.device
            )
            attention_mask = torch.cat([past_mask, new_mask], dim=1)
        if attention_mask.dim() != 2 or attention_mask.shape[1] != past_length + query_length:
            raise ValueError(
                f"attention_mask must be 2D (batch, past + query) = (*, {past_length + query_length}), "
                f"got {tuple(attention_mask.shape)}"
            )
        bound = None
        if position_ids is None:
            position_ids = xlmr_position_ids(attention_mask, query_length, self.config.pad_token_id)
            # positions are at most pad + the mask's width: no device read to check them
            bound = self.config.pad_token_id + attention_mask.shape[1]
        if getattr(cache, "is_beam_cache", False):  # one new token per row; the cache masks
            if query_length != 1 or fact_ids is not None:
                raise ValueError("a BeamCache continues its rows one token at a time")
            mask = None
        elif fact_ids is not None:
            if past_length:
                raise ValueError("fact_ids (packed rows) cannot continue a KV cache")
            mask = build_packed_attention_mask(
                input_ids, fact_ids, self.config.object_token_id, mode
            )
        else:
            mask = build_attention_mask(
                input_ids,
                attention_mask,
                past_length,
                self.config.object_token_id,
                mode,
                check_markers=check_inputs,
                empty_object_ids=self._closing_token_ids() if check_empty_object else (),
            )
        hidden = self.embeddings(
            input_ids, position_ids, check_positions=check_inputs, max_position=bound
        )
        if output_hidden_states is None:
            output_hidden_states = self.config.output_hidden_states
        all_hidden = (hidden,) if output_hidden_states else None
        for layer in self.encoder.layer:
            hidden = layer(hidden, mask, cache)
            if all_hidden is not None:
                all_hidden += (hidden,)
        new_tokens = attention_mask[:, past_length:].to(hidden.dtype)[..., None]
        pooled = (hidden * new_tokens).sum(dim=1) / new_tokens.sum(dim=1).clamp(min=1.0)
        return PrixLMModelOutput(
            last_hidden_state=hidden,
            pooler_output=pooled,
            cache=cache if use_cache else None,
            hidden_states=all_hidden,
        )

    def _closing_token_ids(self) -> tuple[int, ...]:
        """The ids of `</s>` and `<s>` (`eos_token_id`, `bos_token_id`): never right after
        a prompt's `[O]`."""
        ids = (self.config.eos_token_id, self.config.bos_token_id)
        return tuple(i for i in ids if isinstance(i, int))


__all__ = ["PrixLMModel", "PrixLMModelOutput", "PrixLMPreTrainedModel"]
