"""The synthetic setting of `bench_lp_gpu.py` (and `profile_gpu.py`): a Prix-LM of XLM-R
base's shape (or a tiny one) with random weights, candidate entities with Zipf-like shared
prefixes, and prompts shaped like the CLDR (subject, relation) queries; nothing downloaded."""

from __future__ import annotations

import torch

from modeling_prixlm.configuration_prixlm import PrixLMConfig
from modeling_prixlm.constrained_decoding import EntityTrie

# XLM-R's ids: <s> 0, <pad> 1, </s> 2; its 250,002 pieces (tiny: 2,002), then Prix-LM's
# [S] [P] [O] [EOS] and 9 language tokens: 250,015 (the release's vocabulary).
BOS, PAD, SEP = 0, 1, 2


class Ids:
    """Token ids of a vocabulary of `pieces` XLM-R pieces plus Prix-LM's 13 tokens."""

    def __init__(self, pieces: int) -> None:
        self.pieces = pieces
        self.subject, self.predicate, self.object, self.eos = range(pieces, pieces + 4)
        self.vocab = pieces + 13


def model_config(tiny: bool, ids: Ids) -> PrixLMConfig:
    shape = (
        dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64)
        if tiny
        else dict(
            hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072
        )
    )
    return PrixLMConfig(
        vocab_size=ids.vocab,
        max_position_embeddings=514,
        layer_norm_eps=1e-5,
        pad_token_id=PAD,
        bos_token_id=BOS,
        eos_token_id=SEP,
        subject_token_id=ids.subject,
        predicate_token_id=ids.predicate,
        object_token_id=ids.object,
        end_of_object_token_id=ids.eos,
        **shape,
    )


def zipf_tokens(count: int, generator: torch.Generator, pieces: int) -> torch.Tensor:
    """Piece ids with P(rank) ~ 1 / rank over the ordinary pieces (ids 5 .. pieces - 5)."""
    ranks = torch.pow(
        float(pieces - 10), torch.rand(count, generator=generator, dtype=torch.float64)
    )
    return 5 + ranks.long().clamp(max=pieces - 10)


def synthetic_trie(num_entities: int, seed: int, ids: Ids) -> EntityTrie:
    """Entities of 1 + Poisson(3) pieces (at most 28) + `[EOS]`, labelled `e<i>`."""
    generator = torch.Generator().manual_seed(seed)
    lengths = 1 + torch.poisson(torch.full((num_entities,), 3.0), generator=generator).long()
    lengths = lengths.clamp(max=28) + 1
    tokens = zipf_tokens(int(lengths.sum()), generator, ids.pieces)
    tokens[torch.cumsum(lengths, 0) - 1] = ids.eos
    labels = [f"e{i}" for i in range(num_entities)]
    return EntityTrie.from_flat(tokens, lengths, ids.eos, ids.vocab, labels)


def synthetic_prompts(num_queries: int, seed: int, ids: Ids) -> list[list[int]]:
    """`<s> [S] s </s> </s> [P] r </s> </s> [O]`: subjects of 1-4, relations of 1-3 pieces."""
    generator = torch.Generator().manual_seed(seed + 1)
    prompts = []
    for _ in range(num_queries):
        subject = zipf_tokens(
            int(torch.randint(1, 5, (1,), generator=generator)), generator, ids.pieces
        )
        relation = zipf_tokens(
            int(torch.randint(1, 4, (1,), generator=generator)), generator, ids.pieces
        )
        prompts.append(
            [BOS, ids.subject, *subject.tolist(), SEP, SEP, ids.predicate, *relation.tolist()]
            + [SEP, SEP, ids.object]
        )
    return prompts


__all__ = [
    "BOS",
    "PAD",
    "SEP",
    "Ids",
    "model_config",
    "synthetic_prompts",
    "synthetic_trie",
    "zipf_tokens",
]
