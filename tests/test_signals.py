"""Ctrl-C and SIGTERM in a command (`prixlm.cli.user_errors`): each stops the work where it
is, the writers remove their staging, and the command ends with one line (`interrupted`,
130; `terminated`, 143). Before, SIGTERM (`timeout`, `kill`, a scheduler's time limit) ended
the process at once and left the build's hidden staging (GBs of records at scale) beside
the output; a Ctrl-C that came as a DuckDB query ended was dropped by DuckDB and the build
went on to publish its dataset (exit 0), or ended in a `Query interrupted` traceback."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from prixlm.cli import user_errors
from prixlm.outputs.atomic import atomic_folder

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("number", "status", "line"),
    [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")],
)
def test_a_signal_during_the_build_leaves_nothing(tiny_demo_output, tmp_path, number, status, line):
    output = tmp_path / "dataset"
    command = [sys.executable, "-m", "prixlm.data.dbpedia.build", "--dump_dir",
               str(tiny_demo_output / "cldr_dumps"), "--output_dir", str(output),
               "--languages", "en,de,ja"]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C's default in the child (a shell starts background commands ignoring it)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob(".dataset.*.partial")):  # the build has started writing
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        process.send_signal(number)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == status, stderr[-3000:]
    lines = stderr.replace("\r", "\n").splitlines()  # progress bars around it
    assert any(text.endswith(line) for text in lines), stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [], (left, stderr[-3000:])  # no staging, marker, output


@pytest.fixture
def ctrl_c_default():
    """Ctrl-C's default (`KeyboardInterrupt`) in this process meanwhile: a pytest-xdist
    worker runs with SIGINT ignored."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_a_ctrl_c_a_library_dropped_publishes_nothing(tmp_path, capsys, ctrl_c_default):
    """DuckDB drops the KeyboardInterrupt of a Ctrl-C that comes as its query ends: the
    command went on; the output is not given its name now, and the command says why."""
    with pytest.raises(SystemExit) as exit_info, user_errors():
        with atomic_folder(tmp_path / "out") as staging:
            (staging / "rows.txt").write_text("half of them\n", encoding="utf-8")
            try:  # a library that catches the signal's exception and goes on
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(1)
            except KeyboardInterrupt:
                pass
            (staging / "more.txt").write_text("the rest\n", encoding="utf-8")
    assert exit_info.value.code == 130
    assert capsys.readouterr().err == "interrupted\n"
    assert list(tmp_path.iterdir()) == []


def test_an_error_raised_over_a_signal_ends_as_the_signal(capsys):
    """DuckDB raises `RuntimeError('Query interrupted')` over the signal's exception: the
    command ends as the signal, not with that traceback."""
    with pytest.raises(SystemExit) as exit_info, user_errors():
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL  # else it ends pytest
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
        except BaseException as error:
            raise RuntimeError("Query interrupted") from error
    assert exit_info.value.code == 143
    assert capsys.readouterr().err == "terminated\n"
    # a bug's exception without a signal keeps its traceback
    with pytest.raises(RuntimeError, match="a bug"), user_errors():
        raise RuntimeError("a bug")


def _wait() -> None:
    time.sleep(60)


def test_a_forked_worker_dies_of_sigterm_as_by_default():
    """A reader process forked inside a command inherits the handler: there SIGTERM (how a
    pool ends its workers) still ends the process at once."""
    with user_errors():
        worker = multiprocessing.get_context("fork").Process(target=_wait)
        worker.start()
        time.sleep(0.5)
        os.kill(worker.pid, signal.SIGTERM)
        worker.join(timeout=30)
    assert worker.exitcode == -signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # restored after the command


def test_a_signal_answered_does_not_refuse_later_outputs(tmp_path, ctrl_c_default):
    """A command ended by Ctrl-C (`train.main` in a notebook, say) left the signal
    remembered: every later output of the process written outside a command (a
    `build_dataset` call) was refused with a KeyboardInterrupt no one had sent."""
    with pytest.raises(SystemExit) as exit_info, user_errors():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)
    assert exit_info.value.code == 130
    try:
        with atomic_folder(tmp_path / "out") as staging:
            (staging / "rows.txt").write_text("all of them\n", encoding="utf-8")
    except KeyboardInterrupt:
        pytest.fail("the output was refused for the signal the command answered")
    assert (tmp_path / "out" / "rows.txt").read_text("utf-8") == "all of them\n"


#: A job runner with `--workers 1` (its jobs in this process), whose job is stopped by a
#: SIGTERM while it writes its output folder (argv: jobs folder, output folder).
ONE_WORKER_RUN = """
import os, signal, sys, time
from pathlib import Path
from prixlm.experiments.job_runner import run_to_the_end
from prixlm.outputs.atomic import atomic_folder

def job(output):
    with atomic_folder(output) as staging:
        (staging / "half.txt").write_text("half", encoding="utf-8")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)
    return {}

jobs_dir, output = map(Path, sys.argv[1:])
run_to_the_end({"job": (job, {"output": str(output)})}, jobs_dir, 1, dict, time.time(), None)
"""


def test_sigterm_in_a_one_worker_job_run_removes_the_job_s_output(tmp_path):
    """With `--workers 1` the runners (Table 1, DBP-5L) ran their jobs outside any command's
    signal handling: SIGTERM ended the process at once, the job's staging left."""
    (tmp_path / "jobs").mkdir()
    (tmp_path / "out").mkdir()
    done = subprocess.run(
        [sys.executable, "-c", ONE_WORKER_RUN, str(tmp_path / "jobs"), str(tmp_path / "out" / "o")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 143, done.stderr[-2000:]
    *_, go_on, last = done.stderr.splitlines()
    assert last == "terminated; a new start runs the unfinished jobs again"
    assert go_on == "to go on, run the same command again: python -c " + " ".join(
        [str(tmp_path / "jobs"), str(tmp_path / "out" / "o")]
    )
    assert list((tmp_path / "out").iterdir()) == [] and list((tmp_path / "jobs").iterdir()) == []


#: train.py run with an import hook that, when torch is first imported, writes the marker
#: file (argv[1]) and waits there for the test's Ctrl-C (argv: marker, train.py's arguments).
WAIT_IN_TORCH_IMPORT = """
import runpy, sys, time
from pathlib import Path

marker = Path(sys.argv[1])

class Hold:
    def find_spec(self, name, path=None, target=None):
        if name == "torch":
            sys.meta_path.remove(self)
            marker.write_text("importing torch", encoding="utf-8")
            time.sleep(120)
        return None

sys.meta_path.insert(0, Hold())
sys.argv = ["train.py", *sys.argv[2:]]
runpy.run_path("train.py", run_name="__main__")
"""


def test_a_ctrl_c_while_train_py_imports_ends_in_one_line(tmp_path):
    """torch and transformers take a second or two to import, before the command's
    handling began: a Ctrl-C there ended in a KeyboardInterrupt traceback."""
    marker = tmp_path / "importing"
    process = subprocess.Popen(
        [sys.executable, "-c", WAIT_IN_TORCH_IMPORT, str(marker), "--help"],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ctrl_c_reaches_the_child,
    )
    try:
        while not marker.exists():  # inside the import of torch
            assert process.poll() is None, process.stderr.read()[-3000:]
            time.sleep(0.01)
        process.send_signal(signal.SIGINT)
        try:
            _, stderr = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:  # how the child held the signal, for the report
            status = Path(f"/proc/{process.pid}/status").read_text(encoding="utf-8")
            raise AssertionError(
                "no end within 120 s of the Ctrl-C: "
                + " ".join(line for line in status.splitlines() if line.startswith("Sig"))
            ) from None
    finally:
        if process.poll() is None:
            process.kill()
    assert (process.returncode, stderr) == (130, "interrupted\n")


def _ctrl_c_reaches_the_child() -> None:
    """In the child before it runs: Ctrl-C's default action, and not blocked (a test
    worker ignores it, and a thread that forks may hold it blocked)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def test_the_ending_line_is_not_written_on_a_progress_bar_s_line(capsys):
    """The Trainer's progress bar, which a signal leaves open: `interrupted` was written
    after it on its line (`| 3/10 [00:00<00:00, 9.22it/s]interrupted`), and the bar drawn
    again below it as the process exited."""
    from tqdm import tqdm

    with pytest.raises(SystemExit) as exit_info, user_errors():
        bar = tqdm(total=10, file=sys.stderr, mininterval=0, ascii=True)
        bar.update(3)
        raise KeyboardInterrupt  # Ctrl-C's, as the bar is drawn
    assert exit_info.value.code == 130
    lines = capsys.readouterr().err.split("\n")
    assert lines[-2:] == ["interrupted", ""], lines
    assert "3/10" in lines[-3].split("\r")[-1]  # the bar as it stood, on its own line
    bar.close()  # closed: nothing drawn again
    assert capsys.readouterr().err == ""
