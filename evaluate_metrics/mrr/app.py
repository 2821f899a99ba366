"""The Space's page: MRR (`mrr.py` beside this file) on the arguments of `compute()`.

    python app.py     # in this folder: serves the page on http://127.0.0.1:7860

The arguments are one JSON object (`predictions`, `references` and the options of
`compute()`), prefilled with the metric card's example; the result is `compute()`'s dict.
Bad JSON or an argument the metric refuses gets a message, never a traceback. Needs only
gradio and evaluate: the folder is a Space of its own.
"""

import json
from pathlib import Path

import evaluate
import gradio as gr

HERE = Path(__file__).resolve().parent
TITLE = "MRR (filtered, realistic ties; MRR@K for truncated lists)"
#: The arguments `compute()` takes: the features, then the options.
ARGUMENTS = ("predictions", "references", "prediction_scores", "filter_objects", "cutoff")
REQUIRED = ("predictions", "references")
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


def as_json(arguments: dict) -> str:
    """`arguments` as the text box shows them: one argument per line."""
    lines = [f"  {json.dumps(name)}: {json.dumps(value, ensure_ascii=False)}"
             for name, value in arguments.items()]  # fmt: skip
    return "{\n" + ",\n".join(lines) + "\n}"


def refused(message: str) -> gr.Error:
    """The error the page shows, as text (the modal renders HTML: `<` and `&` are escaped)."""
    text = message.replace("&", "&amp;").replace("<", "&lt;")
    return gr.Error(text, title="Not computed", print_exception=False)


def parse_arguments(text: str) -> dict:
    """The JSON object `text`, checked for the names of `compute()`'s arguments."""
    try:
        arguments = json.loads(text)
    except json.JSONDecodeError as error:
        raise refused(f"The arguments are not valid JSON: {error}") from None
    if not isinstance(arguments, dict):
        raise refused(
            "The arguments must be a JSON object naming compute()'s arguments, "
            f"e.g. {json.dumps(EXAMPLES[1], ensure_ascii=False)}"
        )
    unknown = [name for name in arguments if name not in ARGUMENTS]
    if unknown:
        raise refused(f"Unknown argument {unknown[0]!r}: compute() takes {', '.join(ARGUMENTS)}")
    missing = [name for name in REQUIRED if name not in arguments]
    if missing:
        raise refused(f"Missing argument {missing[0]!r}: {' and '.join(REQUIRED)} are required")
    return arguments


def compute(text: str) -> dict:
    """`module.compute(**arguments)` for the JSON object `text`."""
    arguments = parse_arguments(text)
    try:
        return module.compute(**arguments)
    except (TypeError, ValueError) as error:  # an argument the metric refuses
        raise refused(str(error)) from None
    except Exception as error:  # the page stays usable whatever the metric raises
        raise refused(f"The metric failed: {type(error).__name__}: {error}") from None


def metric_card() -> str:
    """README.md without its YAML front matter (empty if the folder has no card)."""
    path = HERE / "README.md"
    if not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8")
    if text.startswith("---"):  # the front matter ends at the next line starting "---"
        text = text.split("\n---", 1)[-1].partition("\n")[2]
    return text


with gr.Blocks(title=TITLE) as demo:
    gr.Markdown(
        f"# {TITLE}\n{module.info.description}\nEdit the JSON arguments of `compute()` "
        "(`predictions`, `references`, optional `prediction_scores`, `filter_objects` "
        "and `cutoff`, as in the metric card below) and press **Compute**."
    )
    with gr.Row():
        arguments = gr.Textbox(
            value=as_json(EXAMPLES[0]),
            lines=8,
            max_lines=40,
            label="Arguments of compute() (JSON)",
            elem_id="arguments",
        )
        result = gr.JSON(label="Result", elem_id="result")
    button = gr.Button("Compute", variant="primary", elem_id="compute-button")
    gr.Examples([[as_json(example)] for example in EXAMPLES], [arguments], label="Examples")
    gr.Markdown(metric_card(), latex_delimiters=[])
    button.click(compute, [arguments], [result], api_name="compute")


if __name__ == "__main__":
    demo.queue(default_concurrency_limit=1).launch(ssr_mode=False)
