"""The Space page of a metric shows the metric's warnings (lists shorter than the cut-off
that lack their gold), not only the result: called in this process, gradio's toast mocked."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from unittest import mock

import pytest

METRICS = Path(__file__).resolve().parents[1] / "evaluate_metrics"


@pytest.mark.parametrize("name", ["hits_at_k", "mrr"])
def test_the_short_list_warning_reaches_the_page(name, monkeypatch):
    pytest.importorskip("gradio")
    monkeypatch.syspath_prepend(str(METRICS / name))
    for module in ("app", "metric_page"):  # the other folder's app: a module of the same name
        monkeypatch.delitem(sys.modules, module, raising=False)
    app = importlib.import_module("app")
    compute = next(f.fn for f in app.demo.fns.values() if f.api_name == "compute")
    page = sys.modules["metric_page"]
    with mock.patch.object(page.gr, "Warning") as toast:
        result = compute(page.as_json(app.EXAMPLES[0]))  # the card's: ["euro"] lacks "yen"
    assert result["num_missing"] == 1
    shown = [call.args[0] for call in toast.call_args_list]
    assert len(shown) == 1 and "lack their gold object" in shown[0]
    with mock.patch.object(page.gr, "Warning") as toast:
        compute(page.as_json({**app.EXAMPLES[0], "references": ["Lyon", "euro"]}))
    assert toast.call_count == 0  # every gold in its list: nothing to warn
