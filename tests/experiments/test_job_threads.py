"""The CPU threads of each job change the numbers (and, under a CPU-time budget, the steps
reached): the profiles fix them for the committed CPU runs, the runners record the count used
(results' `profile`, every job record, the `OMP_NUM_THREADS=` of a train.py `command`, the
release's `train_results.json`), and a kept record made with another count is named."""

from __future__ import annotations

import json
import os

import pytest
import torch

from prixlm.experiments import dbp5l_profiles, jobs, profiles
from prixlm.experiments.table1 import execute


def test_the_committed_cpu_profiles_ran_one_thread_per_worker():
    """results/table1.json (`full`) and results/dbp5l.json (`cpu`): "2 worker processes of
    one thread each"; `quick` (make table1-quick) likewise; device profiles keep the rule."""
    assert profiles.get_profile("full")["threads_per_worker"] == 1
    assert profiles.get_profile("quick")["threads_per_worker"] == 1
    assert dbp5l_profiles.get_profile("cpu")["threads_per_worker"] == 1
    assert profiles.get_profile("gpu").get("threads_per_worker") is None
    assert jobs.worker_threads({"workers": 2, "threads_per_worker": 3}) == 3
    assert jobs.worker_threads({"workers": 2, "threads_per_worker": None}) == max(
        1, (os.cpu_count() or 1) // 2
    )
    assert jobs.worker_threads({"workers": 1}) == torch.get_num_threads()


def _job(**kwargs):
    return {"command": "python train.py --seed 0", "seen_threads": torch.get_num_threads()}


def test_a_job_record_names_its_threads_and_the_command_sets_them(tmp_path):
    before = torch.get_num_threads()
    output = tmp_path / "jobs" / "single-en.json"
    output.parent.mkdir()
    execute("single-en", _job, {}, str(output), 1)
    record = json.loads(output.read_text("utf-8"))
    assert record["seen_threads"] == 1 and record["torch_num_threads"] == 1
    assert record["command"] == "OMP_NUM_THREADS=1 python train.py --seed 0"
    assert "torch_num_threads" not in record["plan"]  # a resume elsewhere is allowed
    assert torch.get_num_threads() == before  # set back (a job run in this process)
    # a release trained by an earlier start: its own threads (train_results.json), or none
    run_dir = tmp_path / "run"
    kept = {"run_dir": str(run_dir)}

    def again(**kwargs):
        return {"command": "OMP_NUM_THREADS=2 python train.py --x", "evaluated_again": True}

    execute("all", again, kept, str(output), 1)
    assert json.loads(output.read_text("utf-8"))["command"] == "python train.py --x"
    (run_dir / "model").mkdir(parents=True)
    (run_dir / "model" / "train_results.json").write_text('{"torch_num_threads": 3}', "utf-8")
    execute("all", again, kept, str(output), 1)
    assert json.loads(output.read_text("utf-8"))["command"] == "OMP_NUM_THREADS=3 python train.py --x"  # fmt: skip
    assert jobs.plain_command(jobs.thread_command("python train.py", 4)) == "python train.py"


def test_threads_note_names_the_records_made_with_another_count():
    records = {"a": {"torch_num_threads": 2}, "b": {"torch_num_threads": 1}, "c": {}}
    note = jobs.threads_note(records, 1)
    assert note is not None and "\n" not in note and "a 2" in note and "b 1" not in note
    assert (
        jobs.threads_note(records, 2) is not None
        and jobs.threads_note({"c": {"torch_num_threads": 1}}, 1) is None
    )
    # a record of an earlier version, without the count: named as unknown
    assert jobs.threads_note({"c": {}}, 1).endswith(": c unknown")


def test_table1_records_the_threads_of_every_job(table1_toy_run, tmp_path, capsys):
    pytest.importorskip("pykeen")
    from prixlm.experiments import table1

    root, argv, _ = table1_toy_run
    saved = json.loads((root / "table1.json").read_text("utf-8"))
    threads = saved["profile"]["threads_per_worker"]
    assert threads == torch.get_num_threads()  # toy: one worker, this process's count
    for path in sorted((root / "work" / "jobs").glob("*.json")):
        record = json.loads(path.read_text("utf-8"))
        assert record["torch_num_threads"] == threads, path.name
        if record["kind"] == "prixlm":
            assert record["command"].startswith(f"OMP_NUM_THREADS={threads} python train.py ")
            release = root / "work" / "runs" / path.stem / "model" / "train_results.json"
            trained = json.loads(release.read_text("utf-8"))
            assert trained["torch_num_threads"] == threads
            assert trained["torch_version"] == torch.__version__
    single = saved["details"]["Prix-LM (Single)"]["variants"]["single-lr1e3-en"]
    assert single["torch_num_threads"] == threads
    # another count: every job is still done (not in the plan), the note names them
    other = 1 if threads != 1 else 2
    elsewhere = [*argv, "--threads_per_worker", str(other), "--results", str(tmp_path / "t.json"),
                 "--docs", str(tmp_path / "r.md"), "--chart", str(tmp_path / "t.png")]  # fmt: skip
    table = table1.main(elsewhere)
    out = capsys.readouterr().out
    assert "9 of 9 jobs already done" in out
    assert f"note: 9 kept job records were made with another thread count than this run's {other}" in out  # fmt: skip
    assert table["profile"]["threads_per_worker"] == other


def test_dbp5l_records_threads_and_reevaluates_a_prefixed_record(dbp5l_toy_run, tmp_path, capsys):
    pytest.importorskip("pykeen")
    from prixlm.experiments import dbp5l
    from prixlm.experiments.dbp5l_jobs import prixlm_protocol_job

    root, argv, table = dbp5l_toy_run
    threads = table["profile"]["threads_per_worker"]
    record = json.loads((root / "work" / "jobs" / "single-en.json").read_text("utf-8"))
    assert record["torch_num_threads"] == threads
    assert record["command"].startswith(f"OMP_NUM_THREADS={threads} python train.py ")
    shown = [*argv, "--no_run", "--threads_per_worker", str(threads + 1),
             "--results", str(tmp_path / "d.json"), "--docs", str(tmp_path / "d.md")]  # fmt: skip
    assert dbp5l.main(shown)["profile"]["threads_per_worker"] == threads + 1
    assert "kept job records were made with another thread count" in capsys.readouterr().out
    # a record to evaluate again is compared with the train.py command, its threads apart
    kwargs = {"eval_limit": 1, "validation_limit": 0, "protocols": ["ours"]}
    planned = {"single-en": (prixlm_protocol_job, kwargs)}
    dbp5l.stale_evaluations(planned, {"single-en": record})
    previous = planned["single-en"][1]["previous"]
    assert previous["command"] == jobs.plain_command(record["command"])
    assert record["command"].startswith("OMP_NUM_THREADS=")  # the record itself unchanged
