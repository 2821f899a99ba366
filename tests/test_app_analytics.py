"""The Space apps send no usage reports unless asked: `space/app.py` and each metric
folder's `app.py` set `GRADIO_ANALYTICS_ENABLED` to `False` before gradio is imported,
unless the user set it.

gradio reads the variable when a page is made: enabled, the page checks gradio's version
on api.gradio.app and reports its launch to huggingface.co. The apps are imported as a
Space starts them (offline, this package unimportable, the app's folder first on the path),
none is launched: one fresh process imports each in turn, the Space app first, every app
from its own folder (the modules of the folder before it forgotten) with the variable as
the case sets it. gradio reads the variable at each call, not once at its import
(`gradio.analytics.analytics_enabled`), so an app imported after another sees only its own
setting.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
from fresh_process import last_json_line, run_fresh

ROOT = Path(__file__).resolve().parents[1]
VARIABLE = "GRADIO_ANALYTICS_ENABLED"
#: argv[1]: [[case, folder, the variable's value or null (unset)], ...]
CHILD = textwrap.dedent(
    """
    import json, os, sys
    for name in ("prixlm", "modeling_prixlm", "train"):
        sys.modules[name] = None  # the package is unimportable: only the app's folder runs
    out, previous = {}, None
    for case, folder, value in json.loads(sys.argv[1]):
        if previous is not None:  # the folder before and its modules: forgotten
            sys.path.remove(previous)
            for name, module in list(sys.modules.items()):
                if (getattr(module, "__file__", None) or "").startswith(previous + os.sep):
                    del sys.modules[name]
        sys.path.insert(0, folder)
        previous = folder
        os.environ.pop("GRADIO_ANALYTICS_ENABLED", None)
        if value is not None:
            os.environ["GRADIO_ANALYTICS_ENABLED"] = value
        import app
        import gradio.analytics
        assert os.path.dirname(os.path.abspath(app.__file__)) == folder, app.__file__
        page = getattr(app, "demo", None)  # a metric app makes its page when imported
        out[case] = {
            "variable": os.environ.get("GRADIO_ANALYTICS_ENABLED"),
            "enabled": gradio.analytics.analytics_enabled(),
            "page": None if page is None else page.analytics_enabled,
        }
    print(json.dumps(out))
    """
)
METRICS = ("hits_at_k", "mrr")


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> dict:
    """{case: what the app's import left}; the user's environment without the variable
    (the child inherits this one's). Each metric folder is copied alone (its links as files)
    to `app`, as on a Space."""
    root = tmp_path_factory.mktemp("app_analytics")
    cases = [
        ["space", str(ROOT / "space"), None],
        ["space_user_true", str(ROOT / "space"), "True"],
    ]
    for name in METRICS:
        folder = root / name / "app"
        shutil.copytree(ROOT / "evaluate_metrics" / name, folder)
        cases.append([name, str(folder), None])
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(VARIABLE, raising=False)
        out = last_json_line(run_fresh(CHILD, json.dumps(cases), cwd=root))
    assert list(out) == [case for case, _, _ in cases]
    return out


def test_the_space_app_turns_analytics_off(imported):
    assert imported["space"] == {"variable": "False", "enabled": False, "page": None}


def test_the_space_app_keeps_the_users_setting(imported):
    assert imported["space_user_true"] == {"variable": "True", "enabled": True, "page": None}


@pytest.mark.parametrize("name", METRICS)
def test_the_metric_apps_turn_analytics_off(imported, name):
    assert imported[name] == {"variable": "False", "enabled": False, "page": False}
