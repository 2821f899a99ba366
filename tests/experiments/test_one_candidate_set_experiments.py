"""Table 1's, DBP-5L's (without a layout folder), the validation curve's and the demo's
rankings are over the dataset's own candidates (`dataset_candidates`: triple labels and link
ends), the set `evaluate_lp` ranks and the release's `candidates.json` stores, on a dataset
whose links name entities that no fact names."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from tiny_kb import BASE, LABEL, SAME, write_tiny_dumps

pytest.importorskip("pykeen")

LANGUAGES = ["en", "de"]
#: Entities named by a link only (no fact in either language): candidates all the same.
LINK_ONLY = {"en": ["thing A", "thing B", "thing 9 9"], "de": ["Ding A", "Ding B", "Dinge"]}


def write_link_only(folder: Path) -> None:
    """Add `LINK_ONLY`'s entities to the tiny dumps in `folder`: a label each and a link
    joining the i-th of each language, no fact."""
    for language, base in BASE.items():
        other = BASE["de" if language == "en" else "en"]
        with open(folder / f"labels_{language}.ttl", "a", encoding="utf-8") as handle:
            for i, name in enumerate(LINK_ONLY[language]):
                handle.write(f'<{base}L{i}> {LABEL} "{name}"@{language} .\n')
        with open(folder / f"interlanguage_links_{language}.ttl", "a", encoding="utf-8") as handle:
            for i in range(len(LINK_ONLY[language])):
                handle.write(f"<{base}L{i}> {SAME} <{other}L{i}> .\n")


@pytest.fixture(scope="module")
def link_only_data(tmp_path_factory) -> tuple[Path, dict[str, list[str]]]:
    """(work folder, `dataset_candidates`) of the tiny KB plus `LINK_ONLY`, built as Table 1
    builds its data (`prepare_data`)."""
    from prixlm.experiments.table1_data import prepare_data
    from prixlm.link_prediction.candidate_files import dataset_candidates

    root = tmp_path_factory.mktemp("link_only")
    dumps = write_tiny_dumps(root / "dumps")
    write_link_only(dumps)
    work = root / "work"
    data = prepare_data(work, LANGUAGES, dumps)["main"]
    return work, dataset_candidates(data, LANGUAGES)


def test_the_dataset_has_link_only_candidates(link_only_data):
    """The set every caller must rank: each language's triple labels and its link-only
    entities, more than the language config's rows name."""
    from prixlm.data.loading import load_kb
    from prixlm.link_prediction.evaluation import candidate_labels

    work, expected = link_only_data
    for language in LANGUAGES:
        in_rows = candidate_labels(load_kb(work / "data", language), language)
        assert set(LINK_ONLY[language]) <= set(expected[language])
        assert sorted({*in_rows, *LINK_ONLY[language]}) == expected[language]


def test_table1_kge_jobs_rank_the_dataset_candidates(link_only_data):
    """`job_candidates` and a KGE job's entities (one language, and the union graph): the
    dataset's candidates (before, the language config's labels alone: 3 fewer each)."""
    from prixlm.experiments.jobs import kge_job
    from prixlm.experiments.table1_data import job_candidates

    work, expected = link_only_data
    data = str(work / "data")
    common = {"grid": [{"model": "TransE", "embedding_dim": 8}], "epoch_points": [1],
              "eval_limit": 2}  # fmt: skip
    single = kge_job(data, ["en"], **common)
    assert single["entities"] == len(expected["en"])
    union = kge_job(data, LANGUAGES, union=True, **common)
    assert union["entities"] == sum(len(labels) for labels in expected.values())
    assert job_candidates(LANGUAGES, None, data) == expected


def test_kb_statistics_count_the_dataset_candidates(link_only_data):
    """Table 1's "# entities" row (`kb_statistics`) counts the candidates ranked."""
    from prixlm.experiments.table1_data import kb_statistics

    work, expected = link_only_data
    statistics = kb_statistics(work / "data", LANGUAGES)
    assert {lang: statistics[lang]["entities"] for lang in LANGUAGES} == {
        lang: len(expected[lang]) for lang in LANGUAGES
    }


def test_dbp5l_without_a_layout_ranks_the_dataset_candidates(link_only_data):
    """DBP-5L's KGE job without a layout folder ranks the dataset's candidates (its record
    counts them), as `entity_candidates` lists them."""
    from prixlm.experiments.dbp5l_jobs import entity_candidates, kge_search_job

    work, expected = link_only_data
    data = str(work / "data")
    record = kge_search_job(data, "de", [{"model": "TransE", "embedding_dim": 8}], [1],
                            eval_limit=2, validation_limit=2)  # fmt: skip
    assert record["candidates"] == len(expected["de"])
    for language in LANGUAGES:
        assert entity_candidates(None, language, data) == expected[language]


def test_the_mrr_curve_ranks_the_dataset_candidates(link_only_data, monkeypatch):
    """All's validation curve (metric MRR) ranks each language among its
    `dataset_candidates`."""
    from prixlm.experiments import curve

    work, expected = link_only_data
    ranked: list[dict[str, list[str]]] = []

    def evaluator(samples, candidates, *args):
        ranked.append(dict(candidates))
        return lambda model, tokenizer: {}

    monkeypatch.setattr(curve, "mrr_evaluator", evaluator)
    curve.curve_callback(str(work / "data"), LANGUAGES, "mrr", 5, 2, 2, 0.0)
    assert ranked == [expected]


def test_the_demo_completes_among_the_dataset_candidates(link_only_data, monkeypatch):
    """The demo's step 5 completes each language's facts among its `dataset_candidates`."""
    from prixlm import demo

    work, expected = link_only_data
    completed: list[list[str]] = []
    monkeypatch.setattr(
        demo,
        "complete_examples",
        lambda model, tokenizer, rows, labels, k: completed.append(labels),
    )
    demo.complete_test_examples(None, None, work / "data", LANGUAGES, 2, time.time())
    assert completed == [expected["en"], expected["de"]]


def test_prixlm_job_ranks_what_its_release_stores(link_only_data, tmp_path):
    """All's Prix-LM job ranks each language among as many candidates as its release's
    `candidates.json` lists (the kept ranking's key counts them)."""
    from prixlm.experiments.prixlm_jobs import prixlm_job
    from prixlm.experiments.profiles import get_profile
    from prixlm.experiments.table1_data import prepare_tokenizer

    work, expected = link_only_data
    profile = get_profile("toy")
    tokenizer = prepare_tokenizer(work, work / "data", LANGUAGES, profile["tokenizer_vocab_size"])
    run_dir = tmp_path / "all"
    prixlm_job(
        str(work / "data"), str(run_dir), LANGUAGES, "all", str(tokenizer),
        {**profile["prixlm"], "max_steps": 2}, eval_limit=2, validation_limit=2,
    )  # fmt: skip
    stored = json.loads((run_dir / "model" / "candidates.json").read_text("utf-8"))
    assert stored == expected
    for language in LANGUAGES:
        for split in ("validation", "test"):
            kept = json.loads((run_dir / "job_eval" / f"{split}-{language}.json").read_text())
            assert kept["key"]["candidates"] == len(stored[language]), (split, language)


def test_a_candidate_longer_than_the_positions_is_left_out_after_the_training(
    link_only_data, tmp_path
):
    """All's job ranking a candidates file with a label longer than the model's positions
    hold after a prompt (the toy model: 128 tokens): the validation curve's MRR and the
    rankings leave it out with a warning and count it (`candidates_too_long`), as
    `evaluate_lp` does; before, the first curve point raised PositionBudgetError, and so
    did the rankings after the training."""
    from prixlm.experiments.prixlm_jobs import prixlm_job
    from prixlm.experiments.profiles import get_profile
    from prixlm.experiments.table1_data import prepare_tokenizer
    from prixlm.link_prediction.candidate_fit import CandidatesLeftOutWarning

    work, expected = link_only_data
    profile = get_profile("toy")
    tokenizer = prepare_tokenizer(work, work / "data", LANGUAGES, profile["tokenizer_vocab_size"])
    long = " ".join(["thing"] * 200)
    given = {language: [*labels, long] for language, labels in expected.items()}
    candidates_file = tmp_path / "candidates.json"
    candidates_file.write_text(json.dumps(given), "utf-8")
    with pytest.warns(CandidatesLeftOutWarning, match="1 of the"):
        record = prixlm_job(
            str(work / "data"), str(tmp_path / "all"), LANGUAGES, "all", str(tokenizer),
            {**profile["prixlm"], "max_steps": 2}, eval_limit=2, validation_limit=2,
            candidates_file=str(candidates_file), curve_every=1, curve_metric="mrr",
            curve_queries=2,
        )  # fmt: skip
    assert record["candidates"] == {language: len(given[language]) for language in LANGUAGES}
    assert [point["step"] for point in record["curve"]["points"]] == [1, 2]
    for split in ("validation", "test"):
        for language in LANGUAGES:
            metrics = record[split][language]
            assert metrics["candidates_too_long"] == 1, (split, language)
            assert metrics["num_queries"] == 2 and metrics["num_missing"] == 0
            assert 0.0 < metrics["mrr"] <= 1.0
    assert len(record["test"]["en"]["ranks"]["filtered"]) == 2
