"""The metrics warn when a prediction list shorter than k (or the MRR cutoff) lacks its gold.

The pipeline's default `top_k` is 5: its lists fed to hits@k reported `hits_at_10` from
5-item lists (every gold ranked 6th to 10th a miss) and MRR@50 from 5-item lists, with no
word. Lists that reach k, or short lists that hold their gold, rank exactly: no warning.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

METRICS = Path(__file__).resolve().parents[1] / "evaluate_metrics"
#: Five answers per query, as the pipeline's default top_k gives: "f" (6th) is cut off.
FIVE = [["a", "b", "c", "d", "e"], ["a", "b", "c", "d", "e"], ["a", "b", "c", "d", "e"]]
TEN = [[*row, "f", "g", "h", "i", "j"] for row in FIVE]
GOLDS = ["b", "f", "c"]


@pytest.fixture(scope="module")
def metrics():
    evaluate = pytest.importorskip("evaluate")
    return evaluate.load(str(METRICS / "hits_at_k")), evaluate.load(str(METRICS / "mrr"))


def _computed(metric, **arguments) -> tuple[dict, list[str]]:
    """`metric.compute(**arguments)` and the texts of the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = metric.compute(**arguments)
    return result, [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def _short(name: str, bound: int) -> str:
    return (
        f"3 of the 3 prediction lists have fewer than {name}={bound} entries (the shortest 5) "
        f"and 1 of these lack their gold object, each counted as a miss though a longer list "
        f"might rank it within {bound}: with the Prix-LM pipeline, produce the lists with "
        "top_k=num_beams (e.g. top_k=50, num_beams=50)"
    )


def test_hits_at_10_of_five_item_lists_warns(metrics):
    hits, _ = metrics
    result, said = _computed(hits, predictions=FIVE, references=GOLDS)
    assert result == {
        "hits_at_1": 0.0,
        "hits_at_3": pytest.approx(2 / 3),
        "hits_at_10": pytest.approx(2 / 3),  # "f" (6th) was cut off: a miss
        "num_queries": 3,
        "num_missing": 1,
    }
    assert said == [_short("k", 10)]
    # the full lists rank "f" 6th: a hit at 10, and nothing to warn about
    result, said = _computed(hits, predictions=TEN, references=GOLDS)
    assert result["hits_at_10"] == 1.0 and result["num_missing"] == 0
    assert said == []


def test_hits_warns_only_for_a_short_list_without_its_gold(metrics):
    hits, _ = metrics
    # 5-item lists that hold every gold rank exactly: no warning at k=10
    assert _computed(hits, predictions=FIVE, references=["b", "e", "a"])[1] == []
    # a gold missing from a list as long as k: a true miss, no warning
    assert _computed(hits, predictions=TEN, references=["z", "a", "a"])[1] == []
    # k up to 5: the 5-item lists are not shorter than k, whatever they miss
    result, said = _computed(hits, predictions=FIVE, references=GOLDS, k=[1, 5])
    assert result["hits_at_5"] == pytest.approx(2 / 3) and said == []
    # one list shorter than k lacking its gold is enough, and the count says which
    _, said = _computed(hits, predictions=[FIVE[0], TEN[0]], references=["f", "j"], k=10)
    assert said == [
        "1 of the 2 prediction lists have fewer than k=10 entries (the shortest 5) and 1 of "
        "these lack their gold object, each counted as a miss though a longer list might rank "
        "it within 10: with the Prix-LM pipeline, produce the lists with top_k=num_beams "
        "(e.g. top_k=50, num_beams=50)"
    ]


def test_mrr_at_50_of_five_item_lists_warns(metrics):
    _, mrr = metrics
    result, said = _computed(mrr, predictions=FIVE, references=GOLDS, cutoff=50)
    assert result == {
        "mrr_at_50": pytest.approx((1 / 2 + 0 + 1 / 3) / 3),
        "num_queries": 3,
        "num_missing": 1,
    }
    assert said == [_short("cutoff", 50)]
    # lists of 50 (the beam's every completed entity): no warning, "f" ranked 6th
    fifty = [[*row, *(f"x{i}" for i in range(40))] for row in TEN]
    result, said = _computed(mrr, predictions=fifty, references=GOLDS, cutoff=50)
    assert result["mrr_at_50"] == pytest.approx((1 / 2 + 1 / 6 + 1 / 3) / 3)
    assert said == []


def test_mrr_warns_only_for_a_short_list_without_its_gold(metrics):
    _, mrr = metrics
    # cutoff 5 over 5-item lists: a missing gold is below K anyway
    result, said = _computed(mrr, predictions=FIVE, references=GOLDS, cutoff=5)
    assert result["mrr_at_5"] == pytest.approx((1 / 2 + 0 + 1 / 3) / 3) and said == []
    # short lists holding every gold; a full ranking (no cutoff) holding every gold
    assert _computed(mrr, predictions=FIVE, references=["b", "e", "a"], cutoff=50)[1] == []
    assert _computed(mrr, predictions=FIVE, references=["b", "e", "a"])[1] == []


def test_the_warning_is_one_file_linked_into_both_metric_folders():
    """Both folders carry the one `short_lists.py` (a link, as `ranking_rules.py`)."""
    for name in ("hits_at_k", "mrr"):
        linked = METRICS / name / "short_lists.py"
        assert linked.is_symlink() and linked.resolve() == METRICS / "short_lists.py"


def test_the_cards_produce_the_lists_with_top_k_num_beams():
    """Each card's pipeline call asks for every completed entity, not the default 5."""
    for name in ("hits_at_k", "mrr"):
        card = (METRICS / name / "README.md").read_text(encoding="utf-8")
        assert "top_k=50, num_beams=50" in card and "`top_k` = `num_beams`" in card
