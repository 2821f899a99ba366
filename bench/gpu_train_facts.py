"""The synthetic facts and the FLOP count of `bench_gpu_train.py`: model shapes, facts in
Prix-LM's format with the paper's length statistics, and the useful forward FLOPs of a batch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modeling_prixlm.formatting import IGNORE_INDEX

XLMR_VOCAB = 250_002  # XLM-R's tokenizer: <s>=0 <pad>=1 </s>=2 <unk>=3 ... <mask>=250001
PAD, BOS, EOS = 1, 0, 2


@dataclass(frozen=True)
class Shape:
    hidden: int
    layers: int
    heads: int
    ffn: int
    base_vocab: int  # the tokenizer's vocabulary before the Prix-LM tokens


SHAPES = {
    "base": Shape(768, 12, 12, 3072, XLMR_VOCAB),  # xlm-roberta-base
    "demo": Shape(192, 4, 4, 768, 6000),  # `make demo`'s model
    "tiny": Shape(64, 2, 2, 128, 1000),
}
LANGUAGES = 9  # the paper's languages: one token each


def fact_token_ids(base_vocab: int) -> dict[str, int]:
    """[S] [P] [O] [EOS] right after the base vocabulary, then the language tokens."""
    return {"S": base_vocab, "P": base_vocab + 1, "O": base_vocab + 2, "EOS": base_vocab + 3}


def synthetic_facts(
    count: int, base_vocab: int, seed: int, mean_length: float = 19.0, mean_labels: float = 4.3
) -> list[dict[str, list[int]]]:
    """Triples in Prix-LM's format with random word pieces and the paper's length statistics.

    10 format tokens; the object has `mean_labels - 1` pieces on average (labels: object +
    [EOS]), subject and relation share the rest; facts of 30 tokens or more are redrawn
    (the paper's filter).
    """
    ids = fact_token_ids(base_vocab)
    rng = np.random.default_rng(seed)
    object_mean = mean_labels - 1.0
    prefix_mean = mean_length - 10 - object_mean
    facts = []
    while len(facts) < count:
        subject = 1 + rng.poisson(prefix_mean * 0.6 - 1)
        relation = 1 + rng.poisson(prefix_mean * 0.4 - 1)
        obj = 1 + rng.poisson(object_mean - 1)
        if 10 + subject + relation + obj >= 30:
            continue
        pieces = rng.integers(5, base_vocab - 1, size=subject + relation + obj).tolist()
        s, p, o = (
            pieces[:subject],
            pieces[subject : subject + relation],
            pieces[subject + relation :],
        )
        input_ids = [
            BOS,
            ids["S"],
            *s,
            EOS,
            EOS,
            ids["P"],
            *p,
            EOS,
            EOS,
            ids["O"],
            *o,
            ids["EOS"],
            EOS,
        ]
        start = len(input_ids) - len(o) - 2  # first object piece
        labels = [IGNORE_INDEX] * start + [*o, ids["EOS"]] + [IGNORE_INDEX]
        facts.append({"input_ids": input_ids, "labels": labels})
    return facts


def forward_flops(facts: list[dict[str, list[int]]], shape: Shape, vocab: int) -> float:
    """Forward FLOPs of the real work of `facts` (the module docstring's formula)."""
    d = shape.hidden
    tokens = sum(len(f["input_ids"]) for f in facts)
    squares = sum(len(f["input_ids"]) ** 2 for f in facts)
    labelled = sum(sum(1 for x in f["labels"] if x != IGNORE_INDEX) for f in facts)
    body = tokens * shape.layers * 2 * (4 * d * d + 2 * d * shape.ffn)
    attention = shape.layers * 2 * 2 * squares * d
    head = labelled * 2 * (d * d + d * vocab)
    return float(body + attention + head)
