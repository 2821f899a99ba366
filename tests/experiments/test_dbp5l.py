"""`make dbp5l`'s code path at toy size: a tiny KG in the KEnS layout written here, one process."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest

pytest.importorskip("pykeen")

from prixlm.experiments import dbp5l  # noqa: E402
from prixlm.experiments.dbp5l_docs import read_block, render  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
METHODS = {"TransE", "RotatE", "Prix-LM (Single)", "Prix-LM (All)", "Prix-LM (All, no links)",
           "TransE (all test queries)", "RotatE (all test queries)"}  # fmt: skip
NAMES = {
    "en": [
        "Berlin",
        "Paris",
        "Rome",
        "Oslo",
        "Vienna",
        "Madrid",
        "Lisbon",
        "Athens",
        "Dublin",
        "Prague",
        "Germany",
        "France",
        "Italy",
        "Norway",
        "Austria",
        "Spain",
        "Portugal",
        "Greece",
        "Ireland",
        "Czechia",
        "Bern",
    ],
    "ja": [
        "ベルリン",
        "パリ",
        "ローマ",
        "オスロ",
        "ウィーン",
        "マドリード",
        "リスボン",
        "アテネ",
        "ダブリン",
        "プラハ",
        "ドイツ",
        "フランス",
        "イタリア",
        "ノルウェー",
        "オーストリア",
        "スペイン",
        "ポルトガル",
        "ギリシャ",
        "アイルランド",
        "チェコ",
        "ベルン",
    ],
}  # fmt: skip  (the last entity of each list is named by no fact: a candidate all the same)
RELATIONS = ["http://dbpedia.org/ontology/country", "http://dbpedia.org/ontology/capital",
             "http://dbpedia.org/ontology/largestCity"]  # fmt: skip


def write_layout(root: Path) -> Path:
    """entity/ (ja percent-encoded), kg/ (train/val/test), relations.txt, seed_alignlinks/ for en, ja."""
    (root / "entity").mkdir(parents=True)
    (root / "kg").mkdir()
    (root / "seed_alignlinks").mkdir()
    (root / "relations.txt").write_text("\n".join(RELATIONS) + "\n", "utf-8")
    for lang, names in NAMES.items():
        host = "dbpedia.org" if lang == "en" else f"{lang}.dbpedia.org"
        iris = [f"http://{host}/resource/{quote(name.replace(' ', '_'))}" for name in names]
        (root / "entity" / f"{lang}.tsv").write_text("\n".join(iris) + "\n", "utf-8")
        facts = [(city, 0, city + 10) for city in range(10)]  # city -> country
        facts += [(city + 10, 1, city) for city in range(10)]  # country -> capital
        facts += [(city + 10, 2, city) for city in range(10)]  # country -> largest city
        random.Random(lang).shuffle(facts)
        splits = {"train": facts[:22], "val": facts[22:26], "test": facts[26:]}
        for split, rows in splits.items():
            text = "".join(f"{h}\t{r}\t{t}\n" for h, r, t in rows)
            (root / "kg" / f"{lang}-{split}.tsv").write_text(text, "utf-8")
    pairs = "".join(f"{i}.0\t{i}.0\n" for i in range(0, 20, 2))  # floats, as published
    (root / "seed_alignlinks" / "ja-en.tsv").write_text(pairs, "utf-8")
    return root


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("dbp5l")
    docs = root / "results.md"
    docs.write_text("# Results\n\nkept text\n", "utf-8")
    published = root / "published.json"
    published.write_text(json.dumps({"KEnS (TransE)": {
        "en": {"hits_at_1": 0.1, "hits_at_10": 0.4, "mrr": 0.2},
        "ja": {"hits_at_1": 0.2, "hits_at_10": 0.5, "mrr": 0.3},
        "source": "KEnS, Table 2, protocol kens", "source_kind": "primary"}}), "utf-8")  # fmt: skip
    argv = ["--profile", "toy", "--data", str(write_layout(root / "layout")),
            "--work_dir", str(root / "work"), "--results", str(root / "dbp5l.json"),
            "--docs", str(docs), "--published", str(published), "--chart", str(root / "search.png"),
            "--note", "made on a test machine"]  # fmt: skip
    table = dbp5l.main(argv)
    return root, argv, table


def test_json_has_every_method_under_every_protocol(toy_run):
    root, _, table = toy_run
    saved = json.loads((root / "dbp5l.json").read_text("utf-8"))
    assert saved["languages"] == ["en", "ja"] and saved["protocol"] == "ours"
    # raw: what SS-AGA's released run logs (unfiltered); kens' hits@10 is the raw one, and
    # its train filter can only raise hits@1 and MRR (the same tie rule: by candidate order)
    assert set(saved["methods_by_protocol"]) == {"ours", "kens", "raw"}
    kens, raw = saved["methods_by_protocol"]["kens"], saved["methods_by_protocol"]["raw"]
    assert set(kens) == set(raw) == METHODS
    for method, cells in raw.items():
        for language, metrics in cells.items():
            ranked = kens[method][language]
            assert metrics["hits_at_10"] == ranked["hits_at_10"], (method, language)
            assert metrics["hits_at_1"] <= ranked["hits_at_1"] and metrics["mrr"] <= ranked["mrr"]
    assert saved["methods"] == saved["methods_by_protocol"]["ours"]
    for methods in saved["methods_by_protocol"].values():
        assert set(methods) == METHODS
        for cells in methods.values():
            assert set(cells) == {"en", "ja"}
            for metrics in cells.values():
                assert set(metrics) == {"hits_at_1", "hits_at_10", "mrr"}
                assert 0.0 <= metrics["hits_at_1"] <= metrics["hits_at_10"] <= 1.0
                assert metrics["mrr"] > 0
    sampled = {"en": 3, "ja": 3}  # 3 (eval_limit) of the 4 test lines
    assert saved["test_queries"]["RotatE"] == saved["test_queries"]["Prix-LM (All)"] == sampled
    assert saved["test_queries"]["RotatE (all test queries)"] == {"en": 4, "ja": 4}
    assert "Prix-LM (All, no links): en 3, ja 3; TransE (all test queries)" in render(saved)
    full = saved["methods_by_protocol"]["ours"]["RotatE (all test queries)"]
    assert set(full) == {"en", "ja"}
    assert saved["details"]["RotatE"]["en"]["test_queries"] == 3
    assert saved["published"]["KEnS (TransE)"]["source"] == "KEnS, Table 2, protocol kens"
    assert saved["seed"] == 0 and saved["command"].startswith("python -m prixlm.experiments.dbp5l")
    # the candidates: every entity of the KG's list, Bern too (no fact names it)
    assert {lang: saved["kb"][lang]["entities"] for lang in ("en", "ja")} == {"en": 21, "ja": 21}
    assert saved["methods"] == table["methods"]


def test_paired_differences_agree_with_the_tables(toy_run):
    """All minus Single (and minus All without links) on the same sampled queries: the
    difference is that of the tables' averages; the interval holds it; the docs show it."""
    root, _, _ = toy_run
    saved = json.loads((root / "dbp5l.json").read_text("utf-8"))
    assert set(saved["paired"]) == {"Prix-LM (All) - Prix-LM (Single)",
                                    "Prix-LM (All) - Prix-LM (All, no links)"}  # fmt: skip
    for name, by_protocol in saved["paired"].items():
        first, second = name.split(" - ")
        for protocol, metrics in by_protocol.items():
            methods = saved["methods_by_protocol"][protocol]
            for metric, result in metrics.items():
                average = {m: sum(methods[m][lang][metric] for lang in ("en", "ja")) / 2
                           for m in (first, second)}  # fmt: skip
                assert result["difference"] == pytest.approx(average[first] - average[second])
                assert result["low"] - 1e-12 <= result["difference"] <= result["high"] + 1e-12
    assert "| Prix-LM (All) - Prix-LM (Single) | kens | " in (root / "results.md").read_text()
    # the JSON keeps the ranks it paired: a reader redoes the intervals from the file alone
    from prixlm.experiments import paired

    ranks = saved["paired_ranks"]
    assert set(ranks) == {"Prix-LM (All)", "Prix-LM (Single)", "Prix-LM (All, no links)"}
    again = paired.paired_comparisons(ranks, dbp5l.PAIRS, ["en", "ja"], dbp5l.PROTOCOLS, 0)
    assert again == saved["paired"]
    digests = {ranks[m]["en"]["ours"]["ranks"]["queries_sha256"] for m in ranks}
    assert len(digests) == 1  # one sample of en's test queries for the three


def test_paired_difference_refuses_rankings_of_other_queries():
    """Equal counts were taken as the same queries: two samples were paired by position."""
    from prixlm.experiments.paired import paired_difference

    def cell(ranks, digest):
        return {"en": {"ours": {"ranks": {"filtered": ranks, "raw": ranks,
                                          "queries_sha256": digest}}}}  # fmt: skip

    same = paired_difference(cell([1.0, 3.0], "a"), cell([2.0, 3.0], "a"), ["en"], "ours")
    assert same["hits_at_1"]["difference"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="en: the two methods ranked other queries"):
        paired_difference(cell([1.0, 3.0], "a"), cell([2.0, 3.0], "b"), ["en"], "ours")


def test_kge_search_is_the_whole_grid(toy_run):
    root, _, _ = toy_run
    saved = json.loads((root / "dbp5l.json").read_text("utf-8"))
    for model in ("TransE", "RotatE"):
        run = saved["details"][model]["en"]
        assert run["grid_points"] == 2 and len(run["grid"]) == 2 * len(run["epoch_points"])
        best = max(run["grid"], key=lambda point: point["validation_mrr"])
        assert run["validation_mrr"] == best["validation_mrr"]
        assert run["winner"]["epochs"] == best["epochs"]
        assert run["winner"]["learning_rate"] == best["learning_rate"]


def test_kge_search_stops_a_point_when_validation_stops_improving(toy_run):
    """With `patience`, a point's run stops once validation MRR has not risen for that many
    epoch points; every grid point is still trained. A learning rate of 0 keeps the MRR flat."""
    from prixlm.experiments.dbp5l_jobs import kge_search_job

    root, _, _ = toy_run
    point = {"model": "TransE", "embedding_dim": 8, "num_negatives": 2, "batch_size": 16,
             "margin": 6.0, "adversarial_temperature": 1.0}  # fmt: skip
    grid = [{**point, "learning_rate": 0.0}, {**point, "learning_rate": 0.0, "margin": 3.0}]
    record = kge_search_job(str(root / "work" / "data"), "en", grid, [1, 2, 3, 4, 5, 6],
                            layout_dir=str(root / "layout"), patience=2)  # fmt: skip
    assert record["early_stopping"] == {"patience": 2, "relative_delta": 0.0}
    assert [(p["margin"], p["epochs"]) for p in record["grid"]] == [
        (6.0, 1), (6.0, 2), (6.0, 3), (3.0, 1), (3.0, 2), (3.0, 3)]  # fmt: skip
    assert [p.get("stopped_early", False) for p in record["grid"]] == [False, False, True] * 2
    assert record["winner"]["epochs"] == 1  # a flat curve keeps its first point


def test_kge_search_scores_every_test_query_with_the_winner(toy_run):
    """`test_full` is the winning (point, epochs), not the last model trained (here an
    untrained one, learning rate 0): with every test row in the sample, it equals the test
    metrics taken when the winner was reached."""
    from prixlm.experiments.dbp5l_jobs import kge_search_job

    root, _, _ = toy_run
    point = {"model": "RotatE", "embedding_dim": 8, "num_negatives": 2, "batch_size": 8,
             "margin": 9.0, "adversarial_temperature": 1.0}  # fmt: skip
    grid = [{**point, "learning_rate": 0.05}, {**point, "learning_rate": 0.0}]
    record = kge_search_job(str(root / "work" / "data"), "en", grid, [1, 3, 9, 27],
                            layout_dir=str(root / "layout"), eval_limit=100)  # fmt: skip
    assert record["winner"]["learning_rate"] == 0.05
    assert record["test_full"]["en"] == record["test"]["en"]
    assert record["test"]["en"]["ours"]["num_queries"] == 4  # every test line


def test_all_without_links_trains_on_triples_only(toy_run):
    root, _, _ = toy_run
    for name, links in (("all-links", True), ("all-nolinks", False)):
        metrics = json.loads(
            (root / "work" / "runs" / name / "model" / "train_results.json").read_text("utf-8")
        )
        assert metrics["links"] is links
        assert metrics["train_facts"] == 44 + (20 if links else 0)  # 2 x 22 triples, 10 pairs x 2


def test_docs_block_is_the_rendering_of_the_json(toy_run):
    root, _, _ = toy_run
    table = json.loads((root / "dbp5l.json").read_text("utf-8"))
    text = (root / "results.md").read_text("utf-8")
    assert text.startswith("# Results\n\nkept text\n")
    block = read_block(text)
    assert block == render(table, (root / "dbp5l.json").as_posix())
    assert "| KEnS (TransE) | published | 10.0 | 20.0 | 15.0 |" in block
    assert "- KEnS (TransE) (primary): KEnS, Table 2, protocol kens." in block
    assert "from scratch" in block
    assert "\n- made on a test machine\n" in block
    assert table["notes"] == ["made on a test machine"]
    assert (
        set(table["job_seconds"]) == set(table["jobs_finished"])
        and len(table["jobs_finished"]) == 8
    )


def test_search_chart_is_written_and_linked(toy_run):
    """The PNG of the KGE searches exists and the docs link it by its path from the docs."""
    from prixlm.experiments.dbp5l_chart import search_lines

    root, _, table = toy_run
    assert (root / "search.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert table["chart"] == "search.png"
    assert "![KGE searches: validation MRR against epochs](search.png)" in (
        root / "results.md"
    ).read_text("utf-8")
    grid = table["details"]["RotatE"]["en"]["grid"]
    lines = search_lines(grid)
    assert len(lines) == 2 and [len(v) for _, v in lines] == [2, 2]  # 2 points x 2 epoch points
    assert [p["learning_rate"] for p, _ in lines] == [0.03, 0.003]
    assert lines[0][1] == [(g["epochs"], g["validation_mrr"]) for g in grid[:2]]


def test_rerun_skips_finished_jobs(toy_run, capsys, monkeypatch):
    root, argv, table = toy_run
    again = dbp5l.main(argv)
    assert "8 of 8 jobs already done" in capsys.readouterr().out
    assert again["methods_by_protocol"] == table["methods_by_protocol"]
    monkeypatch.chdir(root)  # the same folders named relative to the working directory
    relative = [
        {str(root / "layout"): "layout", str(root / "work"): "work"}.get(a, a) for a in argv
    ]
    assert relative != argv
    assert dbp5l.main(relative)["methods_by_protocol"] == table["methods_by_protocol"]
    assert "8 of 8 jobs already done" in capsys.readouterr().out
    (root / "results").mkdir()  # a toy run names no report: written into its work folder
    unnamed = [a for i, a in enumerate(relative) if not ({a, relative[i - 1]} & {"--results", "--docs"})]  # fmt: skip
    assert dbp5l.main(unnamed)["methods_by_protocol"] == table["methods_by_protocol"]
    assert {"dbp5l.json", "results.md"} <= {p.name for p in (root / "work").iterdir()}
    assert not any((root / "results").iterdir())
    with pytest.raises(SystemExit) as exit_info:  # its jobs were not made with this seed
        dbp5l.main([*argv, "--seed", "1"])
    assert exit_info.value.code == 2 and "seed 1 (the folder's: 0)" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        dbp5l.main([*argv, "--profile", "huge"])
    assert exit_info.value.code == 2 and "error: --profile 'huge'" in capsys.readouterr().err


def test_records_made_before_a_protocol_was_reported_render_without_it(toy_run, tmp_path):
    """KGE records of a run made before `raw` was reported: `--no_run` (the committed JSON's
    own command) stopped with KeyError 'raw'; the methods without it are left out of that
    protocol's table and pairs, the others shown as before."""
    root, argv, table = toy_run
    jobs = root / "work" / "jobs"
    kept = {path: path.read_text("utf-8") for path in jobs.glob("kge-*.json")}
    try:
        for path, text in kept.items():
            record = json.loads(text)
            for split in ("test", "test_full"):
                for cells in (record.get(split) or {}).values():
                    cells.pop("raw", None)
            path.write_text(json.dumps(record), "utf-8")
        out = ["--results", str(tmp_path / "d.json"), "--docs", str(tmp_path / "d.md")]
        named = {"--results", "--docs"}
        rest = [a for i, a in enumerate(argv) if not ({a, argv[i - 1]} & named)]
        older = dbp5l.main([*rest, *out, "--no_run"])
    finally:
        for path, text in kept.items():
            path.write_text(text, "utf-8")
    assert older["methods_by_protocol"]["ours"] == table["methods_by_protocol"]["ours"]
    assert set(older["methods_by_protocol"]["raw"]) == {
        "Prix-LM (Single)", "Prix-LM (All)", "Prix-LM (All, no links)"}  # fmt: skip
    assert set(older["paired"]["Prix-LM (All) - Prix-LM (Single)"]) == {"ours", "kens", "raw"}
    assert "| TransE | raw |" not in (tmp_path / "d.md").read_text("utf-8")


@pytest.mark.parametrize("kept", [True, False], ids=["kept-in-run-folder", "older-run-folder"])
def test_changed_evaluation_settings_evaluate_the_release_again(toy_run, capsys, kept):
    """A Prix-LM record evaluated otherwise than the plan says: the runner evaluates the
    finished release again (same rankings, same training fields), trains nothing: found by
    what the run folder kept, or (a run folder from before it kept anything) by the earlier
    record, after which the folder keeps it."""
    from prixlm.experiments.kept_runs import EVALUATION_DIR, TRAINING_FILE

    root, argv, table = toy_run
    record_file = root / "work" / "jobs" / "single-en.json"
    run_dir = root / "work" / "runs" / "single-en"
    weights = run_dir / "model" / "model.safetensors"
    original, written = record_file.read_text("utf-8"), weights.stat().st_mtime_ns
    record = json.loads(original)
    assert record["evaluation"] == {"eval_limit": 3, "validation_limit": 4,
                                    "protocols": ["ours", "kens", "raw"]}  # fmt: skip
    if not kept:
        (run_dir / TRAINING_FILE).unlink()
        shutil.rmtree(run_dir / EVALUATION_DIR)
    try:
        record_file.write_text(json.dumps({**record, "evaluation": {"eval_limit": 1}}), "utf-8")
        again = dbp5l.main(argv)
        assert (
            "evaluated again (their evaluation settings changed): single-en"
            in capsys.readouterr().out
        )
        renewed = json.loads(record_file.read_text("utf-8"))
        assert renewed["evaluated_again"] is True and weights.stat().st_mtime_ns == written
        for key in ("steps", "train_seconds", "command", "evaluation", "test", "validation"):
            assert renewed[key] == record[key], key
        assert again["methods_by_protocol"] == table["methods_by_protocol"]
        assert (run_dir / TRAINING_FILE).is_file()
    finally:
        record_file.write_text(original, "utf-8")


def test_a_release_is_reused_only_when_trained_as_planned(toy_run):
    from prixlm.experiments.dbp5l_jobs import finished_release

    root, _, _ = toy_run
    run_dir = root / "work" / "runs" / "all-links"
    record = json.loads((root / "work" / "jobs" / "all-links.json").read_text("utf-8"))
    planned = {key: record[key] for key in ("command", "time_budget_s", "budget_clock")}
    assert finished_release(run_dir, planned, record) == run_dir / "model"
    assert finished_release(run_dir, planned, None) is None
    assert (
        finished_release(run_dir, {**planned, "command": "python train.py --seed 1"}, record)
        is None
    )
    assert finished_release(run_dir, {**planned, "time_budget_s": 5}, record) is None
    assert finished_release(run_dir, planned, {**record, "steps": record["steps"] + 1}) is None


def test_no_run_writes_outputs_from_finished_jobs_only(toy_run, tmp_path):
    root, argv, table = toy_run
    jobs = root / "work" / "jobs"
    partial = tmp_path / "work"
    (partial / "jobs").mkdir(parents=True)
    for name in ("kge-TransE-en", "single-en"):
        (partial / "jobs" / f"{name}.json").write_text((jobs / f"{name}.json").read_text("utf-8"))
    for folder in ("data", "tokenizer"):
        (partial / folder).symlink_to(root / "work" / folder)
    flags = {"--work_dir": str(partial), "--results": str(tmp_path / "d.json"),
             "--docs": str(tmp_path / "r.md")}  # fmt: skip
    changed = [flags.get(prev, a) for prev, a in zip([None, *argv[:-1]], argv, strict=True)]
    saved = dbp5l.main([*changed, "--no_run"])
    assert saved["jobs_finished"] == ["kge-TransE-en", "single-en"]
    assert set(saved["methods"]) == {"TransE", "TransE (all test queries)", "Prix-LM (Single)"}
    assert saved["methods"]["TransE"]["en"] == table["methods"]["TransE"]["en"]
    assert not (partial / "runs").exists()  # nothing was trained
    assert "Not measured in this run: RotatE, Prix-LM (All)" in (tmp_path / "r.md").read_text()


def test_committed_docs_are_the_rendering_of_the_committed_json():
    results = ROOT / "results" / "dbp5l.json"
    if not results.is_file():
        pytest.skip("results/dbp5l.json is not committed yet")
    table = json.loads(results.read_text("utf-8"))
    block = read_block((ROOT / "docs" / "results.md").read_text("utf-8"))
    assert block == render(table, "results/dbp5l.json")


def test_device_script_dry_run_resumes_the_toy_run(toy_run, tmp_path):
    """results/device_dbp5l.sh at toy size on the finished toy work dir: every job is skipped,
    the outputs land in $OUT (the GPU call's plumbing, without a GPU)."""
    import os
    import subprocess
    import sys

    root, argv, table = toy_run
    env = {**os.environ, "PY": sys.executable, "PROFILE": "toy", "DATA": str(root / "layout"),
           "WORK": str(root / "work"), "OUT": str(tmp_path / "out"),
           "EXTRA": f"--published {root / 'published.json'}"}  # fmt: skip
    script = ROOT / "results" / "device_dbp5l.sh"
    done = subprocess.run(["bash", str(script)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert "dbp5l exit status 0" in done.stdout, done.stdout + done.stderr
    saved = json.loads((tmp_path / "out" / "dbp5l.json").read_text("utf-8"))
    assert saved["methods_by_protocol"] == table["methods_by_protocol"]
    assert (tmp_path / "out" / "jobs.tar.gz").is_file()
    assert read_block((tmp_path / "out" / "results.md").read_text("utf-8")) is not None


@pytest.mark.parametrize("name", ["cpu", "gpu"])
def test_profiles_plan_every_job_with_a_whole_grid(name, tmp_path):
    """The profiles the device and `make dbp5l` run: 17 jobs, each KGE search >= 3 points x
    >= 2 epoch points (never one point), Prix-LM budgets set."""
    from prixlm.experiments.dbp5l_profiles import get_profile

    profile = get_profile(name)
    profile["languages"] = profile["languages"].split(",")
    jobs = dbp5l.plan_jobs(profile, tmp_path, tmp_path / "d", tmp_path / "l", tmp_path / "t", 0)
    assert len(jobs) == 17 and list(jobs)[-2:] == ["all-links", "all-nolinks"]
    for job, (_, kwargs) in jobs.items():
        if job.startswith("kge-"):
            assert len(kwargs["grid"]) >= 3 and len(kwargs["epoch_points"]) >= 2
        else:
            assert kwargs["time_limit"] and kwargs["protocols"] == ("ours", "kens", "raw")
    assert jobs["all-nolinks"][1]["settings"]["links"] is False
    # Single and All get the same training: All's budget is the five Singles' together
    languages = len(profile["languages"])
    assert profile["all_steps"] == languages * profile["single_steps"]
    assert profile["all_time_limit"] == languages * profile["single_time_limit"]


def test_a_start_on_other_data_in_the_same_work_dir_is_refused(toy_run, tmp_path, capsys):
    """`work_dir/data` is built from `--data` once: a later start on other data reported
    the first data's results under the second's path."""
    import shutil

    root, argv, _ = toy_run
    other = tmp_path / "layout"
    shutil.copytree(root / "layout", other)
    test_file = other / "kg" / "en-test.tsv"
    lines = test_file.read_text("utf-8").splitlines(keepends=True)
    test_file.write_text("".join(lines[1:] + lines[:1]), "utf-8")  # another order
    changed = [str(other) if arg == str(root / "layout") else arg for arg in argv]
    with pytest.raises(SystemExit) as exit_info:
        dbp5l.main(changed)
    assert exit_info.value.code == 2
    assert "data_sha256" in capsys.readouterr().err
