"""Identical name vectors tie exactly in XEL and CSLS ranks, whatever their columns' positions
and the number of queries scored together (a matrix product scores identical rows a rounding
apart: one query, or a name in the last columns, ranked a homonym 1 or 2 instead of 1.5)."""

from __future__ import annotations

import json

import pytest
import torch

from prixlm.similarity.csls import CSLS, first_identical_rows
from prixlm.similarity.xel import entity_ranks, main

# (names, hidden size): a small dictionary and CLDR's 1,822 English labels at the demo's width
SHAPES = [(11, 32), (11, 192), (50, 192), (1822, 192), (300, 768)]


def _homonym_layouts(names: int) -> list[tuple[int, int]]:
    """Pairs of columns holding one name: far apart, at the ends, in the last columns."""
    return [(0, names - 1), (names // 2, names - 1), (names - 3, names - 2), (1, 2)]


@pytest.mark.parametrize("retrieval", ["cosine", "csls"])
@pytest.mark.parametrize(("names", "width"), SHAPES)
def test_a_homonym_ranks_one_and_a_half_for_any_columns_and_query_count(retrieval, names, width):
    generator = torch.Generator().manual_seed(names + width)
    base = torch.nn.functional.normalize(torch.randn(names, width, generator=generator), dim=1)
    entities = [f"E{i:05d}" for i in range(names)]
    for first, second in _homonym_layouts(names):
        targets = base.clone()
        targets[second] = targets[first]  # the embedder's one vector for one name
        for count in (1, 3, 64):
            noise = 0.01 * torch.randn(count, width, generator=generator)
            queries = targets[first] + noise  # nearer the shared name than any other
            for gold in (entities[first], entities[second]):
                ranks, _ = entity_ranks(
                    queries, targets, entities, [frozenset([gold])] * count, retrieval=retrieval
                )
                at = f"columns {first} and {second}, {count} queries, gold {gold}"
                assert ranks.tolist() == [1.5] * count, at


def test_xel_cli_ranks_a_homonym_alike_for_one_query_and_for_several(tiny_prixlm, tmp_path):
    """The XL-BEL path: one name under two CUIs at both ends of the dictionary, asked once
    and three times (the first, alone, was a hit: accuracy 1.0 instead of 0)."""
    model, tokenizer = tiny_prixlm
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    others = ["Berlin", "Paris", "Rom", "Wien", "Bern", "Oslo", "Prag", "Riga", "Kiew"]
    lines = ["C00||Georgia", *(f"C{i:02d}||{name}" for i, name in enumerate(others, 1))]
    lines.append(f"C{len(others) + 1:02d}||Georgia")
    (tmp_path / "umls.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for count in (1, 3):
        queries = tmp_path / f"en_{count}.txt"
        queries.write_text("C00||Georgia\n" * count, encoding="utf-8")
        output = tmp_path / f"xel_{count}.json"
        args = ["--model", str(tmp_path / "model"), "--benchmark", "xlbel"]
        args += ["--queries", f"en={queries}", "--targets", str(tmp_path / "umls.txt")]
        assert main([*args, "--output", str(output)]) == 0
        metrics = json.loads(output.read_text(encoding="utf-8"))["per_language"]["en"]
        assert metrics["num_queries"] == count
        assert metrics["accuracy"] == 0.0, f"{count} queries: {metrics}"
        assert metrics["mrr"] == pytest.approx(1 / 1.5, abs=1e-12), f"{count} queries"


@pytest.mark.parametrize(("names", "width"), SHAPES)
def test_csls_ranks_tie_identical_targets(names, width):
    """BLI's ranks: two candidate words read as one vector (both `<unk>`) tie."""
    generator = torch.Generator().manual_seed(names * width)
    targets = torch.randn(names, width, generator=generator)
    for first, second in _homonym_layouts(names):
        twins = targets.clone()
        twins[second] = twins[first]
        for count in (1, 3, 64):
            sources = twins[first] + 0.01 * torch.randn(count, width, generator=generator)
            csls = CSLS(sources, twins)
            for gold in (first, second):
                ranks = csls.ranks(torch.full((count,), gold))
                assert ranks.tolist() == [1.5] * count, f"{first}, {second}, {count}: {gold}"


def test_first_identical_rows_groups_equal_rows_only():
    rows = torch.tensor([[1.0, 2.0], [3.0, 4.0], [1.0, 2.0], [1.0, 2.0000002], [3.0, 4.0]])
    assert first_identical_rows(rows).tolist() == [0, 1, 0, 3, 1]
    assert first_identical_rows(rows[:2]) is None  # all distinct: nothing to do
    assert first_identical_rows(rows[:1]) is None
    # blockwise (one row per block) gives the same grouping
    assert first_identical_rows(rows, max_block_floats=1).tolist() == [0, 1, 0, 3, 1]
    with pytest.raises(ValueError, match="expected a"):
        first_identical_rows(torch.zeros(3))
