"""The link prediction API with the input types users pass: a string where a list is
expected, a negative gold column, cutoffs that are not integers, unknown language codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from datasets import Dataset

from prixlm.data.load_errors import DatasetInputError
from prixlm.link_prediction.candidate_files import dataset_candidates
from prixlm.link_prediction.ranking import filtered_ranks_from_scores, ranking_metrics
from prixlm.link_prediction.scorer import evaluate_scorer
from prixlm.similarity.csls import CSLS, csls_retrieval_metrics

#: a fixed scorer's scores: Lyon > Paris > Nice
SCORES = {"Lyon": 3.0, "Paris": 2.0, "Nice": 1.0}


class FixedScorer:
    """Every query scores the candidates by `SCORES`."""

    def score(self, queries, candidates):
        return torch.tensor([[SCORES[c] for c in candidates] for _ in queries])


def _row(all_objects) -> dict:
    """The query (France, city) with gold Paris; Lyon is another true object."""
    return {
        "subject": "France", "relation": "city", "object": "Paris", "kind": "triple",
        "subject_language": "en", "object_language": "en", "all_objects": all_objects,
    }  # fmt: skip


@pytest.mark.parametrize("all_objects", [["Lyon", "Paris"], ("Lyon",), np.array(["Lyon", "Paris"])])
def test_all_objects_as_a_list_tuple_or_array_filters(all_objects):
    result = evaluate_scorer(FixedScorer(), [_row(all_objects)], list(SCORES))
    assert (result["hits_at_1"], result["mrr"]) == (1.0, 1.0)  # Lyon filtered: Paris first


def test_all_objects_as_a_string_is_refused_naming_the_row():
    """A string would be read as its characters: nothing filtered, Paris ranked second."""
    with pytest.raises(TypeError, match=r"row 0 \('France', 'city'\): all_objects is a string"):
        evaluate_scorer(FixedScorer(), [_row("Lyon")], list(SCORES))


SCORE_ROWS = torch.tensor([[0.9, 0.5, 0.1], [0.2, 0.8, 0.4]])


@pytest.mark.parametrize("gold", [[0, -1], [0, 3]])
def test_a_gold_column_outside_the_candidates_is_refused(gold):
    """-1 (a "no gold" mark) would otherwise rank the last candidate."""
    with pytest.raises(ValueError, match=rf"gold\[1\] = {gold[1]}: expected a candidate column"):
        filtered_ranks_from_scores(SCORE_ROWS, torch.tensor(gold))
    ranks = filtered_ranks_from_scores(SCORE_ROWS, torch.tensor([0, 2], dtype=torch.int32))
    assert ranks.tolist() == [1.0, 2.0]


def test_csls_refuses_a_negative_gold_column():
    torch.manual_seed(0)
    sources, targets = torch.randn(3, 4), torch.randn(3, 4)
    with pytest.raises(
        ValueError, match=r"gold\[2\] = -1: expected a candidate column 0 <= gold < 3"
    ):
        CSLS(sources, targets, k=2).ranks(torch.tensor([0, 1, -1]))
    with pytest.raises(ValueError, match=r"gold\[2\] = -1"):
        csls_retrieval_metrics(sources, targets, torch.tensor([0, 1, -1]), k=2)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"cutoff": 0}, r"cutoff=0: expected an integer >= 1"),
        ({"cutoff": True}, r"cutoff=True: expected an integer >= 1"),
        ({"cutoff": 10.0}, r"cutoff=10.0: expected an integer >= 1"),
        ({"ks": (1, True)}, r"k=True: expected an integer >= 1"),
        ({"ks": (1, 3.0)}, r"k=3.0: expected an integer >= 1"),
        ({"ks": (0,)}, r"k=0: expected an integer >= 1"),
        ({"ks": "13"}, r"ks='13': expected a list of integers >= 1"),
    ],
)
def test_ranking_metrics_refuses_cutoffs_that_are_not_integers(arguments, message):
    with pytest.raises(ValueError, match=message):
        ranking_metrics([1.0, 3.0, None], **{"cutoff": 5, **arguments})


def test_ranking_metrics_accepts_numpy_integers():
    metrics = ranking_metrics([1.0, 3.0, None], ks=np.array([1, 3]), cutoff=np.int64(2))
    assert metrics == {
        "hits_at_1": 1 / 3, "hits_at_3": 2 / 3, "mrr_at_2": 1 / 3,
        "num_queries": 3, "num_missing": 1,
    }  # fmt: skip
    assert [type(key) for key in metrics] == [str] * 5


def _write_dataset(root: Path) -> None:
    """Config `de` (two triples) and `links` (one en-de link) as Parquet with a card."""
    row = {"subject_id": "", "relation_id": "", "object_id": "", "all_objects": []}
    configs = {
        "de": [
            {**row, "kind": "triple", "subject": "Berlin", "relation": "Land",
             "object": "Deutschland", "subject_language": "de", "object_language": "de"},
        ],
        "links": [
            {**row, "kind": "link", "subject": "Germany", "relation": "",
             "object": "Deutschland", "subject_language": "en", "object_language": "de"},
        ],
    }  # fmt: skip
    card = ["---", "configs:"]
    for config, rows in configs.items():
        (root / config).mkdir(parents=True)
        Dataset.from_list(rows).to_parquet(root / config / "train.parquet")
        card += [f"- config_name: {config}", "  data_files:"]
        card += ["  - split: train", f"    path: {config}/train.parquet"]
    (root / "README.md").write_text("\n".join([*card, "---", ""]), encoding="utf-8")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("api_input_types")
    _write_dataset(root)
    return root


def test_dataset_candidates_of_a_config_and_of_link_ends(dataset):
    assert dataset_candidates(dataset, ("de", "en")) == {
        "de": ["Berlin", "Deutschland"],
        "en": ["Germany"],
    }


def test_dataset_candidates_refuses_a_string_of_languages(dataset):
    """A string "de" would be read as the languages "d" and "e"."""
    with pytest.raises(TypeError, match=r"languages is a string \('de'\): .* e.g. \['de'\]"):
        dataset_candidates(dataset, "de")


@pytest.mark.parametrize(
    "language, message",
    [
        ("xx", r"language 'xx': .* has no config 'xx' and no link .* \['de', 'en'\]\)$"),
        ("EN", r"language 'EN': .*; the dataset spells it 'en'"),
        ("DE", r"language 'DE': .*; the dataset spells it 'de'"),
    ],
)
def test_dataset_candidates_refuses_a_language_the_dataset_lacks(dataset, language, message):
    """An empty list would look like a complete answer (merged, saved as JSON)."""
    with pytest.raises(DatasetInputError, match=message):
        dataset_candidates(dataset, ["de", language])
