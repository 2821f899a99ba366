"""`make dbp5l`'s runner and jobs at toy size: whole-grid KGE searches, the Prix-LM runs,
resuming, evaluating a finished release again, the device script, the profiles' plans and
refused starts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("pykeen")

from prixlm.experiments import dbp5l  # noqa: E402
from prixlm.experiments.dbp5l_docs import read_block  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def test_kge_search_is_the_whole_grid(dbp5l_toy_run):
    root, _, _ = dbp5l_toy_run
    saved = json.loads((root / "dbp5l.json").read_text("utf-8"))
    for model in ("TransE", "RotatE"):
        run = saved["details"][model]["en"]
        assert run["grid_points"] == 2 and len(run["grid"]) == 2 * len(run["epoch_points"])
        best = max(run["grid"], key=lambda point: point["validation_mrr"])
        assert run["validation_mrr"] == best["validation_mrr"]
        assert run["winner"]["epochs"] == best["epochs"]
        assert run["winner"]["learning_rate"] == best["learning_rate"]


def test_kge_search_stops_a_point_when_validation_stops_improving(dbp5l_toy_run):
    """With `patience`, a point's run stops once validation MRR has not risen for that many
    epoch points; every grid point is still trained. A learning rate of 0 keeps the MRR flat."""
    from prixlm.experiments.dbp5l_jobs import kge_search_job

    root, _, _ = dbp5l_toy_run
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


def test_kge_search_scores_every_test_query_with_the_winner(dbp5l_toy_run):
    """`test_full` is the winning (point, epochs), not the last model trained (here an
    untrained one, learning rate 0): with every test row in the sample, it equals the test
    metrics taken when the winner was reached."""
    from prixlm.experiments.dbp5l_jobs import kge_search_job

    root, _, _ = dbp5l_toy_run
    point = {"model": "RotatE", "embedding_dim": 8, "num_negatives": 2, "batch_size": 8,
             "margin": 9.0, "adversarial_temperature": 1.0}  # fmt: skip
    grid = [{**point, "learning_rate": 0.05}, {**point, "learning_rate": 0.0}]
    record = kge_search_job(str(root / "work" / "data"), "en", grid, [1, 3, 9, 27],
                            layout_dir=str(root / "layout"), eval_limit=100)  # fmt: skip
    assert record["winner"]["learning_rate"] == 0.05
    assert record["test_full"]["en"] == record["test"]["en"]
    assert record["test"]["en"]["ours"]["num_queries"] == 4  # every test line


def test_all_without_links_trains_on_triples_only(dbp5l_toy_run):
    root, _, _ = dbp5l_toy_run
    for name, links in (("all-links", True), ("all-nolinks", False)):
        metrics = json.loads(
            (root / "work" / "runs" / name / "model" / "train_results.json").read_text("utf-8")
        )
        assert metrics["links"] is links
        assert metrics["train_facts"] == 44 + (20 if links else 0)  # 2 x 22 triples, 10 pairs x 2


def test_rerun_skips_finished_jobs(dbp5l_toy_run, capsys, monkeypatch):
    root, argv, table = dbp5l_toy_run
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


@pytest.mark.parametrize("kept", [True, False], ids=["kept-in-run-folder", "older-run-folder"])
def test_changed_evaluation_settings_evaluate_the_release_again(dbp5l_toy_run, capsys, kept):
    """A Prix-LM record evaluated otherwise than the plan says: the runner evaluates the
    finished release again (same rankings, same training fields), trains nothing: found by
    what the run folder kept, or (a run folder from before it kept anything) by the earlier
    record, after which the folder keeps it."""
    from prixlm.experiments.kept_runs import EVALUATION_DIR, TRAINING_FILE

    root, argv, table = dbp5l_toy_run
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


def test_a_release_is_reused_only_when_trained_as_planned(dbp5l_toy_run):
    from prixlm.experiments.dbp5l_jobs import finished_release

    root, _, _ = dbp5l_toy_run
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


def test_device_script_dry_run_resumes_the_toy_run(dbp5l_toy_run, tmp_path):
    """results/device_dbp5l.sh at toy size on the finished toy work dir: every job is skipped,
    the outputs land in $OUT (the GPU call's plumbing, without a GPU)."""
    import os
    import subprocess
    import sys

    root, argv, table = dbp5l_toy_run
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


def test_a_start_on_other_data_in_the_same_work_dir_is_refused(dbp5l_toy_run, tmp_path, capsys):
    """`work_dir/data` is built from `--data` once: a later start on other data reported
    the first data's results under the second's path."""
    import shutil

    root, argv, _ = dbp5l_toy_run
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
