"""A fresh Python process that runs code as a user would: it sees no repository code (no
`PYTHONPATH`; its working directory is a test folder), works offline, and has its own
Hugging Face home, so what it loads comes from the folder it is given, not from this one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_EVALUATE_OFFLINE": "1",
}


def run_fresh(
    script: str,
    *args: object,
    cwd: Path,
    hf_home: Path | None = None,
    check: bool = True,
    **env: str,
) -> subprocess.CompletedProcess:
    """`python -c script args` in `cwd`, offline, `HF_HOME` = `hf_home` (default
    `cwd/hf_home`), `env` added; with `check`, asserts exit 0 (showing its stderr)."""
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    environment.update(OFFLINE, HF_HOME=str(hf_home or Path(cwd) / "hf_home"), **env)
    done = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


def last_json_line(done: subprocess.CompletedProcess) -> Any:
    """The JSON the process printed last."""
    return json.loads(done.stdout.strip().splitlines()[-1])
