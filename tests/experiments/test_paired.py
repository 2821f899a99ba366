"""The paired bootstrap of two methods ranked on the same queries, against hand computations."""

from __future__ import annotations

import numpy as np
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


def test_interval_is_the_95_percent_percentile_interval_of_paired_resamples():
    """The reported interval is the 2.5th-97.5th percentile of the resampled differences
    (a 95% interval, as the tables say), recomputed here: one generator seeded `seed`
    draws each language's query indices in turn, the same draw for both methods and every
    metric. A narrower (e.g. 90%) interval would overstate how sure a difference is."""
    en_a, en_b = [1.0, 2.0, 1.0, 5.0, 1.0, 3.0], [2.0, 1.0, 4.0, 5.0, 1.0, 12.0]
    ja_a, ja_b = [3.0, 1.0, 11.0, 2.0], [1.0, 1.0, 2.0, 9.0]
    first = {"en": cell(en_a, en_a, "ours"), "ja": cell(ja_a, ja_a, "ours")}
    second = {"en": cell(en_b, en_b, "ours"), "ja": cell(ja_b, ja_b, "ours")}
    result = paired_difference(first, second, ["en", "ja"], "ours", samples=400, seed=3)

    generator = np.random.default_rng(3)
    en_draws = generator.integers(0, 6, size=(400, 6))
    ja_draws = generator.integers(0, 4, size=(400, 4))
    per_query = {
        "hits_at_1": lambda ranks: (np.array(ranks) <= 1).astype(float),
        "hits_at_10": lambda ranks: (np.array(ranks) <= 10).astype(float),
        "mrr": lambda ranks: 1 / np.array(ranks),
    }
    for metric, values in per_query.items():
        en_diff, ja_diff = values(en_a) - values(en_b), values(ja_a) - values(ja_b)
        resampled = (en_diff[en_draws].mean(axis=1) + ja_diff[ja_draws].mean(axis=1)) / 2
        low, high = np.percentile(resampled, [2.5, 97.5])
        assert result[metric]["difference"] == pytest.approx((en_diff.mean() + ja_diff.mean()) / 2)
        assert result[metric]["low"] == pytest.approx(low, abs=1e-12), metric
        assert result[metric]["high"] == pytest.approx(high, abs=1e-12), metric
        assert result[metric]["share_above_zero"] == pytest.approx(np.mean(resampled > 0))
        assert low < high  # not a degenerate interval: the check above has teeth


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
