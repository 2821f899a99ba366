"""prixlm.threads: the OpenMP wait policy is in place before libgomp loads; user settings win.

libgomp prints the settings it loaded with when `OMP_DISPLAY_ENV=VERBOSE`: the wait
policy shows as its spin count (`GOMP_SPINCOUNT`: 300000 by default, 0 when passive,
30000000000 when active). Timings are in `bench/bench_threads.py`, not here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from prixlm.threads import configure_threads

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SPINS, PASSIVE_SPINS, ACTIVE_SPINS = "300000", "0", "30000000000"


def _loaded_with(code: str, *args: str, **env: str) -> tuple[str, str]:
    """(GOMP_SPINCOUNT, OMP_NUM_THREADS) that libgomp loaded with in `python -c code`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_", "PRIXLM_"))}
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env={**clean, "HF_HUB_OFFLINE": "1", "OMP_DISPLAY_ENV": "VERBOSE", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    spins = re.findall(r"GOMP_SPINCOUNT = '(\d+)'", done.stderr)
    threads = re.findall(r"OMP_NUM_THREADS = '(\d+)'", done.stderr)
    assert len(spins) == 1, done.stderr[-2000:]  # one libgomp, loaded once
    return spins[0], threads[0]


def test_import_prixlm_before_torch_makes_openmp_threads_passive():
    assert _loaded_with("import prixlm, torch")[0] == PASSIVE_SPINS
    # The same setting after torch has loaded libgomp comes too late (why train.py and the
    # `python -m prixlm.*` entry points import prixlm first):
    assert _loaded_with("import torch, prixlm")[0] == DEFAULT_SPINS


def test_train_py_sets_the_wait_policy_before_torch_loads():
    code = "import runpy, sys; sys.argv = ['train.py', '--help']; runpy.run_path('train.py', run_name='__main__')"
    try:
        spins, _ = _loaded_with(code)
    except AssertionError as error:  # --help exits with status 0 through SystemExit
        raise AssertionError("train.py --help failed") from error
    assert spins == PASSIVE_SPINS


@pytest.mark.parametrize(
    ("user_setting", "spins"),
    [
        ({"OMP_WAIT_POLICY": "ACTIVE"}, ACTIVE_SPINS),
        ({"GOMP_SPINCOUNT": DEFAULT_SPINS}, DEFAULT_SPINS),  # libgomp's default, explicitly
    ],
)
def test_an_explicit_wait_setting_is_respected(user_setting, spins):
    assert _loaded_with("import prixlm, torch", **user_setting)[0] == spins
    environ = dict(user_setting)
    assert configure_threads(environ) == {} and environ == user_setting


def test_prixlm_num_threads_sets_the_thread_count_before_and_after_torch_loads():
    check = "import torch; assert torch.get_num_threads() == 1, torch.get_num_threads()"
    assert _loaded_with(f"import prixlm; {check}", PRIXLM_NUM_THREADS="1") == (PASSIVE_SPINS, "1")
    # torch loaded first: the count still applies (torch.set_num_threads)
    _loaded_with(f"import torch, prixlm; {check}", PRIXLM_NUM_THREADS="1")
    environ = {"OMP_NUM_THREADS": "4", "PRIXLM_NUM_THREADS": "2"}
    configure_threads(environ)
    assert environ["OMP_NUM_THREADS"] == "2" and environ["OMP_WAIT_POLICY"] == "PASSIVE"


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_a_bad_thread_count_names_the_variable(value):
    with pytest.raises(ValueError, match=f"PRIXLM_NUM_THREADS='{value}': expected a positive"):
        configure_threads({"PRIXLM_NUM_THREADS": value})


def _run_with_threads(value: str, *command: str) -> subprocess.CompletedProcess:
    """`python *command` with `PRIXLM_NUM_THREADS=value`, from the repository."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_", "PRIXLM_"))}
    return subprocess.run(
        [sys.executable, *command],
        cwd=ROOT,
        env={**clean, "HF_HUB_OFFLINE": "1", "PRIXLM_NUM_THREADS": value},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("value", "command"),
    [
        ("0", ("-m", "prixlm.data.cldr.export", "--help")),
        ("abc", ("-X", "utf8", "-m", "prixlm.demo", "--help")),
        ("-1", ("train.py", "--help")),
    ],
)
def test_a_bad_thread_count_ends_a_command_with_one_error_line(value, command):
    done = _run_with_threads(value, *command)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"error: PRIXLM_NUM_THREADS='{value}': expected a positive integer\n"


def test_a_bad_thread_count_raises_in_a_program_of_the_users_own():
    code = (
        "import sys\n"
        "try:\n    import prixlm\n"
        "except ValueError as error:\n    print(type(error).__name__, error); sys.exit(7)\n"
    )
    done = _run_with_threads("0", "-c", code)
    assert done.returncode == 7, done.stderr[-2000:]
    assert (
        done.stdout == "ThreadsSettingError PRIXLM_NUM_THREADS='0': expected a positive integer\n"
    )


@pytest.mark.parametrize(
    ("argv", "orig_argv", "command"),
    [
        (["-m"], ["python", "-m", "prixlm.data.cldr.export"], True),
        (["-m"], ["python", "-u", "-mprixlm.release.card"], True),
        (["-m"], ["python", "-m", "prixlm"], True),
        (["-m"], ["python", "-m", "prixlmx.tool"], False),
        (["-m"], ["python", "-m", "pytest"], False),
        ([str(ROOT / "train.py")], ["python", str(ROOT / "train.py")], True),
        ([str(ROOT / "tests" / "x.py")], ["python", "tests/x.py"], False),
        (["-c"], ["python", "-c", "import prixlm"], False),
        ([""], ["python"], False),
    ],
)
def test_which_processes_are_commands(argv, orig_argv, command):
    from prixlm.threads import runs_a_command

    assert runs_a_command(argv, orig_argv) is command
