"""The experiments' `--deadline_s` with one worker (the toy profiles, `--workers 1`): no job
starts past it and the run says so (it was checked only by the pool of several workers), and
counts and time limits of zero or below are refused (a zero took the profile's value)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from prixlm.experiments import dbp5l, table1
from prixlm.experiments.job_runner import run_jobs

RAN: list[str] = []


def _job(name: str) -> dict[str, Any]:
    RAN.append(name)
    return {"name": name}


def _jobs() -> dict[str, tuple[Any, dict[str, Any]]]:
    return {name: (_job, {"name": name}) for name in ("a", "b", "c")}


def test_one_worker_starts_no_job_past_the_deadline(tmp_path: Path, capsys) -> None:
    RAN.clear()
    refreshed: list[int] = []
    started = time.time() - 10  # 10 s into the run
    complete = run_jobs(_jobs(), tmp_path, 1, lambda: refreshed.append(1), started, 5.0)
    assert complete is False
    assert RAN == []
    assert sorted(path.stem for path in tmp_path.glob("*.json")) == []
    assert "deadline reached: 3 jobs unfinished: ['a', 'b', 'c']" in capsys.readouterr().out


def test_one_worker_runs_every_job_before_the_deadline(tmp_path: Path) -> None:
    RAN.clear()
    complete = run_jobs(_jobs(), tmp_path, 1, lambda: None, time.time(), 3600.0)
    assert complete is True
    assert RAN == ["a", "b", "c"]
    assert sorted(path.stem for path in tmp_path.glob("*.json")) == ["a", "b", "c"]
    RAN.clear()  # a new start: every job has its record
    assert run_jobs(_jobs(), tmp_path, 1, lambda: None, time.time(), 3600.0) is True
    assert RAN == []


@pytest.mark.parametrize("module", [table1, dbp5l])
@pytest.mark.parametrize(
    "option", [["--workers", "0"], ["--threads_per_worker", "0"], ["--deadline_s", "0"]]
)
def test_zero_counts_and_limits_are_refused(module, option, tmp_path: Path, capsys) -> None:
    data = ["--data", str(tmp_path)] if module is dbp5l else []
    with pytest.raises(SystemExit) as stopped:
        module.main(["--profile", "toy", "--work_dir", str(tmp_path / "w"), *data, *option])
    assert stopped.value.code == 2
    assert f"argument {option[0]}: must be" in capsys.readouterr().err
    assert not (tmp_path / "w").exists()


@pytest.mark.parametrize("job", ["all", "single", "kge", "union"])
def test_table1_zero_time_limit_is_refused(job: str, tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        table1.main(["--profile", "toy", "--work_dir", str(tmp_path), f"--{job}_time_limit", "0"])
    assert stopped.value.code == 2
    assert f"--{job}_time_limit: must be > 0" in capsys.readouterr().err
