"""The similarity API with the input types users pass: a gold id given as a string, texts
given as a NumPy array, a pandas Series or a generator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_models import TINY_FACTS

from prixlm.similarity.embedder import PrixLMEmbedder
from prixlm.similarity.xel import entity_ranks, evaluate_xel
from prixlm.similarity.xel_readers import XelQuery, XelTarget

TARGETS = [XelTarget(name="Germany", entity="Q183"), XelTarget(name="France", entity="Q142")]


class TableEmbedder:
    """The mention "Deutschland" and the name "Germany" embed alike, "France" apart."""

    def embed(self, texts):
        table = {"Deutschland": [1.0, 0.0], "Germany": [1.0, 0.0], "France": [0.0, 1.0]}
        return torch.tensor([table[t] for t in texts])


@pytest.mark.parametrize("gold", [frozenset({"Q183"}), ["Q183"], {"Q183", "Q-other"}])
def test_a_gold_set_list_or_frozenset_links_the_mention(gold):
    query = XelQuery(mention="Deutschland", gold=gold, language="de")
    assert isinstance(query.gold, frozenset) and "Q183" in query.gold
    result = evaluate_xel(TableEmbedder(), [query], TARGETS)["per_language"]["de"]
    assert (result["accuracy"], result["mrr"], result["num_gold_missing"]) == (1.0, 1.0, 0)


def test_a_gold_string_is_refused_not_read_as_characters():
    """A gold "Q183" would be the ids "Q", "1", "8", "3": a miss, with no error."""
    with pytest.raises(TypeError, match=r"XelQuery\('Deutschland'\): gold is a string \('Q183'\)"):
        XelQuery(mention="Deutschland", gold="Q183", language="de")
    with pytest.raises(TypeError, match=r"gold ids must be strings, got \['183'\]"):
        XelQuery(mention="Deutschland", gold=frozenset({183}), language="de")


def test_entity_ranks_refuses_a_gold_string():
    vectors = torch.tensor([[1.0, 0.0]])
    targets = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(TypeError, match=r"gold\[0\] is a string \('Q183'\)"):
        entity_ranks(vectors, targets, ["Q183", "Q142"], ["Q183"])
    ranks, top = entity_ranks(vectors, targets, ["Q183", "Q142"], [("Q183",)])
    assert (ranks.tolist(), top) == ([1.0], ["Q183"])


TEXTS = sorted({part for fact in TINY_FACTS for part in fact})[:5]


@pytest.mark.parametrize("kind", ["numpy", "series", "generator", "tuple"])
def test_embed_takes_arrays_series_and_generators(tiny_prixlm, kind):
    model, tokenizer = tiny_prixlm
    embedder = PrixLMEmbedder(model, tokenizer, batch_size=2)
    if kind == "series":
        texts = pytest.importorskip("pandas").Series(TEXTS)
    else:
        texts = {"numpy": np.array(TEXTS), "generator": iter(TEXTS), "tuple": tuple(TEXTS)}[kind]
    torch.testing.assert_close(embedder.embed(texts), embedder.embed(TEXTS), rtol=0, atol=0)
    assert embedder.embed(np.array([], dtype=str)).shape == (0, embedder.dim)
