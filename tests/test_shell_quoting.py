"""The shell entry points keep a path with spaces one argument and run from any directory:
`bench/quick.sh` split its runs' options, `$WORK` included, on spaces and named its scripts
relative to the working directory; `make dbp5l` passed `DBP5L_DATA` unquoted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_benchmarks_run_from_elsewhere_with_spaces_in_work(tmp_path: Path) -> None:
    work = tmp_path / "bench work"
    environment = {**os.environ, "WORK": str(work), "PY": sys.executable}
    done = subprocess.run(
        ["bash", str(ROOT / "bench" / "quick.sh"), "bench_records"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "== bench/bench_records.py" in done.stdout
    assert (work / "records").is_dir()
    assert "failed" not in done.stdout


def test_make_dbp5l_quotes_the_data_folder() -> None:
    done = subprocess.run(
        ["make", "-n", "dbp5l", "DBP5L_DATA=/data/my kg"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert '--data "/data/my kg"' in done.stdout
