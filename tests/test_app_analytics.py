"""The Space apps send no usage reports unless asked: `space/app.py` and each metric
folder's `app.py` set `GRADIO_ANALYTICS_ENABLED` to `False` before gradio is imported,
unless the user set it.

gradio reads the variable when a page is made: enabled, the page checks gradio's version
on api.gradio.app and reports its launch to huggingface.co. Each app is imported in a fresh
process as a Space starts it (offline, this package unimportable); none is launched.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from fresh_process import last_json_line, run_fresh

ROOT = Path(__file__).resolve().parents[1]
VARIABLE = "GRADIO_ANALYTICS_ENABLED"
CHILD = textwrap.dedent(
    """
    import json, os, sys
    for name in ("prixlm", "modeling_prixlm", "train"):
        sys.modules[name] = None  # the package is unimportable: only the app's folder runs
    sys.path.insert(0, sys.argv[1])
    import app
    import gradio.analytics
    page = getattr(app, "demo", None)  # a metric app makes its page when imported
    print(json.dumps({
        "variable": os.environ.get("GRADIO_ANALYTICS_ENABLED"),
        "enabled": gradio.analytics.analytics_enabled(),
        "page": None if page is None else page.analytics_enabled,
    }))
    """
)


def _imported(folder: Path, tmp_path: Path, **env: str) -> dict:
    return last_json_line(run_fresh(CHILD, folder, cwd=tmp_path, **env))


@pytest.fixture
def no_setting(monkeypatch):
    """The user's environment without the variable (the child inherits this one's)."""
    monkeypatch.delenv(VARIABLE, raising=False)


def test_the_space_app_turns_analytics_off(no_setting, tmp_path):
    imported = _imported(ROOT / "space", tmp_path)
    assert imported == {"variable": "False", "enabled": False, "page": None}


def test_the_space_app_keeps_the_users_setting(no_setting, tmp_path):
    imported = _imported(ROOT / "space", tmp_path, GRADIO_ANALYTICS_ENABLED="True")
    assert imported == {"variable": "True", "enabled": True, "page": None}


@pytest.mark.parametrize("name", ["hits_at_k", "mrr"])
def test_the_metric_apps_turn_analytics_off(no_setting, tmp_path, name):
    """The folder is copied alone (its links as files) to `app`, as on a Space."""
    folder = tmp_path / name / "app"
    shutil.copytree(ROOT / "evaluate_metrics" / name, folder)
    imported = _imported(folder, tmp_path / name)
    assert imported == {"variable": "False", "enabled": False, "page": False}
