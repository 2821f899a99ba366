"""Knowledge probing, single-token protocol: a gold spelled another way among its own known
objects is not filtered, and the language summary's macro and micro means."""

from __future__ import annotations

import unicodedata

import pytest
from test_probing import PIECES, StubLM
from transformers import XLMRobertaTokenizer

from modeling_prixlm.formatting import add_prixlm_tokens
from prixlm.similarity.probing import probe_model, single_token_accuracy
from prixlm.similarity.probing_data import Probe, ProbeSet, Template

ZURICH = "Zürich"  # composed (NFC)


@pytest.fixture(scope="module")
def tokenizer():
    """test_probing's word tokenizer, with the one piece `▁Zürich` added."""
    vocab = [*PIECES, "▁Zürich"]
    tokenizer = XLMRobertaTokenizer(vocab=[(p, -float(i)) for i, p in enumerate(vocab)])
    add_prixlm_tokens(tokenizer, ["en"])
    return tokenizer


def single(model, tokenizer, probe_set: ProbeSet) -> dict:
    results = probe_model(model, tokenizer, {"en": probe_set}, "prixlm", multi_token=False)
    return results["single_token"]["per_language"]["en"]


@pytest.mark.parametrize("kind", ["prixlm", "masked_lm"])
def test_the_gold_spelled_decomposed_among_its_known_objects_is_not_filtered(tokenizer, kind):
    """mLAMA's `all_obj_labels` may hold the gold in its NFD spelling: it is the gold (the
    same token once composed), not another true object to filter out."""
    decomposed = unicodedata.normalize("NFD", ZURICH)
    assert decomposed != ZURICH
    ids = tokenizer(ZURICH, add_special_tokens=False)["input_ids"]
    assert tokenizer.convert_ids_to_tokens(ids) == ["▁Zürich"]  # one token: in the protocol
    probe = Probe(
        "Switzerland", ZURICH, "P36", "en", known_objects=frozenset({decomposed, "Berlin"})
    )
    probe_set = ProbeSet("en", {"P36": Template("P36", "The capital of [X] is [Y] .")},
                         {"P36": [probe]})  # fmt: skip
    # best first: the gold, then the other known object, then another answer
    model = StubLM(tokenizer, ["▁Zürich", "▁Berlin", "▁Paris"], masked=kind == "masked_lm")
    result = single_token_accuracy(model, tokenizer, probe_set, kind, stop=())
    relation = result["per_relation"]["P36"]
    assert (relation["num_probes"], relation["accuracy"]) == (1, 1.0)
    assert result["accuracy"] == result["micro_accuracy"] == 1.0


def capital_set(relations: dict[str, tuple[str, list[tuple[str, str]]]]) -> ProbeSet:
    """`{relation: (template, [(subject, object), ...])}` as an en probe set."""
    templates = {r: Template(r, template) for r, (template, _) in relations.items()}
    probes = {r: [Probe(s, o, r, "en") for s, o in facts] for r, (_, facts) in relations.items()}
    return ProbeSet("en", templates, probes)


def test_the_macro_mean_leaves_out_relations_without_an_askable_probe(tokenizer):
    """A relation whose probes are all unaskable (nothing before `[Y]`) or multi-token has no
    accuracy: the language's accuracy is the mean over the other relations only."""
    probe_set = capital_set(
        {
            "P36": ("The capital of [X] is [Y] .", [("France", "Paris"), ("Hesse", "Paris")]),
            "P1376": ("[Y] is the capital of [X] .", [("France", "Paris")]),  # unaskable
            "P17": ("[X] lies in [Y] .", [("Frankfurt", "Frankfurt am Main")]),  # 3 tokens
        }
    )
    en = single(StubLM(tokenizer, ["▁Paris"], masked=False), tokenizer, probe_set)
    assert en["per_relation"]["P36"]["accuracy"] == 1.0
    for relation in ("P1376", "P17"):
        assert en["per_relation"][relation]["num_probes"] == 0
        assert en["per_relation"][relation]["accuracy"] is None
    assert en["accuracy"] == 1.0
    assert en["micro_accuracy"] == 1.0
    assert (en["num_probes"], en["num_unaskable"]) == (2, 1)


def test_the_micro_mean_weights_each_relation_by_its_probes(tokenizer):
    """P36: 3 probes, all right (Paris); P19: 1 probe, wrong (Berlin asked, Paris predicted).
    Macro: (1 + 0) / 2; micro: 3 right of 4 probes."""
    probe_set = capital_set(
        {
            "P36": (
                "The capital of [X] is [Y] .",
                [("France", "Paris"), ("Hesse", "Paris"), ("Nowhere", "Paris")],
            ),
            "P19": ("[X] was born in [Y] .", [("Someone", "Berlin")]),
        }
    )
    en = single(StubLM(tokenizer, ["▁Paris", "▁Berlin"], masked=False), tokenizer, probe_set)
    assert en["per_relation"]["P36"]["accuracy"] == 1.0
    assert en["per_relation"]["P19"]["accuracy"] == 0.0
    assert en["num_probes"] == 4
    assert en["accuracy"] == pytest.approx(0.5)
    assert en["micro_accuracy"] == pytest.approx(0.75)
