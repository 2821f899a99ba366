"""The Space's page: hits@k (`hits_at_k.py` beside this file) on the arguments of `compute()`.

    python app.py     # in this folder: serves the page on http://127.0.0.1:7860

The arguments are one JSON object (`predictions`, `references` and the options of
`compute()`), prefilled with the metric card's example; the result is `compute()`'s dict.
Bad JSON or an argument the metric refuses gets a message, never a traceback. Needs only
gradio and evaluate: the folder is a Space of its own; the page is `metric_page.py`'s
(a link beside this file, to the one for both metric folders). gradio's usage reports stay
off unless `GRADIO_ANALYTICS_ENABLED=True` is set.
"""

import os
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no usage reports unless asked
import evaluate
from metric_page import build_page

HERE = Path(__file__).resolve().parent
TITLE = "Hits@k (filtered, realistic ties)"
#: The arguments `compute()` takes: the features, then the options.
ARGUMENTS = ("predictions", "references", "prediction_scores", "filter_objects", "k")
#: The metric card's example (its result: 0.5 at every k, one gold missing), then the
#: docstring's: "b" is filtered, so "a" is first.
EXAMPLES = [
    {
        "predictions": [["Paris", "Lyon"], ["euro"]],
        "references": ["Lyon", "yen"],
        "prediction_scores": [[-1.2, -3.4], [-0.5]],
        "filter_objects": [["Paris"], []],
        "k": [1, 3, 10],
    },
    {
        "predictions": [["b", "a"], ["c"]],
        "references": ["a", "x"],
        "filter_objects": [["b"], []],
        "k": [1, 3],
    },
]

# the file, not the folder: a Space's folder is "app", where evaluate would look for app.py
module = evaluate.load(str(HERE / "hits_at_k.py"), keep_in_memory=True)
demo = build_page(module, HERE, TITLE, ARGUMENTS, EXAMPLES)


if __name__ == "__main__":
    demo.queue(default_concurrency_limit=1).launch(ssr_mode=False)
