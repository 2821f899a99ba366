"""Table 1 resumed on a work folder whose jobs ranked another candidate set (a dataset's
candidates were its triple labels before they gained the link ends) does every job again:
the job plans, the kept KGE searches and the kept trainings carry the digest of the set
ranked. A complete folder resumed with the same code keeps every record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_one_candidate_set_experiments import LANGUAGES, write_link_only
from tiny_kb import TABLE1_DOCS_KEPT, write_tiny_dumps

pytest.importorskip("pykeen")


def _triple_labels_only(self, language: str) -> list[str]:
    """`DatasetCandidates.__missing__` under the earlier rule: the labels of the language's
    triples, no link ends."""
    from prixlm.data.dbpedia.schema import TRIPLE
    from prixlm.data.loading import load_kb
    from prixlm.link_prediction.candidate_files import candidate_labels

    self[language] = candidate_labels(load_kb(self.dataset, language), language, (TRIPLE,))
    return self[language]


def _argv(root: Path) -> list[str]:
    docs = root / "docs" / "results.md"
    if not docs.is_file():
        docs.parent.mkdir(parents=True)
        docs.write_text("# Results\n\nintro\n\n" + TABLE1_DOCS_KEPT, "utf-8")
    dumps = root / "dumps"
    if not dumps.is_dir():
        write_link_only(write_tiny_dumps(dumps))
    return ["--profile", "toy", "--languages", ",".join(LANGUAGES), "--work_dir",
            str(root / "work"), "--dump_dir", str(dumps), "--workers", "1",
            "--results", str(root / "table1.json"), "--docs", str(docs),
            "--chart", str(root / "docs" / "table1.png")]  # fmt: skip


def _record_files(work: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted((work / "jobs").glob("*.json"))}


def test_a_folder_ranked_among_another_candidate_set_is_done_again(tmp_path, capsys):
    from prixlm.experiments import table1, table1_data
    from prixlm.experiments.kept_runs import SEARCH_FILE
    from prixlm.experiments.table1_data import candidates_digest
    from prixlm.link_prediction.candidate_files import DatasetCandidates, dataset_candidates

    argv, work = _argv(tmp_path), tmp_path / "work"
    with pytest.MonkeyPatch.context() as patch:  # the folder as the earlier rule left it
        patch.setattr(DatasetCandidates, "__missing__", _triple_labels_only)
        table1.main(argv)
        earlier = dataset_candidates(work / "data", LANGUAGES)
    table1_data._READ.clear()  # read under the earlier rule (in another process: never)
    expected = dataset_candidates(work / "data", LANGUAGES)
    assert all(len(expected[lang]) == len(earlier[lang]) + 3 for lang in LANGUAGES)
    jobs = work / "jobs"
    # a deadline or a failed job leaves two jobs without a record: their kept KGE search
    # and kept training are what a new start finds of them
    (jobs / "kge-TransE-en.json").unlink()
    (jobs / "single-lr1e3-en.json").unlink()
    capsys.readouterr()

    table = table1.main(argv)
    printed = capsys.readouterr()
    assert "0 of 9 jobs already done" in printed.out
    assert "grid points kept" not in printed.out + printed.err  # every search ran again
    records = table1.load_records(jobs)
    assert len(records) == 9
    for name, record in records.items():
        ranked = {lang: len(expected[lang]) for lang in record["languages"]}
        assert record["candidates"] == ranked, name
        digest = candidates_digest({lang: expected[lang] for lang in record["languages"]})
        assert record["plan"]["candidates_sha256"] == digest, name
        if name.startswith("kge-"):
            search = json.loads((work / "runs" / name / SEARCH_FILE).read_text("utf-8"))
            assert search["key"]["candidates_sha256"] == digest, name
            continue
        run_dir = work / "runs" / name
        assert "evaluated_again" not in record, name  # trained again, not the kept release
        stored = json.loads((run_dir / "model" / "candidates.json").read_text("utf-8"))
        assert stored == {lang: expected[lang] for lang in record["languages"]}, name
        for lang in record["languages"]:
            for split in ("validation", "test"):
                kept = json.loads((run_dir / "job_eval" / f"{split}-{lang}.json").read_text())
                assert kept["key"]["candidates"] == len(expected[lang]), (name, split, lang)
    # the "# entities" row states what every number of the table was ranked among
    assert {lang: table["kb"][lang]["entities"] for lang in LANGUAGES} == {
        lang: len(expected[lang]) for lang in LANGUAGES
    }

    # resumed with the same code, the complete folder keeps every record: nothing runs
    kept = _record_files(work)
    again = table1.main(argv)
    printed = capsys.readouterr()
    assert "9 of 9 jobs already done" in printed.out
    assert _record_files(work) == kept
    assert again["jobs_finished"] == table["jobs_finished"] and again["kb"] == table["kb"]
    assert again["methods"] == table["methods"]


def test_the_plan_names_the_candidate_set_of_table1_jobs_only(tmp_path):
    """A Table 1 job's plan holds the digest of the candidates it ranks (its languages' sets,
    or a candidates file's lists); one that names a `layout_dir` (DBP-5L's, which rank the
    KG's entity list) or no dataset plans its arguments alone."""
    from prixlm.experiments.jobs import job_plan
    from prixlm.experiments.table1_data import candidates_digest

    given = tmp_path / "candidates.json"
    given.write_text(json.dumps({"en": ["b", "a"], "de": ["x"]}), "utf-8")
    planned = {"dataset_dir": str(tmp_path / "data"), "languages": ["de", "en"],
               "candidates_file": str(given)}  # fmt: skip
    plan = job_plan(planned, tmp_path)
    assert plan["candidates_sha256"] == candidates_digest({"en": ["b", "a"], "de": ["x"]})
    assert plan["candidates_sha256"] != candidates_digest({"en": ["a", "b"], "de": ["x"]})
    given.write_text(json.dumps({"en": ["b", "a", "c"], "de": ["x"]}), "utf-8")
    assert job_plan(planned, tmp_path)["candidates_sha256"] != plan["candidates_sha256"]
    dbp5l = {**planned, "layout_dir": str(tmp_path / "layout")}
    assert "candidates_sha256" not in job_plan(dbp5l, tmp_path)
    assert job_plan({"run_dir": str(tmp_path / "runs" / "x")}, tmp_path) == {
        "run_dir": "<work_dir>/runs/x"
    }


def test_the_entities_row_is_what_the_records_ranked():
    """`ranked_entities`: each language's count from the records that hold one, the
    dataset's count for a language none counts, and an error naming the jobs when records
    ranked different numbers."""
    from prixlm.experiments.table1_data import ranked_entities

    kb = {"en": {"entities": 30, "triples": 90}, "de": {"entities": 30, "triples": 90}}
    records = {"kge-TransE-en": {"candidates": {"en": 33}},
               "all-lr1e3": {"candidates": {"en": 33}}, "single-lr1e3-de": {}}  # fmt: skip
    assert ranked_entities(kb, records) == {
        "en": {"entities": 33, "triples": 90},
        "de": {"entities": 30, "triples": 90},
    }
    assert kb["en"]["entities"] == 30  # `kb` itself unchanged
    records["kge-RotatE-en"] = {"candidates": {"en": 30}}
    named = (r"rank en among different numbers of candidates \(33 in jobs/all-lr1e3\.json, "
             r"jobs/kge-TransE-en\.json; 30 in jobs/kge-RotatE-en\.json\)")  # fmt: skip
    with pytest.raises(ValueError, match=named):
        ranked_entities(kb, records)
