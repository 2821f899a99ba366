"""A fresh Prix-LM of any size, matched to a tokenizer that has the Prix-LM tokens."""

from __future__ import annotations

from typing import Any

from modeling_prixlm.configuration_prixlm import PrixLMConfig
from modeling_prixlm.formatting import MAX_FACT_LENGTH, fact_generation_config, special_token_ids
from modeling_prixlm.modeling_prixlm import PrixLMForCausalKB


def prixlm_config_for(
    tokenizer: Any,
    hidden_size: int = 128,
    num_hidden_layers: int = 4,
    num_attention_heads: int = 4,
    intermediate_size: int | None = None,
    max_position_embeddings: int = 2 * MAX_FACT_LENGTH + 2,
    object_attention: str = "prefix_bidirectional",
    vocab_padding_multiple: int = 64,
    **kwargs: Any,
) -> PrixLMConfig:
    """An XLM-R-architecture config whose vocabulary and fact-token ids match `tokenizer`.

    `max_position_embeddings` must cover the longest sequence + 2 (XLM-R positions start
    at `padding_idx + 1`). The embedding and LM head get `vocab_size` rounded up to
    `vocab_padding_multiple` rows (masked out of every softmax: exact).
    """
    ids = special_token_ids(tokenizer)
    return PrixLMConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        intermediate_size=intermediate_size or 4 * hidden_size,
        max_position_embeddings=max_position_embeddings,
        layer_norm_eps=1e-5,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        subject_token_id=ids.subject,
        predicate_token_id=ids.predicate,
        object_token_id=ids.object,
        end_of_object_token_id=ids.end_of_object,
        language_token_ids=ids.languages,
        object_attention=object_attention,
        vocab_padding_multiple=vocab_padding_multiple,
        **kwargs,
    )


def build_prixlm(
    tokenizer: Any, seed: int | None = None, **config_kwargs: Any
) -> PrixLMForCausalKB:
    """A randomly initialised `PrixLMForCausalKB` for `tokenizer` (see `prixlm_config_for`)."""
    import torch

    if seed is not None:
        torch.manual_seed(seed)
    model = PrixLMForCausalKB(prixlm_config_for(tokenizer, **config_kwargs))
    model.generation_config = fact_generation_config(model.config)
    return model
