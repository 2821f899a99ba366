"""A Prix-LM job evaluated again is given its earlier record (`previous`); the record it
writes must count as done at the next start, which plans the job without it."""

import json
from pathlib import Path

from prixlm.experiments.jobs import job_done, job_plan, recorded_plan


def test_a_job_run_with_its_previous_record_is_done_at_the_next_start(tmp_path: Path) -> None:
    planned = {"run_dir": str(tmp_path / "runs" / "single-en"), "eval_limit": 100}
    earlier = {"job": "single-en", "evaluation": {"eval_limit": 20}, "steps": 9}
    record_path = tmp_path / "jobs" / "single-en.json"
    record_path.parent.mkdir()
    # the job runner writes the plan of the arguments it ran the job with
    plan = job_plan({**planned, "previous": earlier}, tmp_path)
    record_path.write_text(json.dumps({"plan": plan, "steps": 9}), "utf-8")
    assert "previous" not in plan and plan["run_dir"] == "<work_dir>/runs/single-en"
    assert job_done(record_path, planned)
    assert not job_done(record_path, {**planned, "eval_limit": 50})


def test_a_record_written_with_previous_in_its_plan_is_still_done(tmp_path: Path) -> None:
    planned = {"eval_limit": 100}
    record = {"plan": {"eval_limit": 100, "previous": {"steps": 9}}}
    record_path = tmp_path / "jobs" / "single-en.json"
    record_path.parent.mkdir()
    record_path.write_text(json.dumps(record), "utf-8")
    assert recorded_plan(record) == {"eval_limit": 100}
    assert job_done(record_path, planned)
