"""A fresh Prix-LM of any size, matched to a tokenizer that has the Prix-LM tokens."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from modeling_prixlm.configuration_prixlm import PrixLMConfig
from modeling_prixlm.formatting import (
    MAX_FACT_LENGTH,
    fact_generation_config,
    language_key,
    special_token_ids,
)
from modeling_prixlm.modeling_prixlm import PrixLMForCausalKB
from modeling_prixlm.tokenizer_checks import vocabulary_fingerprint


def prixlm_config_for(
    tokenizer: Any,
    hidden_size: int = 128,
    num_hidden_layers: int = 4,
    num_attention_heads: int = 4,
    intermediate_size: int | None = None,
    max_position_embeddings: int = 2 * MAX_FACT_LENGTH + 2,
    object_attention: str = "prefix_bidirectional",
    vocab_padding_multiple: int = 64,
    languages: Iterable[str] | None = None,
    **kwargs: Any,
) -> PrixLMConfig:
    """An XLM-R-architecture config whose vocabulary and fact-token ids match `tokenizer`.

    `max_position_embeddings` must cover the longest sequence + 2 (XLM-R positions start
    at `padding_idx + 1`). The embedding and LM head get `vocab_size` rounded up to
    `vocab_padding_multiple` rows (masked out of every softmax: exact).

    `languages`: the codes the model is trained on; only these are its languages
    (`language_token_ids`, keyed by `language_key`), which every language check reads. A
    tokenizer of another release may hold more language tokens (`train.py --tokenizer_dir`):
    they stay in the vocabulary, untrained and not declared. None: every language token of
    `tokenizer`. The config records the fingerprint of `tokenizer`'s vocabulary
    (`vocabulary_fingerprint`): the tokenizer must be final (its Prix-LM tokens added).
    """
    codes = None if languages is None else sorted({language_key(c) for c in languages})
    ids = special_token_ids(tokenizer, codes)
    kwargs.setdefault("vocabulary_fingerprint", vocabulary_fingerprint(tokenizer))
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
    """A randomly initialised `PrixLMForCausalKB` for `tokenizer` (see `prixlm_config_for`,
    which takes `config_kwargs`, `languages` among them)."""
    import torch

    if seed is not None:
        torch.manual_seed(seed)
    model = PrixLMForCausalKB(prixlm_config_for(tokenizer, **config_kwargs))
    model.generation_config = fact_generation_config(model.config)
    return model
