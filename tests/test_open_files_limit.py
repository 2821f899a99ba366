"""Too many open files (EMFILE, ENFILE) is told as the open-files limit, with what to do,
not as a fault of the file being opened (`prixlm.cli.describe_os_error`, every command's
`error:` line), also where DuckDB (the build's SQL engine) hit it."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from prixlm.cli import describe_os_error

ROOT = Path(__file__).resolve().parents[1]

#: Fill the process's open-files table (its limit lowered to the descriptors it holds), then
#: write `argv[1]` with DuckDB or Python's `open`, inside the commands' `user_errors`.
_FULL_TABLE = """
import os, resource, sys
import duckdb
from prixlm.cli import user_errors
from prixlm.data.dbpedia.engine import EngineOptions, memory_errors

out, writer = sys.argv[1:]
con = duckdb.connect(":memory:")
con.execute("SELECT 1").fetchall()
highest = max(int(fd) for fd in os.listdir("/proc/self/fd"))
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 1, hard))
held = []
try:
    while True:
        held.append(os.open(os.devnull, os.O_RDONLY))
except OSError:
    pass
with user_errors(), memory_errors(EngineOptions()):
    if writer == "duckdb":
        con.execute(f"COPY (SELECT 1 AS x) TO '{out}' (FORMAT parquet)")
    else:
        open(out, "w")
"""


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
@pytest.mark.parametrize("writer", ["duckdb", "python"])
def test_a_write_past_the_open_files_limit_names_the_limit_and_what_to_do(tmp_path, writer):
    out = tmp_path / "rows.parquet"
    done = subprocess.run(
        [sys.executable, "-c", _FULL_TABLE, str(out), writer],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    line = done.stderr.strip()
    assert line.startswith("error: too many open files: the process reached its open-files limit")
    assert "(ulimit -n: " in line and f" at {out}; " in line
    assert "`ulimit -n 4096`" in line and "--num_proc" in line


def test_the_systems_table_and_a_libraries_wording_are_told_too():
    system = describe_os_error(OSError(errno.ENFILE, os.strerror(errno.ENFILE), "/data/x"))
    assert system.startswith("too many open files in the system: its table of open files is full")
    assert " at /data/x; " in system and "/proc/sys/fs/file-max" in system
    arrow = describe_os_error(
        OSError("Failed to open local file '/x'. Detail: Too many open files")
    )
    assert arrow.startswith("too many open files: the process reached its open-files limit")
    # another error keeps its wording
    assert (
        describe_os_error(OSError(errno.EACCES, "Permission denied", "/x"))
        == "/x: Permission denied"
    )
