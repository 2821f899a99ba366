"""`bench/bench_lp_speed.py` refuses rankings that differ from the reference's with an
explicit error (not `assert`, which `python -O` skips)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[2]


def _compare():
    sys.path.insert(0, str(REPO / "bench"))
    from bench_lp_speed import compare_rankings

    return compare_rankings


def test_same_rankings_give_the_largest_loss_difference() -> None:
    compare = _compare()
    ours = [SimpleNamespace(labels=["a", "b"], losses=[0.5, 1.00005])]
    assert compare(ours, [[("a", 0.5), ("b", 1.0)]]) == pytest.approx(5e-5)


@pytest.mark.parametrize(
    ("ours", "message"),
    [
        ([SimpleNamespace(labels=["b", "a"], losses=[0.5, 1.0])], "different ranked entities"),
        ([SimpleNamespace(labels=["a", "b"], losses=[0.5, 1.01])], "loss difference"),
        ([], "rankings against"),
    ],
)
def test_different_rankings_raise(ours: list, message: str) -> None:
    with pytest.raises(RuntimeError, match=message):
        _compare()(ours, [[("a", 0.5), ("b", 1.0)]])
