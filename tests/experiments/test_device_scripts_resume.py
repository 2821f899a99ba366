"""The GPU-call scripts of Table 1 and DBP-5L: how they resume and the environment they run in.

A second call resumes from the first call's job records, carried as `.t1jobs/` or `.d5jobs/`.
Its `jobs.tar.gz` holds `jobs/<name>.json`, so `tar xzf jobs.tar.gz -C .d5jobs` puts the
records one folder down. They were not found there, and the run started again from zero.
The scripts run with no Hub kernels (`USE_HUB_KERNELS=0`): the machines' image has no
`kernels` package, so transformers could not load a trained model.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: the script and the folder it resumes from
SCRIPTS = [("results/device_table1.sh", ".t1jobs"), ("results/device_dbp5l.sh", ".d5jobs")]
#: a python that passes every check and records each call with its USE_HUB_KERNELS
FAKE_PYTHON = """#!/usr/bin/env bash
echo "USE_HUB_KERNELS=${USE_HUB_KERNELS:-unset} $*" >> "$CALLS"
exit 0
"""


def run_script(script: str, folder: Path) -> tuple[subprocess.CompletedProcess, list[str]]:
    """`script` run from `folder` (the checkout's root on the machine) with a fake python:
    the finished process and the python calls it made."""
    python = folder / "fake_python"
    python.write_text(FAKE_PYTHON, encoding="utf-8")
    python.chmod(0o755)
    (folder / ".d5data").mkdir(exist_ok=True)
    env = {
        **os.environ,
        "PY": str(python),
        "CALLS": str(folder / "calls.txt"),
        "OUT": str(folder / "out"),
        "WORK": str(folder / "work"),
    }
    env.pop("USE_HUB_KERNELS", None)
    done = subprocess.run(
        ["bash", str(ROOT / script)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    calls = folder / "calls.txt"
    return done, calls.read_text().splitlines() if calls.is_file() else []


def experiment_calls(calls: list[str]) -> list[str]:
    return [call for call in calls if " -m prixlm.experiments." in call]


@pytest.mark.parametrize(("script", "jobs"), SCRIPTS)
@pytest.mark.parametrize("layout", ["", "jobs/"], ids=["flat", "as-unpacked"])
def test_an_earlier_calls_records_are_resumed_in_either_layout(script, jobs, layout, tmp_path):
    records = {"kge-TransE-en.json": {"job": "kge-TransE-en", "mrr": 0.25}, "single-en.json": {}}
    (tmp_path / jobs / layout).mkdir(parents=True)
    for name, record in records.items():
        (tmp_path / jobs / layout / name).write_text(json.dumps(record), encoding="utf-8")
    done, calls = run_script(script, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    work_jobs = tmp_path / "work" / "jobs"
    assert {p.name: json.loads(p.read_text("utf-8")) for p in work_jobs.iterdir()} == records
    assert f"resuming: 2 job records from {jobs}/" in done.stdout
    assert len(experiment_calls(calls)) == 1


@pytest.mark.parametrize(("script", "jobs"), SCRIPTS)
def test_a_resume_folder_without_records_stops_before_any_work(script, jobs, tmp_path):
    (tmp_path / jobs / "jobs").mkdir(parents=True)
    (tmp_path / jobs / "jobs.tar.gz").write_bytes(b"")  # not unpacked
    done, calls = run_script(script, tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {jobs}/ holds no job records")
    assert f"tar xzf jobs.tar.gz -C {jobs}" in done.stderr
    assert calls == [] and not (tmp_path / "work").exists()


@pytest.mark.parametrize(("script", "jobs"), SCRIPTS)
def test_the_run_loads_models_without_hub_kernels(script, jobs, tmp_path):
    done, calls = run_script(script, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    (call,) = experiment_calls(calls)
    assert call.startswith("USE_HUB_KERNELS=0 -m prixlm.experiments.")
