"""`make dbp5l`: the table shows only rows made with the current plan, and says where
Prix-LM ranked fewer candidates than the KGE baselines (labels that tokenise alike)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("pykeen")

from prixlm.experiments import dbp5l  # noqa: E402


def _partial_work_dir(root: Path, folder: Path, changed: dict[str, dict]) -> Path:
    """A work folder with the toy run's job records (those in `changed` updated with the
    given fields) and its data and tokenizer."""
    (folder / "jobs").mkdir(parents=True)
    for path in sorted((root / "work" / "jobs").glob("*.json")):
        record = json.loads(path.read_text("utf-8"))
        for key, value in changed.get(path.stem, {}).items():
            record[key] = {**record[key], **value} if isinstance(value, dict) else value
        (folder / "jobs" / path.name).write_text(json.dumps(record), "utf-8")
    for name in ("data", "tokenizer"):
        (folder / name).symlink_to(root / "work" / name)
    return folder


def _argv(argv: list[str], tmp_path: Path, work: Path) -> list[str]:
    flags = {"--work_dir": str(work), "--results": str(tmp_path / "d.json"),
             "--docs": str(tmp_path / "r.md"), "--chart": str(tmp_path / "c.png")}  # fmt: skip
    return [flags.get(prev, a) for prev, a in zip([None, *argv[:-1]], argv, strict=True)]


SUPERSEDED = {
    "kge-TransE-en": {"plan": {"epoch_points": [1]}},  # its epoch points changed since
    "single-ja": {"evaluation": {"eval_limit": 1}},  # evaluated otherwise than planned
}


def test_no_run_leaves_out_and_names_records_of_another_plan(dbp5l_toy_run, tmp_path, capsys):
    root, argv, table = dbp5l_toy_run
    work = _partial_work_dir(root, tmp_path / "work", SUPERSEDED)
    saved = dbp5l.main([*_argv(argv, tmp_path, work), "--no_run"])
    assert "kge-TransE-en" not in saved["jobs_finished"]
    assert "single-ja" not in saved["jobs_finished"]
    assert "kge-TransE-ja" in saved["jobs_finished"] and "single-en" in saved["jobs_finished"]
    assert set(saved["methods"]["TransE"]) == {"ja"}
    assert set(saved["methods"]["Prix-LM (Single)"]) == {"en"}
    assert saved["methods"]["TransE"]["ja"] == table["methods"]["TransE"]["ja"]
    err = capsys.readouterr().err
    assert (
        "note: 2 job records left out, not made with this plan (a start without --no_run does "
        "them again): kge-TransE-en (made with other arguments), single-ja (evaluated otherwise)"
    ) in err


def test_a_run_stopped_before_redoing_a_job_leaves_out_its_old_rows(
    dbp5l_toy_run, tmp_path, monkeypatch
):
    """A start whose jobs do not get done (here: none runs, as at a deadline reached at
    once) writes the table from the records of this plan only."""
    root, argv, table = dbp5l_toy_run
    work = _partial_work_dir(root, tmp_path / "work", SUPERSEDED)

    def stopped_at_once(jobs, jobs_dir, workers, refresh, *args, **kwargs):
        return refresh()

    monkeypatch.setattr(dbp5l, "run_to_the_end", stopped_at_once)
    saved = dbp5l.main(_argv(argv, tmp_path, work))
    assert set(saved["methods"]["TransE"]) == {"ja"}
    assert "kge-TransE-en" not in saved["jobs_finished"]
    written = json.loads((tmp_path / "d.json").read_text("utf-8"))
    assert set(written["methods"]["Prix-LM (Single)"]) == {"en"}


def test_labels_prix_lm_merges_are_counted_and_named(tmp_path, layout_writer):
    """Two ja entities no fact names, with characters the tokenizer never saw: Prix-LM ranks
    them as one candidate (through `<unk>`), the KGE baselines as two."""
    layout = layout_writer(tmp_path / "layout")
    with (layout / "entity" / "ja.tsv").open("a", encoding="utf-8") as entities:
        entities.write("http://ja.dbpedia.org/resource/%E9%AC%B1\n")  # 鬱
        entities.write("http://ja.dbpedia.org/resource/%E9%AC%A3\n")  # 鬣
    docs = tmp_path / "results.md"
    table = dbp5l.main(
        ["--profile", "toy", "--data", str(layout), "--work_dir", str(tmp_path / "work"),
         "--results", str(tmp_path / "dbp5l.json"), "--docs", str(docs)]
    )  # fmt: skip
    saved = json.loads((tmp_path / "dbp5l.json").read_text("utf-8"))
    assert saved["candidates"] == table["candidates"]
    for method in ("TransE", "RotatE", "Prix-LM (Single)", "Prix-LM (All)"):
        assert saved["candidates"][method] == {"en": 21, "ja": 23}, method
    assert saved["merged_candidates"]["TransE"] == {"en": 0, "ja": 0}
    for method in ("Prix-LM (Single)", "Prix-LM (All)", "Prix-LM (All, no links)"):
        assert saved["merged_candidates"][method] == {"en": 0, "ja": 1}, method
    assert (
        "one candidate, so it ranks fewer than the KGE baselines, which rank every entity: "
        "TransE, RotatE, RotatE (all test queries), TransE (all test queries): en 21, ja 23; "
        "Prix-LM (Single), Prix-LM (All), Prix-LM (All, no links): en 21, ja 22 (1 merged)."
    ) in docs.read_text("utf-8")
