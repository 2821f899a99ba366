"""Exact values where a mutation-testing round found gaps: XLM-R positions of padding, the
prefix mask of a chunk after a cache, and the tokenizer/vocabulary size check."""

from __future__ import annotations

import copy

import pytest
import torch

from modeling_prixlm.formatting import check_tokenizer_matches
from modeling_prixlm.masking_prixlm import build_attention_mask, xlmr_position_ids


def test_padding_positions_are_the_padding_index():
    # right padding: real tokens count up from pad + 1, padding sits at pad itself
    assert xlmr_position_ids(torch.tensor([[1, 1, 0]]), 3, 1).tolist() == [[2, 3, 1]]
    # left padding and several padding positions, another padding index
    mask = torch.tensor([[0, 0, 1, 1, 1], [1, 0, 1, 0, 1]])
    assert xlmr_position_ids(mask, 5, 1).tolist() == [[1, 1, 2, 3, 4], [2, 1, 3, 1, 4]]
    assert xlmr_position_ids(mask, 2, 0).tolist() == [[2, 3], [0, 3]]


def test_a_chunk_after_a_cache_sees_its_own_object_marker():
    """Two cached positions, then a chunk `x [O] y`: `[O]` is at absolute position 3, so
    every position up to it (2 and 3) sees the whole prefix `0..3`, and `y` (4) is causal."""
    object_id = 7
    input_ids = torch.tensor([[5, object_id, 6]])
    mask = build_attention_mask(
        input_ids,
        torch.ones(1, 5, dtype=torch.long),
        past_length=2,
        object_token_id=object_id,
        mode="prefix_bidirectional",
    )
    assert mask.shape == (1, 1, 3, 5)
    assert mask[0, 0].tolist() == [
        [True, True, True, True, False],  # position 2 sees the [O] at 3
        [True, True, True, True, False],  # [O] itself
        [True, True, True, True, True],  # the object token: causal
    ]


def test_a_tokenizer_one_token_larger_than_the_vocabulary_is_rejected(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    config = copy.deepcopy(model.config)
    config.vocab_size = len(tokenizer)
    check_tokenizer_matches(tokenizer, config)  # exactly the vocabulary: fine
    config.vocab_size = len(tokenizer) - 1  # one token beyond the model's embeddings
    with pytest.raises(
        ValueError,
        match=rf"tokenizer has {len(tokenizer)} tokens but the model's vocab_size is "
        rf"{len(tokenizer) - 1}",
    ):
        check_tokenizer_matches(tokenizer, config)
