"""Start `space/app.py` as a user would, in a subprocess, and wait until it serves its page.

The child runs offline, outside the repository, with this package unimportable: the app
must serve through the release folder's own pipeline (gradio, torch and transformers only).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SPACE_DIR = Path(__file__).resolve().parents[2] / "space"
CHILD = textwrap.dedent(
    """
    import runpy, sys
    for name in ("prixlm", "modeling_prixlm", "train"):
        sys.modules[name] = None  # the package is unimportable: only the folder's code serves
    sys.path.insert(0, sys.argv[1])
    runpy.run_path(sys.argv[1] + "/app.py", run_name="__main__")
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_space(
    model: Path, workdir: Path, timeout: float = 180, threads: int = 1, cwd: Path | None = None
) -> Iterator[str]:
    """The URL of the app serving `model` with `threads` torch threads (stopped on exit);
    the app runs in `cwd` (default `workdir`)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(
        PRIXLM_MODEL=str(model),
        GRADIO_SERVER_NAME="127.0.0.1",
        GRADIO_SERVER_PORT=str(port),
        GRADIO_ANALYTICS_ENABLED="False",
        GRADIO_TEMP_DIR=str(workdir / "gradio"),
        TMPDIR=str(temp_folder(workdir)),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_HOME=str(workdir / "hf_home"),
        OMP_NUM_THREADS=str(threads),
    )
    log = open(workdir / "space.log", "w+", encoding="utf-8")  # noqa: SIM115
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(SPACE_DIR)],
        cwd=cwd or workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if child.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"the app exited ({child.returncode}):\n{log.read()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the app did not serve {url} within {timeout} s")
            time.sleep(0.5)
        yield url
    finally:
        child.terminate()
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        log.close()


def temp_folder(workdir: Path) -> Path:
    """The app's temporary folder (`TMPDIR`): its batch outputs go there."""
    folder = workdir / "tmp"
    folder.mkdir(exist_ok=True)
    return folder


def space_log(workdir: Path) -> str:
    return (workdir / "space.log").read_text(encoding="utf-8")
