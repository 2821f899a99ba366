"""Identical texts get bit-identical vectors, so exact ties (XEL homonyms) stay ties."""

from __future__ import annotations

import json
import unicodedata

import pytest
import torch
from tiny_models import TINY_FACTS

from prixlm.similarity.embedder import PrixLMEmbedder
from prixlm.similarity.xel import main

TEXTS = sorted({part for fact in TINY_FACTS for part in fact})  # 23 texts, 3 to 16 tokens
# Names of several lengths: the parts of the facts and their pairs, each listed once.
NAMES = sorted(
    {*TEXTS, *(f"{s} {o}" for s, _, o in TINY_FACTS), *(f"{s} {r}" for s, r, _ in TINY_FACTS)}
)


def assert_bit_identical(actual: torch.Tensor, expected: torch.Tensor) -> None:
    """Equal to the last bit (a tie test is exact float equality)."""
    assert actual.shape == expected.shape
    worst = (actual - expected).abs().max().item()
    assert torch.equal(actual, expected), f"vectors differ by up to {worst:.3g}"


@pytest.fixture
def two_threads():
    """Two torch threads, as a run on a laptop: the float sums then split differently."""
    torch.set_num_threads(2)  # the suite's count is restored by conftest


@pytest.mark.parametrize("batch_size", [1, 2, 3, 64])
def test_repeated_texts_get_the_vector_of_their_first_copy(tiny_prixlm, two_threads, batch_size):
    model, tokenizer = tiny_prixlm
    embedder = PrixLMEmbedder(model, tokenizer, batch_size=batch_size)
    alone = embedder.embed(TEXTS)
    decomposed = [unicodedata.normalize("NFD", t) for t in ("Währung", "Französisch")]
    assert decomposed != ["Währung", "Französisch"]
    vectors = embedder.embed([*TEXTS, *reversed(TEXTS), *decomposed])
    n = len(TEXTS)
    assert vectors.shape == (2 * n + 2, model.config.hidden_size)
    assert_bit_identical(vectors[:n], alone)  # the copies change no vector of the first ones
    assert_bit_identical(vectors[n : 2 * n], alone.flip(0))  # the copies, in order
    assert_bit_identical(vectors[2 * n], alone[TEXTS.index("Währung")])  # read as composed
    assert_bit_identical(vectors[2 * n + 1], alone[TEXTS.index("Französisch")])
    for row, text in enumerate(TEXTS):  # each row is its own text's vector
        single = PrixLMEmbedder(model, tokenizer, batch_size=1).embed([text])[0]
        torch.testing.assert_close(alone[row], single, rtol=0, atol=1e-5)


def test_each_distinct_text_is_run_once(tiny_prixlm, monkeypatch):
    model, tokenizer = tiny_prixlm
    seen: list[int] = []
    forward = model.embed

    def counted(input_ids, attention_mask=None, **kwargs):
        seen.append(int(input_ids.shape[0]))
        return forward(input_ids, attention_mask, **kwargs)

    monkeypatch.setattr(model, "embed", counted)
    embedder = PrixLMEmbedder(model, tokenizer, batch_size=4)
    assert embedder.embed(TEXTS * 3).shape == (3 * len(TEXTS), model.config.hidden_size)
    assert sum(seen) == len(TEXTS)
    assert seen == [4] * (len(TEXTS) // 4) + [len(TEXTS) % 4]


def test_xel_homonyms_tie_at_every_batch_size(tiny_prixlm, tmp_path, two_threads):
    """One name under two entities (UMLS: one name, several CUIs), asked once per entity:
    the gold ties with the other entity, rank 1.5 (no hit) for every query."""
    model, tokenizer = tiny_prixlm
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    lines = [f"C{i:03d}||{name}" for i, name in enumerate(NAMES)]
    lines += [f"D{i:03d}||{name}" for i, name in enumerate(NAMES)]
    queries = [f"{c}{i:03d}||{name}" for i, name in enumerate(NAMES) for c in "CD"]
    (tmp_path / "umls.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "en_test.txt").write_text("\n".join(queries) + "\n", encoding="utf-8")
    for batch_size in (1, 2):
        output = tmp_path / f"xel_{batch_size}.json"
        args = ["--model", str(tmp_path / "model"), "--benchmark", "xlbel"]
        args += ["--queries", f"en={tmp_path / 'en_test.txt'}"]
        args += ["--targets", str(tmp_path / "umls.txt"), "--output", str(output)]
        assert main([*args, "--batch_size", str(batch_size)]) == 0
        metrics = json.loads(output.read_text(encoding="utf-8"))["per_language"]["en"]
        assert metrics["num_queries"] == 2 * len(NAMES)
        at = f"--batch_size {batch_size}: {metrics}"
        assert metrics["accuracy"] == 0.0, at  # no query won its tie
        assert metrics["mrr"] == pytest.approx(1 / 1.5, abs=1e-12), at  # every rank is 1.5
