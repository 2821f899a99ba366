"""Knowledge probing at scale: a relation's other true objects are gathered once per relation
(not by scanning every probe per probe) and the chance MRR's harmonic numbers are summed once,
with exactly the results of the per-probe rules."""

from __future__ import annotations

import random
import unicodedata

import pytest
from test_probing import PIECES, StubLM
from transformers import XLMRobertaTokenizer

from modeling_prixlm.formatting import add_prixlm_tokens
from prixlm.similarity import probing
from prixlm.similarity.probing_data import Probe, ProbeSet, Template

# subjects and objects that differ only in composition (NFC vs NFD) are different labels
NAMES = ["Zürich", "Québec", "Paris", "Berlin", "Lyon", "France", "Germany", "Main"]
VARIANTS = sorted({unicodedata.normalize(form, n) for n in NAMES for form in ("NFC", "NFD")})
OBJECTS = [*VARIANTS, *(f"answer {i}" for i in range(60))]  # sparse: each subject has few


def reference_filtered(probes: list[Probe], index: int) -> set[str]:
    """The per-probe rule: every probe of the relation scanned for the same subject."""
    probe = probes[index]
    same = {p.obj_label for p in probes if p.sub_label == probe.sub_label}
    return (same | probe.known_objects) - {probe.obj_label}


def reference_chance_mrr(ranked: list[int]) -> float:
    """The per-probe rule: H_n summed afresh for every probe."""
    return sum(sum(1 / r for r in range(1, n + 1)) / n for n in ranked) / len(ranked)


def random_probes(rng: random.Random, count: int, relation: str = "P36") -> list[Probe]:
    """`count` probes over few subjects (each repeated) with NFC/NFD variants and known objects."""
    name = rng.choice(NAMES[:2])  # an accented subject in both spellings, always
    subjects = [*rng.sample(VARIANTS, 4), *(unicodedata.normalize(f, name) for f in ("NFC", "NFD"))]
    return [
        Probe(
            rng.choice(subjects),
            rng.choice(OBJECTS),
            relation,
            "en",
            known_objects=frozenset(rng.sample(OBJECTS, rng.randint(0, 3))),
        )
        for _ in range(count)
    ]


@pytest.mark.parametrize("seed", range(5))
def test_filtered_equals_the_per_probe_scan(seed):
    rng = random.Random(seed)
    probes = random_probes(rng, rng.randint(200, 400))
    assert len({p.sub_label for p in probes}) < len(probes)  # subjects repeat
    assert len({unicodedata.normalize("NFC", p.sub_label) for p in probes}) < len(
        {p.sub_label for p in probes}
    )  # and some differ only in composition
    assert probing._filtered(probes) == [reference_filtered(probes, i) for i in range(len(probes))]


def test_filtered_over_twenty_thousand_probes_of_one_relation():
    rng = random.Random(7)
    subjects = [f"subject {i}" for i in range(5000)]
    objects = [f"object {i}" for i in range(8000)]
    probes = [Probe(rng.choice(subjects), rng.choice(objects), "P1", "en") for _ in range(20000)]
    filtered = probing._filtered(probes)
    assert len(filtered) == len(probes)
    for i in rng.sample(range(len(probes)), 50):
        assert filtered[i] == reference_filtered(probes, i)


@pytest.mark.parametrize("seed", range(5))
def test_chance_mrr_is_bit_identical_to_the_per_probe_sum(seed):
    rng = random.Random(seed)
    ranked = [rng.randint(1, 300) for _ in range(rng.randint(1, 500))]
    assert probing._chance_mrr(ranked) == reference_chance_mrr(ranked)  # exactly, not approx
    assert probing._chance_mrr([1]) == 1.0
    assert probing._chance_mrr([3, 3, 2]) == reference_chance_mrr([3, 3, 2])


@pytest.fixture(scope="module")
def tokenizer():
    """test_probing's word tokenizer, with composed and decomposed pieces of the variants."""
    pieces = [*PIECES, *(f"▁{v}" for v in VARIANTS if f"▁{v}" not in PIECES)]
    tokenizer = XLMRobertaTokenizer(vocab=[(p, -float(i)) for i, p in enumerate(pieces)])
    add_prixlm_tokens(tokenizer, ["en"])
    return tokenizer


def random_probe_set(seed: int) -> ProbeSet:
    rng = random.Random(seed)
    relations = {"P36": "The capital of [X] is [Y] .", "P17": "[X] lies in [Y] ."}
    templates = {r: Template(r, t) for r, t in relations.items()}
    return ProbeSet("en", templates, {r: random_probes(rng, 300, r) for r in relations})


@pytest.mark.parametrize("kind", ["prixlm", "masked_lm"])
def test_single_token_results_equal_the_per_probe_rule_and_gather_once_per_relation(
    tokenizer, kind, monkeypatch
):
    probe_set = random_probe_set(3)
    order = ["▁Zürich", "▁Paris", "▁Berlin", "▁Lyon", "▁Québec", "▁France"]

    def run() -> dict:
        model = StubLM(tokenizer, order, masked=kind == "masked_lm")
        return probing.single_token_accuracy(model, tokenizer, probe_set, kind, stop=())

    calls = []
    gather = probing._filtered
    monkeypatch.setattr(probing, "_filtered", lambda probes: calls.append(1) or gather(probes))
    new = run()
    assert len(calls) == len(probe_set.probes)  # once per relation, not once per probe
    monkeypatch.setattr(
        probing,
        "_filtered",
        lambda probes: [reference_filtered(probes, i) for i in range(len(probes))],
    )
    assert new == run()
    assert new["num_probes"] > 0


def test_multi_token_results_equal_the_per_probe_rules(tiny_prixlm, monkeypatch):
    model, tokenizer = tiny_prixlm
    rng = random.Random(11)
    template = Template("P36", "The capital of [X] is [Y] .")
    probe_set = ProbeSet("en", {"P36": template}, {"P36": random_probes(rng, 24)})
    new = probing.multi_token_accuracy(model, tokenizer, probe_set)
    monkeypatch.setattr(
        probing,
        "_filtered",
        lambda probes: [reference_filtered(probes, i) for i in range(len(probes))],
    )
    monkeypatch.setattr(probing, "_chance_mrr", reference_chance_mrr)
    assert new == probing.multi_token_accuracy(model, tokenizer, probe_set)
    assert new["per_relation"]["P36"]["num_probes"] == 24
