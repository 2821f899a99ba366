"""evaluate_metrics/{hits_at_k,mrr}: loaded offline with `evaluate.load(<folder>)`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from prixlm.link_prediction.ranking import ranking_metrics, ranks_for_lists

METRICS = Path(__file__).resolve().parents[1] / "evaluate_metrics"

CASE = {
    "predictions": [["Paris", "Lyon", "Nice"], ["euro"], ["a", "b", "c", "d"]],
    "references": ["Lyon", "yen", "d"],
    "prediction_scores": [[-1.0, -2.0, -2.0], [-0.5], [4.0, 3.0, 2.0, 1.0]],
    "filter_objects": [[], [], ["a", "b"]],
}


@pytest.fixture(scope="module")
def metrics():
    evaluate = pytest.importorskip("evaluate")
    return (
        evaluate.load(str(METRICS / "hits_at_k")),
        evaluate.load(str(METRICS / "mrr")),
    )


def test_hits_at_k_by_hand(metrics):
    hits, _ = metrics
    result = hits.compute(**CASE, k=[1, 3, 10])
    # ranks: Lyon 2.5 (tie with Nice), yen missing, d 2.0 (a and b filtered)
    assert result == {
        "hits@1": 0.0,
        "hits@3": pytest.approx(2 / 3),
        "hits@10": pytest.approx(2 / 3),
        "num_queries": 3,
        "num_missing": 1,
    }


def test_mrr_by_hand_is_named_mrr_at_k(metrics):
    _, mrr = metrics
    result = mrr.compute(**CASE, cutoff=50)
    assert result == {
        "mrr@50": pytest.approx((1 / 2.5 + 0 + 1 / 2) / 3),
        "num_queries": 3,
        "num_missing": 1,
    }
    with pytest.raises(ValueError, match="cutoff=K"):
        mrr.compute(**CASE)


def test_full_ranking_mrr_and_add_batch(metrics):
    hits, mrr = metrics
    for prediction, reference in zip(
        CASE["predictions"][::2], CASE["references"][::2], strict=True
    ):
        mrr.add_batch(predictions=[prediction], references=[reference])
    result = mrr.compute(
        prediction_scores=CASE["prediction_scores"][::2], filter_objects=CASE["filter_objects"][::2]
    )
    assert result == {"mrr": pytest.approx((0.4 + 0.5) / 2), "num_queries": 2, "num_missing": 0}


def test_metrics_equal_the_plain_functions(metrics):
    hits, mrr = metrics
    ranks = ranks_for_lists(**CASE)
    expected = ranking_metrics(ranks, cutoff=10)
    got = {**hits.compute(**CASE), **mrr.compute(**CASE, cutoff=10)}
    assert got == pytest.approx(expected)


def test_offline_load_in_a_fresh_process(tmp_path):
    """The real path: a fresh interpreter, hub offline, run from an unrelated directory."""
    script = (
        "import json, evaluate\n"
        f"hits = evaluate.load({str(METRICS / 'hits_at_k')!r})\n"
        f"mrr = evaluate.load({str(METRICS / 'mrr')!r})\n"
        "kw = dict(predictions=[['b', 'a'], ['c']], references=['a', 'x'], filter_objects=[['b'], []])\n"
        "print(json.dumps({**hits.compute(**kw, k=[1, 3]), **mrr.compute(**kw, cutoff=50)}))\n"
    )
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_EVALUATE_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf_home"),
    }
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result == {
        "hits@1": 1.0 / 2,
        "hits@3": 1.0 / 2,
        "mrr@50": 1.0 / 2,
        "num_queries": 2,
        "num_missing": 1,
    }
