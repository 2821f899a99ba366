"""The GPU scripts install our transformers (.whl/tf/) when the machine's is older than the
package needs: Table 1 trained under the image's older transformers before."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAKE_PYTHON = """#!/usr/bin/env bash
echo "$*" >> "$CALLS"
# the machine's transformers is too old: its version check fails, every other call passes
if [ "$1" = -c ] && [[ "$2" == *"transformers.__version__.split"* ]]; then exit 1; fi
exit 0
"""


@pytest.mark.parametrize(
    "script", ["results/device_table1.sh", "results/device_dbp5l.sh", "bench/device_run.sh"]
)
def test_the_transformers_wheels_are_installed_over_an_old_transformers(
    script: str, tmp_path: Path
) -> None:
    for wheel in (".whl/kit-1.0-py3-none-any.whl", ".whl/tf/transformers-5.25.0-py3-none-any.whl"):
        (tmp_path / wheel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / wheel).write_bytes(b"")
    (tmp_path / ".d5data").mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("python", "python3"):
        (bin_dir / name).write_text(FAKE_PYTHON, encoding="utf-8")
        (bin_dir / name).chmod(0o755)
    calls = tmp_path / "calls.txt"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PY": str(bin_dir / "python"),
        "CALLS": str(calls),
        "OUT": str(tmp_path / "out"),
        "WORK": str(tmp_path / "work"),
        "TRAIN_S": "0",
        "LP_S": "0",
    }
    subprocess.run(
        ["bash", str(ROOT / script)], cwd=tmp_path, env=env, capture_output=True, timeout=60
    )
    installs = [line for line in calls.read_text().splitlines() if "pip install" in line]
    assert len(installs) == 1, calls.read_text()
    assert ".whl/tf/transformers-5.25.0-py3-none-any.whl" in installs[0]
