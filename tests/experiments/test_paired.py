"""The paired bootstrap of two methods ranked on the same queries, against hand computations."""

from __future__ import annotations

import pytest

from prixlm.experiments.paired import paired_difference, query_values
from prixlm.link_prediction.protocols import get_protocol, protocol_metrics


def cell(filtered: list[float], raw: list[float], protocol: str) -> dict:
    metrics = protocol_metrics(filtered, raw, get_protocol(protocol), (1, 3, 10))
    return {protocol: {**metrics, "ranks": {"filtered": filtered, "raw": raw}}}


@pytest.mark.parametrize("protocol", ["ours", "kens"])
def test_query_values_average_to_the_cell_metrics(protocol):
    # query 3: filtered rank 1 but 12th unfiltered: a hit for ours, none under kens' top-10 rule
    filtered, raw = [1.0, 2.5, 1.0, 40.0, 7.0], [1.0, 3.0, 12.0, 55.0, 9.0]
    one = cell(filtered, raw, protocol)[protocol]
    values = query_values(one, protocol)
    for metric in ("hits_at_1", "hits_at_10", "mrr"):
        assert values[metric].mean() == pytest.approx(one[metric])
    assert values["hits_at_1"].tolist() == (
        [1, 0, 1, 0, 0] if protocol == "ours" else [1, 0, 0, 0, 0]
    )


def test_difference_is_the_difference_of_language_averages_with_an_interval():
    first = {"en": cell([1, 1, 2, 4], [1, 1, 2, 4], "ours"), "ja": cell([1, 3], [1, 3], "ours")}
    second = {"en": cell([2, 1, 2, 8], [2, 1, 2, 8], "ours"), "ja": cell([1, 3], [1, 3], "ours")}
    result = paired_difference(first, second, ["en", "ja"], "ours", samples=500)
    # hits@1: en 2/4 vs 1/4, ja equal: (0.25 + 0) / 2
    assert result["hits_at_1"]["difference"] == pytest.approx(0.125)
    # MRR: en (1 + 1 + 1/2 + 1/4) - (1/2 + 1 + 1/2 + 1/8) = 0.625 over 4 queries, ja 0
    assert result["mrr"]["difference"] == pytest.approx(0.625 / 4 / 2)
    # `first` is never behind on a query (at most 0.5 ahead, on en's first): no resample
    # puts it behind, none beyond 0.5 / 2 languages
    assert result["mrr"]["low"] >= 0.0 and result["mrr"]["high"] <= 0.25
    assert 0.5 < result["mrr"]["share_above_zero"] < 1.0


def test_identical_methods_differ_by_nothing():
    same = {"en": cell([1, 5, 2], [1, 5, 2], "kens")}
    result = paired_difference(same, same, ["en"], "kens")
    assert all(v == {"difference": 0.0, "low": 0.0, "high": 0.0, "share_above_zero": 0.0}
               for v in result.values())  # fmt: skip


def test_unpaired_counts_and_missing_ranks_are_refused():
    three, two = {"en": cell([1, 2, 3], [1, 2, 3], "ours")}, {"en": cell([1, 2], [1, 2], "ours")}
    with pytest.raises(ValueError, match="en: 3 and 2 queries"):
        paired_difference(three, two, ["en"], "ours")
    bare = {"en": {"ours": {"mrr": 0.5}}}
    with pytest.raises(ValueError, match="en: no per-query ranks"):
        paired_difference(three, bare, ["en"], "ours")
