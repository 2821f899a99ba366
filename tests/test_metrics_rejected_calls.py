"""evaluate_metrics/{hits_at_k,mrr}: a refused `compute` leaves nothing in the metrics cache.

`evaluate` writes the inputs to an Arrow file before `_compute` runs and removes it only
after a result, so each call refused for its `k`, `cutoff` or `filter_objects` left a file
(and, its lock still held, the next call wrote under a new name)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

METRICS = Path(__file__).resolve().parents[1] / "evaluate_metrics"

CASE = {
    "predictions": [["Paris", "Lyon", "Nice"], ["euro"], ["a", "b", "c", "d"]],
    "references": ["Lyon", "yen", "d"],
    "prediction_scores": [[-1.0, -2.0, -2.0], [-0.5], [4.0, 3.0, 2.0, 1.0]],
    "filter_objects": [[], [], ["a", "b"]],
}
#: ranks: Lyon 2.5 (tie with Nice), yen missing, d 2.0 (a and b filtered)
HITS = {"hits_at_1": 0.0, "hits_at_3": 2 / 3, "num_queries": 3, "num_missing": 1}
MRR = {"mrr_at_50": (1 / 2.5 + 0 + 1 / 2) / 3, "num_queries": 3, "num_missing": 1}


@pytest.fixture
def cached(tmp_path):
    """(hits_at_k, mrr, cache folder): the metrics loaded with their cache in a temp folder."""
    evaluate = pytest.importorskip("evaluate")
    cache = tmp_path / "metrics"
    hits = evaluate.load(str(METRICS / "hits_at_k"), cache_dir=str(cache))
    mrr = evaluate.load(str(METRICS / "mrr"), cache_dir=str(cache))
    return hits, mrr, cache


def _files(cache: Path) -> list[str]:
    return sorted(str(path.relative_to(cache)) for path in cache.rglob("*") if path.is_file())


def _refused(cached) -> dict[str, tuple]:
    """name -> (call, error type, message) of calls the metrics refuse."""
    hits, mrr, _ = cached
    case = {k: CASE[k] for k in ("predictions", "references")}
    return {
        "k=0": (lambda: hits.compute(**CASE, k=0), ValueError, r"k=0: expected an integer k >= 1"),
        "k=1.0": (lambda: hits.compute(**CASE, k=[1, 2.0]), ValueError, r"expected an integer"),
        "hits filter string": (
            lambda: hits.compute(**case, filter_objects=["Paris", "a", "b"], k=1),
            TypeError,
            r"filter_objects\[0\] is a string \('Paris'\)",
        ),
        "hits filter int": (
            lambda: hits.compute(**case, filter_objects=[[], [2], []], k=1),
            TypeError,
            r"filter_objects\[1\] holds a value of type int \(2\)",
        ),
        "cutoff=0": (lambda: mrr.compute(**CASE, cutoff=0), ValueError, r"cutoff=0: expected"),
        "cutoff=True": (lambda: mrr.compute(**CASE, cutoff=True), ValueError, r"integer K >= 1"),
        "mrr filter None": (
            lambda: mrr.compute(**case, filter_objects=[[], ["2", None], []], cutoff=5),
            TypeError,
            r"filter_objects\[1\] .* type NoneType",
        ),
        # refused while computing, from the data: the file written is removed
        "missing gold": (lambda: mrr.compute(**CASE), ValueError, r"pass cutoff=K"),
        "NaN score": (
            lambda: hits.compute(
                **{**CASE, "prediction_scores": [[math.nan, 1.0, 0.0], [0.0], [1, 2, 3, 4]]}, k=1
            ),
            ValueError,
            "NaN",
        ),
        "filter length": (
            lambda: hits.compute(**case, filter_objects=[[]], k=1),
            ValueError,
            "3 predictions but 1 filter_objects",
        ),
    }


def test_a_refused_compute_leaves_no_cache_file(cached):
    hits, mrr, cache = cached
    assert hits.compute(**CASE, k=[1, 3]) == pytest.approx(HITS)
    assert mrr.compute(**CASE, cutoff=50) == pytest.approx(MRR)
    after_good = _files(cache)
    assert not [name for name in after_good if name.endswith(".arrow")]
    for name, (call, error, message) in _refused(cached).items():
        for _ in range(3):
            with pytest.raises(error, match=message):
                call()
            assert _files(cache) == after_good, name
    # the metrics still answer as before, and leave the cache as a good call does
    assert hits.compute(**CASE, k=[1, 3]) == pytest.approx(HITS)
    assert mrr.compute(**CASE, cutoff=50) == pytest.approx(MRR)
    assert _files(cache) == after_good


def test_add_batch_then_a_refused_compute_keeps_the_batches(cached):
    """A `k` refused before anything is written keeps what `add_batch` stored: the call
    with a good `k` then counts every batch."""
    hits, _, _ = cached
    for i in range(3):
        hits.add_batch(
            predictions=CASE["predictions"][i : i + 1], references=CASE["references"][i : i + 1]
        )
    with pytest.raises(ValueError, match="k=0: expected an integer k >= 1"):
        hits.compute(k=0, filter_objects=CASE["filter_objects"])
    result = hits.compute(
        k=[1, 3], prediction_scores=CASE["prediction_scores"], filter_objects=CASE["filter_objects"]
    )
    assert result == pytest.approx(HITS)
