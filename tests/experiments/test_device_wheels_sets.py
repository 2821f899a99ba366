"""`bench/device_wheels.sh`: the wheels one GPU call needs, and no others.

`.whl/` was filled over what an earlier run left there: after a venv upgrade it held two
versions of one package, and the machine's `pip install` stopped after the machine had
started. DBP-5L's call got Table 1's babel wheel too (10 MB), which took the call past the
64 MiB it may carry.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: `python3 -m pip download ... -d DIR NAME==VERSION`: an empty NAME-VERSION wheel in DIR
FAKE_PIP = """#!/usr/bin/env bash
while [ $# -gt 1 ]; do
  if [ "$1" = -d ]; then dir=$2; fi
  shift
done
name=${1%%==*}; version=${1#*==}
: > "$dir/${name//-/_}-$version-py3-none-any.whl"
"""
#: the venv's python asked for a version: every package is at 2.0
FAKE_VENV_PYTHON = """#!/usr/bin/env bash
echo 2.0
"""


def fetch_wheels(folder: Path, *argv: str) -> subprocess.CompletedProcess:
    """`bench/device_wheels.sh argv` run in `folder` (a checkout) with a fake pip."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(exist_ok=True)
    for path, text in (
        (bin_dir / "python3", FAKE_PIP),
        (bin_dir / "venv_python", FAKE_VENV_PYTHON),
    ):
        path.write_text(text, encoding="utf-8")
        path.chmod(0o755)
    (folder / ".git" / "info").mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PY": str(bin_dir / "venv_python"),
    }
    script = ROOT / "bench" / "device_wheels.sh"
    return subprocess.run(
        ["bash", str(script), *argv],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def wheels(folder: Path) -> set[str]:
    return {str(p.relative_to(folder / ".whl")) for p in (folder / ".whl").rglob("*.whl")}


@pytest.fixture()
def old_wheels(tmp_path: Path) -> Path:
    """A checkout whose .whl/ holds an earlier run's wheels (older versions)."""
    for name in ("pykeen-1.0-py3-none-any.whl", "tf/transformers-1.0-py3-none-any.whl"):
        (tmp_path / ".whl" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / ".whl" / name).write_bytes(b"")
    return tmp_path


def test_table1_gets_every_wheel_and_no_earlier_version(old_wheels: Path) -> None:
    done = fetch_wheels(old_wheels)
    assert done.returncode == 0, done.stderr
    found = wheels(old_wheels)
    assert {"pykeen-2.0-py3-none-any.whl", "babel-2.0-py3-none-any.whl"} <= found
    assert "tf/transformers-2.0-py3-none-any.whl" in found
    assert not {w for w in found if "-1.0-" in w}, found
    assert len(found) == 25
    assert (old_wheels / ".git" / "info" / "exclude").read_text() == "/.whl/\n"


def test_dbp5l_gets_its_wheels_without_babel(old_wheels: Path) -> None:
    done = fetch_wheels(old_wheels, "dbp5l")
    assert done.returncode == 0, done.stderr
    found = wheels(old_wheels)
    assert "babel-2.0-py3-none-any.whl" not in found and len(found) == 24
    assert {"pykeen-2.0-py3-none-any.whl", "duckdb-2.0-py3-none-any.whl"} <= found
    assert not {w for w in found if "-1.0-" in w}, found


def test_an_unknown_set_is_refused_and_keeps_the_wheels(old_wheels: Path) -> None:
    done = fetch_wheels(old_wheels, "table2")
    assert done.returncode == 2
    assert done.stderr == "usage: bash bench/device_wheels.sh [table1|dbp5l] (got 'table2')\n"
    assert wheels(old_wheels) == {
        "pykeen-1.0-py3-none-any.whl",
        "tf/transformers-1.0-py3-none-any.whl",
    }
