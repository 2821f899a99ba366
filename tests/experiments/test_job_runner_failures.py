"""The experiments' job runner when a job fails or the run is stopped: a job that raises is
named (stderr, `JobsFailed`) instead of being counted as done, with one worker or several,
and the runners exit 1 after writing the other jobs' rows; past the deadline, on SIGTERM or
when the runner is killed, no worker process goes on alone (they trained on, or hung,
holding the run folders a new start works in)."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from prixlm.experiments.job_runner import JobsFailed, run_jobs

psutil = pytest.importorskip("psutil")

HERE = Path(__file__).resolve().parent


def _ok(value: int) -> dict[str, Any]:
    return {"value": value}


def _boom(path: str) -> dict[str, Any]:
    raise NotADirectoryError(path)


def _sleeping(flag: str) -> dict[str, Any]:
    """Says it started (its pid in `flag`), then works for a minute."""
    Path(flag).write_text(str(os.getpid()), "utf-8")
    time.sleep(60)
    return {}


def _wait_for(check, seconds: float) -> bool:
    end = time.time() + seconds
    while time.time() < end:
        if check():
            return True
        time.sleep(0.1)
    return check()


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failed_job_is_named_and_the_others_are_done(workers, tmp_path, capsys):
    jobs = {"a": (_ok, {"value": 1}), "b": (_boom, {"path": "/x/y"}), "c": (_ok, {"value": 3})}
    refreshed: list[int] = []
    with pytest.raises(JobsFailed) as failed:
        run_jobs(jobs, tmp_path, workers, lambda: refreshed.append(1), time.time(), None)
    assert failed.value.names == ["b"]
    assert str(failed.value) == (
        "jobs failed: b; their records were not written, a new start runs them again"
    )
    assert sorted(path.stem for path in tmp_path.glob("*.json")) == ["a", "c"]
    assert json.loads((tmp_path / "a.json").read_text("utf-8"))["value"] == 1
    assert len(refreshed) == 2
    out, err = capsys.readouterr()
    assert "b FAILED: NotADirectoryError('/x/y')" in err and "Traceback" in err
    assert "FAILED" not in out and "a done" in out and "c done" in out
    # a new start runs only the failed job
    jobs["b"] = (_ok, {"value": 2})
    assert run_jobs(jobs, tmp_path, 1, lambda: None, time.time(), None) is True
    assert "2 of 3 jobs already done" in capsys.readouterr().out


def test_the_runner_exits_1_naming_the_failed_jobs(dbp5l_toy_run, tmp_path, monkeypatch, capsys):
    """Every planned job is done; one more that fails: the outputs are written, exit 1."""
    from prixlm.experiments import dbp5l, job_runner

    root, argv, _ = dbp5l_toy_run
    real = job_runner.run_jobs

    def with_a_failing_job(jobs, *args, **kwargs):
        return real({**jobs, "broken": (_boom, {"path": "/x"})}, *args, **kwargs)

    monkeypatch.setattr(job_runner, "run_jobs", with_a_failing_job)
    docs = tmp_path / "results.md"
    docs.write_text("# Results\n", "utf-8")
    outputs = ["--results", str(tmp_path / "d.json"), "--docs", str(docs),
               "--chart", str(tmp_path / "c.png")]  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        dbp5l.main(argv + outputs)
    assert exit_info.value.code == (
        "error: jobs failed: broken; their records were not written, a new start runs them again"
    )  # printed on stderr by the interpreter, exit status 1
    assert "broken FAILED: NotADirectoryError('/x')" in capsys.readouterr().err
    assert json.loads((tmp_path / "d.json").read_text("utf-8"))["methods_by_protocol"]
    assert not (root / "work" / "jobs" / "broken.json").exists()


def test_the_deadline_ends_the_running_workers(tmp_path, capsys):
    jobs = {name: (_sleeping, {"flag": str(tmp_path / f"{name}.pid")}) for name in "abc"}
    before = {child.pid for child in psutil.Process().children(recursive=True)}
    # on a loaded machine the workers may not start within 15 s: then once more with 60 s
    for deadline in (15.0, 60.0):
        started = time.time()
        complete = run_jobs(jobs, tmp_path / "jobs", 2, lambda: None, started, deadline)
        assert complete is False and time.time() - started < deadline + 15
        assert "deadline reached: 3 jobs unfinished: ['a', 'b', 'c']" in capsys.readouterr().out
        if sorted(tmp_path.glob("*.pid")):
            break
    assert sorted(tmp_path.glob("*.pid")), "no job had started by the deadline"

    def ours() -> list[Any]:  # the resource tracker aside (one a process, kept)
        return [c for c in psutil.Process().children(recursive=True) if c.pid not in before
                and "resource_tracker" not in " ".join(c.cmdline())]  # fmt: skip

    pids = [int(flag.read_text("utf-8")) for flag in tmp_path.glob("*.pid")]
    try:
        assert _wait_for(lambda: not ours() and not multiprocessing.active_children(), 5), ours()
        assert all(_gone(pid) for pid in pids)
    finally:
        _end(pids)
    assert not (tmp_path / "jobs").exists() or not list((tmp_path / "jobs").glob("*.json"))


SCRIPT = """
import sys, time
from pathlib import Path
sys.path.insert(0, {here!r})
from prixlm.experiments.job_runner import run_to_the_end
from test_job_runner_failures import _sleeping

if __name__ == "__main__":
    flags = Path({flags!r})
    jobs = {{name: (_sleeping, {{"flag": str(flags / (name + ".pid"))}}) for name in "ab"}}
    run_to_the_end(jobs, flags / "jobs", 2, lambda: {{}}, time.time(), None)
"""


EXIT = {signal.SIGTERM: 143, signal.SIGKILL: -signal.SIGKILL, signal.SIGINT: 130}


@pytest.mark.parametrize(
    ("stop", "group"),
    [
        (signal.SIGTERM, False),
        (signal.SIGKILL, False),
        (signal.SIGINT, False),
        (signal.SIGINT, True),
    ],  # fmt: skip
)
def test_the_workers_end_with_the_runner(stop, group, tmp_path):
    """SIGTERM: the runner ends its workers, exit 143; SIGKILL: they end by themselves;
    Ctrl-C (SIGINT to the runner, or to its whole process group as a terminal sends it):
    `interrupted`, exit 130, no traceback."""
    script = tmp_path / "runner.py"
    script.write_text(SCRIPT.format(here=str(HERE), flags=str(tmp_path)), "utf-8")
    flags, pids = [tmp_path / "a.pid", tmp_path / "b.pid"], []
    with (tmp_path / "err.txt").open("w") as err:  # a file: the workers may hold it open
        runner = subprocess.Popen([sys.executable, str(script)], stderr=err,
                                  start_new_session=True, preexec_fn=default_sigint)  # fmt: skip
    try:
        assert _wait_for(lambda: all(f.is_file() and f.read_text("utf-8") for f in flags), 120)
        pids = [int(flag.read_text("utf-8")) for flag in flags]
        if group:
            os.killpg(runner.pid, stop)
        else:
            runner.send_signal(stop)
        runner.wait(timeout=30)
        err = (tmp_path / "err.txt").read_text("utf-8")
        assert runner.returncode == EXIT[stop], err
        assert _wait_for(lambda: all(_gone(pid) for pid in pids), 10), pids
        if stop == signal.SIGTERM:
            assert "stopped (SIGTERM): 2 jobs unfinished: ['a', 'b']" in err
        if stop == signal.SIGINT:
            assert "interrupted; a new start runs the unfinished jobs again" in err
            assert "Traceback" not in err.split("interrupted")[0], err
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
        _end(pids)


def default_sigint() -> None:
    """In the child: Ctrl-C's default, whatever this run inherited (a shell runs a command
    it puts in the background with SIGINT ignored, and so would every child)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _end(pids: list[int]) -> None:
    """End the workers this test started that are left (the check failed)."""
    for pid in pids:
        if not _gone(pid):
            os.kill(pid, signal.SIGKILL)


def _named(value: int) -> dict[str, Any]:
    from prixlm.training.log_lines import job_prefix

    print(f"{job_prefix()}working")
    return {"test": {"en": {"mrr": value / 4, "hits_at_1": value / 8}}, "seconds": 1.5}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_job_s_lines_name_it_and_its_done_line_has_its_figures(workers, tmp_path, capfd):
    """With several workers the lines of the jobs (validation curve, training) did not name
    their job, and the done line had no figure: the full record was dumped instead."""
    jobs = {"job-a": (_named, {"value": 1}), "job-b": (_named, {"value": 2})}
    assert run_jobs(jobs, tmp_path, workers, dict, time.time(), None)
    out = capfd.readouterr().out
    assert "[job-a] working" in out and "[job-b] working" in out
    for name, figures in (("job-a", "en MRR 0.2500 hits@1 0.1250"),
                          ("job-b", "en MRR 0.5000 hits@1 0.2500")):  # fmt: skip
        done = f" {name} done: test {figures}, 1.5 s (record: {tmp_path / (name + '.json')})"
        assert done in out, out


def test_a_dbp5l_job_s_done_line_has_its_figures():
    """A DBP-5L job keeps its test metrics per protocol (`{lang: {protocol: metrics}}`,
    `dbp5l_jobs.evaluate_language`): its done line had no figure. Its first protocol's are
    shown; a metric that is not a number is left out (it was a TypeError in the runner)."""
    from prixlm.experiments.job_runner import record_summary

    cell = {"mrr": 0.25, "hits_at_1": 0.125, "num_queries": 8}
    record = {"test": {"el": {"ours": cell, "kens": {**cell, "mrr": 0.5}}}, "seconds": 2}
    assert record_summary(record) == "el MRR 0.2500 hits@1 0.1250, 2 s"
    assert record_summary({"test": {"el": {"mrr": None}}, "seconds": 2}) == "2 s"
