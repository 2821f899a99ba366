"""evaluate_metrics/{hits_at_k,mrr} and `ranks_for_lists` with the input types users pass:
iterators as `filter_objects` entries, a generator of entries, a non-string reference."""

from __future__ import annotations

from pathlib import Path

import pytest

from prixlm.link_prediction.ranking_rules import check_filter_objects, ranks_for_lists

METRICS = Path(__file__).resolve().parents[1] / "evaluate_metrics"

#: "b" is another true object of the query: filtered out, the gold "a" ranks 1
PREDICTIONS, REFERENCES = [["b", "a"], ["c", "d", "e"]], ["a", "e"]


@pytest.fixture(scope="module")
def metrics():
    """(hits_at_k, mrr) loaded from their folders."""
    evaluate = pytest.importorskip("evaluate")
    return evaluate.load(str(METRICS / "hits_at_k")), evaluate.load(str(METRICS / "mrr"))


def _filters(kind: str):
    """The filter objects [["b"], ["c", "d"]] as lists, iterators, tuples or a generator."""
    entries = [["b"], ["c", "d"]]
    if kind == "lists":
        return entries
    if kind == "iterators":
        return [iter(entry) for entry in entries]
    if kind == "tuples":
        return tuple(tuple(entry) for entry in entries)
    return (iter(entry) for entry in entries)  # a generator of iterators


@pytest.mark.parametrize("kind", ["lists", "iterators", "tuples", "generator"])
def test_filter_objects_given_as_iterators_still_filter(metrics, kind):
    """Each entry is read once: the check before caching does not use up an iterator."""
    hits, mrr = metrics
    result = hits.compute(
        predictions=PREDICTIONS, references=REFERENCES, filter_objects=_filters(kind), k=[1, 2]
    )
    assert result == {"hits_at_1": 1.0, "hits_at_2": 1.0, "num_queries": 2, "num_missing": 0}
    result = mrr.compute(
        predictions=PREDICTIONS, references=REFERENCES, filter_objects=_filters(kind)
    )
    assert result == {"mrr": 1.0, "num_queries": 2, "num_missing": 0}


def test_check_filter_objects_returns_the_composed_lists():
    """The lists the metrics pass on: read once, composed (NFC), `None` kept."""
    nfd = "Franc\u0327ais"
    assert check_filter_objects([iter(["b"]), (nfd,)]) == [["b"], ["Fran\u00e7ais"]]
    assert check_filter_objects(None) is None
    with pytest.raises(TypeError, match=r"filter_objects is a string \('b'\)"):
        check_filter_objects("b")


def test_ranks_for_lists_refuses_a_reference_that_is_not_a_string():
    """`references=[2]` against the labels "1", "2" would be a silent miss."""
    with pytest.raises(TypeError, match=r"references\[1\] is of type int \(2\)"):
        ranks_for_lists([["1"], ["1", "2"]], ["1", 2])
    assert ranks_for_lists([["1"], ["1", "2"]], ["1", "2"]) == [1.0, 2.0]
