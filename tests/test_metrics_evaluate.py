"""evaluate_metrics/{hits_at_k,mrr}: loaded offline with `evaluate.load(<folder>)`."""

from __future__ import annotations

import ast
import math
import shutil
import unicodedata
from pathlib import Path

import pytest
from fresh_process import last_json_line, run_fresh
from huggingface_hub import SpaceCard

from prixlm.link_prediction.ranking import filtered_rank, ranking_metrics, ranks_for_lists

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
        "hits_at_1": 0.0,
        "hits_at_3": pytest.approx(2 / 3),
        "hits_at_10": pytest.approx(2 / 3),
        "num_queries": 3,
        "num_missing": 1,
    }


def test_mrr_by_hand_is_named_mrr_at_k(metrics):
    _, mrr = metrics
    result = mrr.compute(**CASE, cutoff=50)
    assert result == {
        "mrr_at_50": pytest.approx((1 / 2.5 + 0 + 1 / 2) / 3),
        "num_queries": 3,
        "num_missing": 1,
    }
    with pytest.raises(ValueError, match="cutoff=K"):
        mrr.compute(**CASE)
    # MRR@2: Lyon (2.5) and d (2.0 after filtering) ... Lyon is below K=2: it counts 0
    assert mrr.compute(**CASE, cutoff=2)["mrr_at_2"] == pytest.approx((0 + 0 + 1 / 2) / 3)
    with pytest.raises(ValueError, match="cutoff=0: expected an integer K >= 1"):
        mrr.compute(**CASE, cutoff=0)


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
    # a list longer than K (a beam's completions take no beam slot): below K counts 0 in both
    assert ranking_metrics(ranks, cutoff=2)["mrr_at_2"] == pytest.approx(
        mrr.compute(**CASE, cutoff=2)["mrr_at_2"]
    )


def test_offline_load_in_a_fresh_process_without_prixlm(tmp_path):
    """The Hub user's path: the metric folders as uploaded (links resolved to files), a fresh
    interpreter, hub offline, run from an unrelated directory, `prixlm` unimportable."""
    uploaded = tmp_path / "hub"
    for name in ("hits_at_k", "mrr"):
        shutil.copytree(METRICS / name, uploaded / name)  # follows the ranking_rules.py link
        assert not (uploaded / name / "ranking_rules.py").is_symlink()
    script = (
        "import sys\n"
        "for name in ('prixlm', 'modeling_prixlm'):\n"
        "    sys.modules[name] = None\n"
        "import json\n"
        "import evaluate\n"
        f"hits = evaluate.load({str(uploaded / 'hits_at_k')!r})\n"
        f"mrr = evaluate.load({str(uploaded / 'mrr')!r})\n"
        f"case = {CASE!r}\n"
        "print(json.dumps({**hits.compute(**case, k=[1, 3]), **mrr.compute(**case, cutoff=50)}))\n"
    )
    result = last_json_line(run_fresh(script, cwd=tmp_path))
    # ranks: Lyon 2.5 (tie with Nice), yen missing, d 2.0 (a and b filtered)
    assert result == {
        "hits_at_1": 0.0,
        "hits_at_3": pytest.approx(2 / 3),
        "mrr_at_50": pytest.approx((1 / 2.5 + 0 + 1 / 2) / 3),
        "num_queries": 3,
        "num_missing": 1,
    }


@pytest.mark.parametrize("name", ["hits_at_k", "mrr"])
def test_metric_folder_carries_its_code_and_is_a_space(name):
    """No import of this project in the folder's code; the ranking rules are the one file
    `prixlm/link_prediction/ranking_rules.py` (a link, not a copy); a Space's files exist."""
    folder = METRICS / name
    rules = folder / "ranking_rules.py"
    assert rules.is_symlink()
    assert rules.resolve() == (METRICS.parent / "prixlm/link_prediction/ranking_rules.py")
    for script in folder.glob("*.py"):
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(ast.parse(script.read_text(encoding="utf-8")))
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            (node.module or "").split(".")[0]
            for node in ast.walk(ast.parse(script.read_text(encoding="utf-8")))
            if isinstance(node, ast.ImportFrom) and node.level == 0
        }
        assert not imported & {"prixlm", "modeling_prixlm", "torch"}, script
    card = SpaceCard.load(folder / "README.md")
    assert card.data.sdk == "gradio" and card.data.app_file == "app.py"
    assert card.data.title and "evaluate" in card.data.tags and card.data.description
    app = (folder / "app.py").read_text(encoding="utf-8")
    assert f'"{name}.py"' in app
    requirements = (folder / "requirements.txt").read_text(encoding="utf-8").split()
    assert any(line.startswith("evaluate") for line in requirements)


def test_a_string_per_query_is_refused_not_read_as_characters(metrics):
    """`filter_objects=["Paris"]` (one string per query) used to filter the characters
    P, a, r, i, s: Lyon stayed second (hits_at_1 0.0, MRR 0.5) instead of first."""
    hits, mrr = metrics
    case = {"predictions": [["Paris", "Lyon"]], "references": ["Lyon"]}
    assert hits.compute(**case, filter_objects=[["Paris"]], k=1)["hits_at_1"] == 1.0
    assert mrr.compute(**case, filter_objects=[["Paris"]])["mrr"] == 1.0
    with pytest.raises(TypeError, match=r"filter_objects\[0\] is a string \('Paris'\)"):
        hits.compute(**case, filter_objects=["Paris"], k=1)
    with pytest.raises(TypeError, match=r"filter_objects\[0\] is a string"):
        mrr.compute(**case, filter_objects=["Paris"])


def test_num_missing_is_the_same_in_both_metrics_whatever_the_cutoff(metrics):
    """num_missing counts golds absent from their lists, before any cutoff: "c" at place 3
    of ["a", "b", "c"] is in its list (MRR@2 counts it 0 but it is not missing)."""
    hits, mrr = metrics
    case = {"predictions": [["a", "b", "c"], ["c"], ["a"]], "references": ["c", "c", "z"]}
    assert hits.compute(**case, k=2) == {
        "hits_at_2": pytest.approx(1 / 3),
        "num_queries": 3,
        "num_missing": 1,
    }
    assert mrr.compute(**case, cutoff=2) == {
        "mrr_at_2": pytest.approx((0 + 1 + 0) / 3),
        "num_queries": 3,
        "num_missing": 1,
    }
    assert mrr.compute(**case, cutoff=3)["num_missing"] == 1
    ranks = ranks_for_lists(**case)
    assert ranking_metrics(ranks, ks=(2,), cutoff=2) == pytest.approx(
        {**hits.compute(**case, k=2), **mrr.compute(**case, cutoff=2)}
    )


@pytest.mark.parametrize("k", [True, False, 1.0, "1", "13", 0, -1, [], [1, 2.0], [1, True], None])
def test_hits_k_is_validated(metrics, k):
    hits, _ = metrics
    with pytest.raises(ValueError, match=r"expected an integer k >= 1 or a non-empty list"):
        hits.compute(predictions=[["a"]], references=["a"], k=k)


def test_hits_k_accepts_ints_lists_and_tuples(metrics):
    hits, _ = metrics
    case = {"predictions": [["b", "a"]], "references": ["a"]}
    assert hits.compute(**case, k=2)["hits_at_2"] == 1.0
    assert hits.compute(**case, k=(1, 2)) == hits.compute(**case, k=[1, 2])
    assert set(hits.compute(**case)) == {
        "hits_at_1",
        "hits_at_3",
        "hits_at_10",
        "num_queries",
        "num_missing",
    }


def test_numpy_integers_are_accepted_as_k_and_cutoff(metrics):
    """`k=np.int64(2)` and `cutoff=np.int64(2)` (a K read from an array) raised ValueError;
    they give what the Python int gives, under the same keys. A bool is still refused."""
    np = pytest.importorskip("numpy")
    hits, mrr = metrics
    case = {"predictions": [["b", "a", "c"], ["c", "d", "a"]], "references": ["a", "a"]}
    assert hits.compute(**case, k=np.int64(2)) == {
        "hits_at_2": 0.5,
        "num_queries": 2,
        "num_missing": 0,
    }
    assert hits.compute(**case, k=[np.int32(1), 2]) == hits.compute(**case, k=[1, 2])
    assert list(hits.compute(**case, k=np.int64(2))) == ["hits_at_2", "num_queries", "num_missing"]
    assert mrr.compute(**case, cutoff=np.int64(2)) == {
        "mrr_at_2": 0.25,  # (1/2 + 0) / 2: the second gold is third, below K=2
        "num_queries": 2,
        "num_missing": 0,
    }
    with pytest.raises(ValueError, match="expected an integer K >= 1"):
        mrr.compute(**case, cutoff=np.int64(0))
    with pytest.raises(ValueError, match="expected an integer K >= 1"):
        mrr.compute(**case, cutoff=True)
    with pytest.raises(ValueError, match="expected an integer k >= 1"):
        hits.compute(**case, k=np.bool_(True))


def test_with_scores_a_repeated_label_counts_once_with_its_best_score(metrics):
    """With scores the list order is ignored: the same (label, score) pairs in another order
    gave another rank, since only the FIRST score of a repeated label counted ("a" at -3
    then -1: MRR 0.5, but 1.0 with the pairs reordered)."""
    hits, mrr = metrics
    for predictions, scores in ((["a", "b", "a"], [-3, -2, -1]), (["a", "a", "b"], [-1, -3, -2])):
        result = mrr.compute(
            predictions=[predictions], references=["a"], prediction_scores=[scores]
        )
        assert result == {"mrr": 1.0, "num_queries": 1, "num_missing": 0}
    # gold "a" at -2, "b" at -3 and -1: "b" counts with -1, above "a"
    for predictions, scores in ((["b", "a", "b"], [-3, -2, -1]), (["b", "b", "a"], [-1, -3, -2])):
        result = hits.compute(
            predictions=[predictions], references=["a"], prediction_scores=[scores], k=[1, 2]
        )
        assert result == {"hits_at_1": 0.0, "hits_at_2": 1.0, "num_queries": 1, "num_missing": 0}
    # the plain function agrees; without scores a repeat still counts at its first place
    assert filtered_rank(["a", "b", "a"], "a", [-3, -2, -1]) == 1.0
    assert filtered_rank(["b", "a", "b"], "a", [-3, -2, -1]) == 2.0
    assert filtered_rank(["b", "a", "b"], "a", [-3, -2, -3]) == 1.0
    assert filtered_rank(["b", "a", "b"], "a") == 2.0
    with pytest.raises(ValueError, match="NaN"):  # a NaN in a repeat is no best score
        filtered_rank(["a", "b", "a"], "a", [-3, -2, math.nan])


def test_a_filter_entry_that_is_not_a_string_is_refused(metrics):
    """`filter_objects=[[2]]` (an int for the label "2") filtered nothing: hits_at_1 0.0
    where `[["2"]]` gives 1.0. The predictions are cast by the Space's string features, the
    filter (a plain keyword) is not: a non-string entry raises TypeError."""
    hits, mrr = metrics
    case = {"predictions": [["b"], ["2", "1"]], "references": ["b", "1"]}
    assert hits.compute(**case, filter_objects=[[], ["2"]], k=1)["hits_at_1"] == 1.0
    with pytest.raises(TypeError, match=r"filter_objects\[1\] holds a value of type int \(2\)"):
        hits.compute(**case, filter_objects=[[], [2]], k=1)
    with pytest.raises(TypeError, match=r"filter_objects\[1\] .* type NoneType"):
        mrr.compute(**case, filter_objects=[[], ["2", None]])
    with pytest.raises(TypeError, match=r"filter_objects\[0\] .* type bytes"):
        ranks_for_lists(**case, filter_objects=[[b"b"], []])


def test_labels_are_compared_composed_nfc(metrics):
    """An NFD spelling (o + combining diaeresis) of the gold was not found among NFC
    predictions (hits_at_1 0.0, num_missing 1); the model reads both as one name."""
    hits, mrr = metrics
    nfc, nfd = "Französisch", unicodedata.normalize("NFD", "Französisch")
    assert nfc != nfd
    assert hits.compute(predictions=[[nfc, "Englisch"]], references=[nfd], k=1) == {
        "hits_at_1": 1.0,
        "num_queries": 1,
        "num_missing": 0,
    }
    assert mrr.compute(predictions=[[nfd, "Englisch"]], references=[nfc])["mrr"] == 1.0
    # a filter object in the other spelling is filtered; the gold in either one never is
    case = {"predictions": [[nfc, "Englisch"]], "references": ["Englisch"]}
    assert hits.compute(**case, filter_objects=[[nfd]], k=1)["hits_at_1"] == 1.0
    assert (
        mrr.compute(
            predictions=[[nfd, "Englisch"]], references=[nfc], filter_objects=[[nfc, "Englisch"]]
        )["mrr"]
        == 1.0
    )
    # two spellings of one label are one repeated prediction, with its best score
    assert (
        mrr.compute(
            predictions=[[nfd, "Englisch", nfc]],
            references=["Englisch"],
            prediction_scores=[[-3.0, -2.0, -1.0]],
        )["mrr"]
        == 0.5
    )


def test_combined_metrics_take_k_and_cutoff_over_truncated_lists():
    """`evaluate.combine` passes every keyword to both metrics: hits_at_k refused `cutoff`
    and mrr refused `k` (TypeError), and without `cutoff` mrr refuses truncated lists, so the
    combination could not score beam-search lists at all."""
    evaluate = pytest.importorskip("evaluate")
    both = evaluate.combine([str(METRICS / "hits_at_k"), str(METRICS / "mrr")])
    with pytest.warns(UserWarning, match="fewer than"):
        result = both.compute(**CASE, k=[1, 3], cutoff=50)
    assert result == {
        "hits_at_1": 0.0,
        "hits_at_3": pytest.approx(2 / 3),
        "mrr_at_50": pytest.approx((1 / 2.5 + 0 + 1 / 2) / 3),
        "hits_at_k_num_queries": 3,
        "hits_at_k_num_missing": 1,
        "mrr_num_queries": 3,
        "mrr_num_missing": 1,
    }
    # `k` alone is no MRR cut-off: the MRR of the whole lists, said (it was silent)
    mrr = evaluate.load(str(METRICS / "mrr"))
    full = {"predictions": [["a", "b"], ["c"], ["d", "e"]], "references": ["b", "c", "d"]}
    with pytest.warns(UserWarning, match="for MRR@K pass cutoff=K"):
        assert mrr.compute(**full, k=1) == mrr.compute(**full)
