"""The Space refuses `PRIXLM_MODEL_REVISION` beside a local folder in `PRIXLM_MODEL`.

A revision names a branch, tag or commit of a Hub repo; transformers loads a folder as it
is whatever revision it is given. Served, the page would name a revision the model is not
at (`` `folder` at `v1-does-not-exist` ``), so the app stops at start-up with one line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fresh_process import OFFLINE
from space_server import CHILD, SPACE_DIR, free_port

REVISION = "v1-does-not-exist"


def _start_app(model: Path, workdir: Path, revision: str) -> subprocess.CompletedProcess:
    """`python space/app.py` as a user starts it (offline, this package unimportable), given
    at most 120 s: an app that serves instead of refusing is stopped then."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(
        OFFLINE,
        PRIXLM_MODEL=str(model),
        PRIXLM_MODEL_REVISION=revision,
        GRADIO_SERVER_NAME="127.0.0.1",
        GRADIO_SERVER_PORT=str(free_port()),
        GRADIO_ANALYTICS_ENABLED="False",
        GRADIO_TEMP_DIR=str(workdir / "gradio"),
        HF_HOME=str(workdir / "hf_home"),
        OMP_NUM_THREADS="1",
    )
    try:
        return subprocess.run(
            [sys.executable, "-c", CHILD, str(SPACE_DIR)],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as expired:
        log = expired.stderr or b""  # bytes, whatever `text` says
        log = log.decode(errors="replace") if isinstance(log, bytes) else log
        pytest.fail(f"the app served {model} at {revision!r} instead of refusing:\n{log[-2000:]}")


def test_the_app_refuses_a_revision_for_a_local_folder(space_model, tmp_path):
    done = _start_app(space_model.resolve(), tmp_path, REVISION)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: PRIXLM_MODEL={space_model.resolve()} PRIXLM_MODEL_REVISION={REVISION}: "
        f"cannot load the model: {space_model.resolve()} is a local folder, and a revision "
        f"({REVISION}) names a branch, tag or commit of a Hub repo: a folder has none"
    )


@pytest.fixture
def app(monkeypatch):
    """`space/app.py` imported in this process, its `pipeline` recording what it loads."""
    monkeypatch.syspath_prepend(str(SPACE_DIR))
    import app

    loaded = []
    real_pipeline = app.pipeline

    def recording_pipeline(**kwargs):
        loaded.append(kwargs)
        return real_pipeline(**kwargs)

    monkeypatch.setattr(app, "pipeline", recording_pipeline)
    monkeypatch.setattr(app, "loaded", loaded, raising=False)
    return app


def test_the_space_refuses_before_it_loads_the_folder(app, space_model):
    """Nothing is loaded, and no batch folder is made, for a folder given a revision."""
    with pytest.raises(ValueError, match=r"is a local folder, and a revision \(v1\) names"):
        app.PrixLMSpace(str(space_model), num_beams=5, revision="v1")
    assert app.loaded == []


def test_a_folder_without_a_revision_is_served_and_named_alone(app, space_model):
    """An empty revision (a Space variable set to nothing) is no revision."""
    space = app.PrixLMSpace(str(space_model), num_beams=5, revision="")
    try:
        assert space.revision is None
        assert space.model_name == f"`{space_model}`"
        assert app.loaded == [{"model": str(space_model), "revision": None,
                               "trust_remote_code": True}]  # fmt: skip
    finally:
        space.close()
