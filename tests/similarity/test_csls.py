"""prixlm.similarity.csls: CSLS by the formula, blockwise = dense, ranks and metrics."""

from __future__ import annotations

import math

import pytest
import torch

from prixlm.similarity.csls import CSLS, csls_retrieval_metrics, knn_mean_similarity


def _unit(angle_degrees: float) -> list[float]:
    radians = math.radians(angle_degrees)
    return [math.cos(radians), math.sin(radians)]


def test_csls_of_a_hand_computed_case_equals_the_formula():
    # Two sources at 0 and 90 degrees, three targets at 0, 60 and 90 degrees, k = 2.
    sources = torch.tensor([_unit(0), _unit(90)])
    targets = torch.tensor([_unit(0), _unit(60), _unit(90)]) * 3.0  # length must not matter
    cos = [[1.0, 0.5, 0.0], [0.0, math.sqrt(3) / 2, 1.0]]
    r_t = [(1.0 + 0.5) / 2, (1.0 + math.sqrt(3) / 2) / 2]  # mean of each source's 2 best
    r_s = [(1.0 + 0.0) / 2, (0.5 + math.sqrt(3) / 2) / 2, (0.0 + 1.0) / 2]
    expected = torch.tensor([[2 * cos[i][j] - r_t[i] - r_s[j] for j in range(3)] for i in range(2)])
    csls = CSLS(sources, targets, k=2)
    torch.testing.assert_close(csls.source_hubness, torch.tensor(r_t))
    torch.testing.assert_close(csls.target_hubness, torch.tensor(r_s))
    torch.testing.assert_close(csls.scores(slice(0, 2)), expected)
    # By cosine, source 1 (90 deg) prefers target 2 (cos 1); CSLS too (0.5 hubness each).
    indices, values = csls.neighbours(top=3)
    assert indices.tolist() == [[0, 1, 2], [2, 1, 0]]
    torch.testing.assert_close(values, expected.sort(dim=1, descending=True).values)
    assert csls.ranks(torch.tensor([1, 2])).tolist() == [2.0, 1.0]


def test_hubness_correction_changes_the_nearest_neighbour():
    # A hub target near every source loses against a target that only one source is near.
    sources = torch.tensor([_unit(0), _unit(10), _unit(-10)])
    targets = torch.tensor([_unit(5), _unit(-30)])  # target 0: the hub
    by_cosine = (sources @ targets.T).argmax(dim=1)
    indices, _ = CSLS(sources, targets, k=1).neighbours(top=1)
    assert by_cosine[2] == 0 and indices[2, 0] == 1


@pytest.mark.parametrize("max_block_floats", [1, 7, 64, 10_000])
def test_blockwise_equals_dense(max_block_floats):
    generator = torch.Generator().manual_seed(0)
    sources = torch.randn(23, 8, generator=generator)
    targets = torch.randn(31, 8, generator=generator)
    dense = CSLS(sources, targets, k=10, max_block_floats=10**9)
    blocked = CSLS(sources, targets, k=10, max_block_floats=max_block_floats)
    torch.testing.assert_close(blocked.source_hubness, dense.source_hubness)
    torch.testing.assert_close(blocked.target_hubness, dense.target_hubness)
    for a, b in zip(blocked.neighbours(top=5), dense.neighbours(top=5), strict=True):
        torch.testing.assert_close(a, b)
    gold = torch.arange(23) % 31
    assert torch.equal(blocked.ranks(gold), dense.ranks(gold))
    full = dense.scores(slice(None))
    expected_ranks = (full > full[torch.arange(23), gold][:, None]).sum(dim=1) + 1.0
    assert torch.equal(dense.ranks(gold), expected_ranks.double())  # no ties in random data
    unit_s = torch.nn.functional.normalize(sources, dim=1)
    unit_t = torch.nn.functional.normalize(targets, dim=1)
    torch.testing.assert_close(
        knn_mean_similarity(unit_s, unit_t, k=31, max_block_floats=max_block_floats),
        (unit_s @ unit_t.T).mean(dim=1),
    )


def test_retrieval_metrics_of_identical_spaces_and_bad_shapes():
    vectors = torch.randn(40, 16, generator=torch.Generator().manual_seed(1))
    metrics = csls_retrieval_metrics(vectors, vectors, torch.arange(40))
    assert metrics["hits_at_1"] == 1.0 and metrics["mrr"] == 1.0 and metrics["num_queries"] == 40
    shifted = csls_retrieval_metrics(vectors, vectors, (torch.arange(40) + 1) % 40)
    assert shifted["hits_at_1"] == 0.0 and shifted["mrr"] < 0.5
    with pytest.raises(ValueError, match=r"sources \(2, 3\) and targets \(2, 4\)"):
        CSLS(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"gold \(3,\): expected \(2,\)"):
        CSLS(torch.randn(2, 3), torch.randn(2, 3)).ranks(torch.zeros(3, dtype=torch.long))


def test_faiss_backend_gives_the_same_neighbours():
    pytest.importorskip("faiss")
    generator = torch.Generator().manual_seed(5)
    csls = CSLS(torch.randn(50, 8, generator=generator), torch.randn(70, 8, generator=generator))
    torch_indices, torch_values = csls.neighbours(top=5)
    faiss_indices, faiss_values = csls.neighbours(top=5, backend="faiss")
    assert torch.equal(faiss_indices, torch_indices)
    torch.testing.assert_close(faiss_values, torch_values, rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="backend='annoy'"):
        csls.neighbours(backend="annoy")
