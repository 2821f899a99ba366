"""The card's `size_categories`: each bucket's bounds, as the Hub names them.

A dataset of exactly 1,000 rows is not `n<1K`: every bound belongs to the bucket above it."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from prixlm.data.dbpedia.card import SIZE_CATEGORIES, size_category

#: The Hub's names in order (the list `datasets` validates card metadata against).
HUB_NAMES = json.loads(
    (resources.files("datasets.utils.resources") / "size_categories.json").read_text("utf-8")
)


def test_the_thousand_and_ten_thousand_row_bounds():
    assert [size_category(n) for n in (0, 1, 999, 1000, 1001, 9999, 10000)] == [
        "n<1K",
        "n<1K",
        "n<1K",
        "1K<n<10K",
        "1K<n<10K",
        "1K<n<10K",
        "10K<n<100K",
    ]


@pytest.mark.parametrize("power", range(3, 13))
def test_each_bound_opens_the_hub_s_next_bucket(power):
    bound = 10**power
    below, at = HUB_NAMES.index(size_category(bound - 1)), HUB_NAMES.index(size_category(bound))
    assert (below, at) == (power - 2, power - 1)  # `HUB_NAMES[0]` is "unknown"
    assert size_category(bound + 1) == HUB_NAMES[at]
    assert size_category(10 * bound - 1) == HUB_NAMES[at]


def test_the_buckets_are_the_hub_s_names_in_order():
    assert HUB_NAMES[:2] == ["unknown", "n<1K"]
    assert [name for _, name in SIZE_CATEGORIES] == HUB_NAMES[1:-1]
    assert [bound for bound, _ in SIZE_CATEGORIES] == [10**p for p in range(3, 13)]
    assert size_category(10**10 - 1) == "1B<n<10B"
    # past the last bound: the Hub's last bucket (a name of its own before: "n>10B")
    assert size_category(10**10) == "10B<n<100B" and size_category(10**12) == HUB_NAMES[-1]
