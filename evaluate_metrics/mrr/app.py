"""The Space's page: MRR (`mrr.py` beside this file) on the arguments of `compute()`.

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
TITLE = "MRR (filtered, realistic ties; MRR@K for truncated lists)"
#: The arguments `compute()` takes: the features, then the options.
ARGUMENTS = ("predictions", "references", "prediction_scores", "filter_objects", "cutoff")
#: The metric card's example (Lyon ties with Nice for place 2: rank 2.5; "yen" is missing:
#: 0; mrr_at_50 = 0.2), then a full ranking (no cutoff: every gold in its list) where
#: filtering "b" puts "a" first.
EXAMPLES = [
    {
        "predictions": [["Paris", "Lyon", "Nice"], ["euro"]],
        "references": ["Lyon", "yen"],
        "prediction_scores": [[-1.0, -2.0, -2.0], [-0.5]],
        "cutoff": 50,
    },
    {
        "predictions": [["b", "a"], ["c", "x"]],
        "references": ["a", "x"],
        "filter_objects": [["b"], []],
    },
]

# the file, not the folder: a Space's folder is "app", where evaluate would look for app.py
module = evaluate.load(str(HERE / "mrr.py"), keep_in_memory=True)
demo = build_page(module, HERE, TITLE, ARGUMENTS, EXAMPLES)


if __name__ == "__main__":
    demo.queue(default_concurrency_limit=1).launch(ssr_mode=False)
