"""The build's command line under a closed stdout (`| head -1` after the first line) and
Ctrl-C: a quiet exit 141 and "interrupted" / 130, never a traceback after the work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dbpedia_dumps import write_dumps


def test_a_closed_stdout_ends_the_build_quietly(tmp_path: Path) -> None:
    dumps = write_dumps(tmp_path / "dumps")
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the build prints its summary
    command = [sys.executable, "-m", "prixlm.data.dbpedia.build", "--dump_dir", str(dumps),
               "--output_dir", str(tmp_path / "kb"), "--languages", "en,de", "--no_progress"]  # fmt: skip
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(command, stdout=write, stderr=subprocess.PIPE, text=True,
                          env=environment, timeout=300)  # fmt: skip
    os.close(write)
    assert done.returncode == 141, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "error:" not in done.stderr
    assert (tmp_path / "kb" / "README.md").is_file()  # the dataset was written first
