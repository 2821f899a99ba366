"""evaluate_metrics/{hits_at_k,mrr}: each folder's Space page computes its metric.

Each folder is copied alone (its `ranking_rules.py` link as a file) to a folder named `app`,
as on a Space, and its `app.py` started as the Space starts it, offline, with this package
unimportable; `gradio_client` then calls it as a visitor's page does. The expected values
are `evaluate.load(<folder>).compute(...)` in this process and the hand-computed ones.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import tomllib
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import pytest
import yaml

gradio_client = pytest.importorskip("gradio_client")
evaluate = pytest.importorskip("evaluate")

METRICS = Path(__file__).resolve().parents[1] / "evaluate_metrics"
NAMES = ("hits_at_k", "mrr")
CHILD = textwrap.dedent(
    """
    import runpy, sys
    for name in ("prixlm", "modeling_prixlm", "train"):
        sys.modules[name] = None  # the package is unimportable: only the folder's code runs
    sys.path.insert(0, "")
    runpy.run_path("app.py", run_name="__main__")
    """
)
#: ranks: Lyon 2.5 (tie with Nice), yen missing, d 2.0 (a and b filtered)
CASE = {
    "predictions": [["Paris", "Lyon", "Nice"], ["euro"], ["a", "b", "c", "d"]],
    "references": ["Lyon", "yen", "d"],
    "prediction_scores": [[-1.0, -2.0, -2.0], [-0.5], [4.0, 3.0, 2.0, 1.0]],
    "filter_objects": [[], [], ["a", "b"]],
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(name: str, root: Path) -> tuple[subprocess.Popen, str, Path]:
    """`python app.py` in a copy of the folder (named `app`, as a Space's), offline."""
    folder = root / name / "app"
    shutil.copytree(METRICS / name, folder)  # the link to ranking_rules.py becomes a file
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(
        GRADIO_SERVER_NAME="127.0.0.1",
        GRADIO_SERVER_PORT=str(port),
        GRADIO_ANALYTICS_ENABLED="False",
        GRADIO_TEMP_DIR=str(root / name / "gradio"),
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        HF_EVALUATE_OFFLINE="1",
        HF_HOME=str(root / name / "hf_home"),
    )
    log = root / name / "app.log"
    with open(log, "w", encoding="utf-8") as stream:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD],
            cwd=folder,
            env=env,
            stdout=stream,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return child, f"http://127.0.0.1:{port}/", log


def _wait(child: subprocess.Popen, url: str, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if child.poll() is not None:
            tail = log.read_text(encoding="utf-8")[-3000:]
            raise RuntimeError(f"the app exited ({child.returncode}):\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"the app did not serve {url} within {timeout} s")
        time.sleep(0.3)


def _stop(child: subprocess.Popen) -> None:
    child.terminate()
    try:
        child.wait(timeout=20)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


@pytest.fixture(scope="module")
def clients(tmp_path_factory):
    """{name: a gradio_client.Client of the folder's running Space}; both start at once."""
    root = tmp_path_factory.mktemp("metric_spaces")
    with ExitStack() as stack:
        started = {}
        for name in NAMES:
            child, url, log = _start(name, root)
            stack.callback(_stop, child)
            started[name] = (child, url, log)
        for child, url, log in started.values():
            _wait(child, url, log)
        yield {
            name: gradio_client.Client(url, verbose=False, download_files=False)
            for name, (_, url, _) in started.items()
        }


@pytest.fixture(scope="module")
def metrics():
    return {name: evaluate.load(str(METRICS / name)) for name in NAMES}


def _compute(client, arguments) -> dict:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return client.predict(text, api_name="/compute")


def _prefilled(client) -> str:
    """The text the page's arguments box shows when it opens."""
    (box,) = [c for c in client.config["components"] if c["props"].get("elem_id") == "arguments"]
    return box["props"]["value"]


def _refused(client, arguments) -> str:
    """The message of the error the page shows for `arguments`."""
    with pytest.raises(gradio_client.exceptions.AppError) as caught:
        _compute(client, arguments)
    return str(caught.value)


@pytest.mark.parametrize(
    ("name", "hand"),
    [
        ("hits_at_k", {"hits_at_1": 0.5, "hits_at_3": 0.5, "hits_at_10": 0.5,
                       "num_queries": 2, "num_missing": 1}),
        ("mrr", {"mrr_at_50": pytest.approx(0.2), "num_queries": 2, "num_missing": 1}),
    ],
)  # fmt: skip
def test_the_prefilled_example_is_the_cards_and_computes(clients, metrics, name, hand):
    text = _prefilled(clients[name])
    arguments = json.loads(text)
    card = (METRICS / name / "README.md").read_text(encoding="utf-8")
    assert all(json.dumps(value) in card for value in arguments["predictions"])
    result = _compute(clients[name], text)
    assert result == hand
    assert result == metrics[name].compute(**arguments)


def test_hits_at_k_by_hand(clients, metrics):
    client, hits = clients["hits_at_k"], metrics["hits_at_k"]
    result = _compute(client, {**CASE, "k": [1, 3, 10]})
    assert result == {
        "hits_at_1": 0.0,
        "hits_at_3": pytest.approx(2 / 3),
        "hits_at_10": pytest.approx(2 / 3),
        "num_queries": 3,
        "num_missing": 1,
    }
    assert result == hits.compute(**CASE, k=[1, 3, 10])
    # one k; without scores the list order ranks: Lyon 2, d 2 once a and b are filtered
    unscored = {k: v for k, v in CASE.items() if k != "prediction_scores"}
    result = _compute(client, {**unscored, "k": 2})
    assert result == {"hits_at_2": pytest.approx(2 / 3), "num_queries": 3, "num_missing": 1}
    assert result == hits.compute(**unscored, k=2)


def test_mrr_by_hand(clients, metrics):
    client, mrr = clients["mrr"], metrics["mrr"]
    result = _compute(client, {**CASE, "cutoff": 50})
    assert result == {
        "mrr_at_50": pytest.approx((1 / 2.5 + 0 + 1 / 2) / 3),
        "num_queries": 3,
        "num_missing": 1,
    }
    assert result == mrr.compute(**CASE, cutoff=50)
    # full ranking (no cutoff): every gold in its list
    full = {"predictions": [["b", "a"], ["c", "x"]], "references": ["a", "x"]}
    result = _compute(client, {**full, "filter_objects": [["b"], []]})
    assert result == {"mrr": pytest.approx((1 + 1 / 2) / 2), "num_queries": 2, "num_missing": 0}
    assert result == mrr.compute(**full, filter_objects=[["b"], []])


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        ("hits_at_k", '{"predictions": [["a"]], ', "not valid JSON"),
        ("mrr", "[1, 2]", "must be a JSON object"),
        ("hits_at_k", {**CASE, "cutoff": 5}, "Unknown argument 'cutoff'"),
        ("mrr", {**CASE, "k": 5}, "Unknown argument 'k'"),
        ("mrr", {"predictions": [["a"]]}, "Missing argument 'references'"),
        ("hits_at_k", {**CASE, "k": 1.0}, "expected an integer k >= 1"),
        ("mrr", {**CASE, "cutoff": 0}, "expected an integer K >= 1"),
        ("mrr", CASE, "pass cutoff=K"),
        ("hits_at_k", {**CASE, "filter_objects": ["Paris", "x", "y"]},
         "filter_objects[0] is a string ('Paris')"),
        ("mrr", {"predictions": [["a"]], "references": ["a", "b"]}, "Mismatch in the number"),
    ],
)  # fmt: skip
def test_a_refused_call_gets_a_message_and_the_page_goes_on(
    clients, metrics, name, arguments, message
):
    assert message in _refused(clients[name], arguments)
    example = json.loads(_prefilled(clients[name]))
    assert _compute(clients[name], example) == metrics[name].compute(**example)


@pytest.mark.parametrize("name", NAMES)
def test_the_space_runs_the_tested_gradio_on_the_folder_alone(name):
    """The card pins the gradio these tests run (pyproject's `space` extra) and Python 3.11;
    app.py and the page it builds (`metric_page.py`, a link in the folder) import only the
    standard library, gradio, evaluate and the folder's own modules."""
    front_matter = (METRICS / name / "README.md").read_text(encoding="utf-8").split("---")[1]
    card = yaml.safe_load(front_matter)
    pyproject = tomllib.loads((METRICS.parent / "pyproject.toml").read_text(encoding="utf-8"))
    space_extra = pyproject["project"]["optional-dependencies"]["space"]
    assert f"gradio=={card['sdk_version']}" in space_extra
    assert card["python_version"] == "3.11" and card["app_file"] == "app.py"
    folder_modules = {path.stem for path in (METRICS / name).glob("*.py")}
    assert "metric_page" in folder_modules
    for script in ("app.py", "metric_page.py"):
        tree = ast.parse((METRICS / name / script).read_text(encoding="utf-8"))
        imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                    if isinstance(node, ast.Import) for alias in node.names}  # fmt: skip
        imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom)}  # fmt: skip
        assert imported - sys.stdlib_module_names - folder_modules <= {"gradio", "evaluate"}
