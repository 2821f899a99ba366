"""The Space page of a metric folder: its metric on the JSON arguments of `compute()`.

Each metric folder links this file beside its `app.py` (as it links `ranking_rules.py`), so
an uploaded folder carries it. The arguments are one JSON object (`predictions`,
`references` and the options of `compute()`), prefilled with the metric card's example; the
result is `compute()`'s dict, and each warning the metric gives (a list shorter than the
cut-off that lacks its gold) is shown beside it. Bad JSON or an argument the metric refuses
gets a message, never a traceback. Needs only gradio and evaluate.
"""

import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import evaluate
import gradio as gr

#: The features every metric's `compute()` requires.
REQUIRED = ("predictions", "references")


def as_json(arguments: dict) -> str:
    """`arguments` as the text box shows them: one argument per line."""
    lines = [f"  {json.dumps(name)}: {json.dumps(value, ensure_ascii=False)}"
             for name, value in arguments.items()]  # fmt: skip
    return "{\n" + ",\n".join(lines) + "\n}"


def refused(message: str) -> gr.Error:
    """The error the page shows, as text (the modal renders HTML: `<` and `&` are escaped)."""
    text = message.replace("&", "&amp;").replace("<", "&lt;")
    return gr.Error(text, title="Not computed", print_exception=False)


def parse_arguments(text: str, names: Sequence[str], example: dict) -> dict:
    """The JSON object `text`, checked for `compute()`'s argument `names` (`example`: a
    valid object, shown when `text` is none)."""
    try:
        arguments = json.loads(text)
    except json.JSONDecodeError as error:
        raise refused(f"The arguments are not valid JSON: {error}") from None
    if not isinstance(arguments, dict):
        raise refused(
            "The arguments must be a JSON object naming compute()'s arguments, "
            f"e.g. {json.dumps(example, ensure_ascii=False)}"
        )
    unknown = [name for name in arguments if name not in names]
    if unknown:
        raise refused(f"Unknown argument {unknown[0]!r}: compute() takes {', '.join(names)}")
    missing = [name for name in REQUIRED if name not in arguments]
    if missing:
        raise refused(f"Missing argument {missing[0]!r}: {' and '.join(REQUIRED)} are required")
    return arguments


def metric_card(folder: Path) -> str:
    """`folder`'s README.md without its YAML front matter (empty if it has no card)."""
    path = folder / "README.md"
    if not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8")
    if text.startswith("---"):  # the front matter ends at the next line starting "---"
        text = text.split("\n---", 1)[-1].partition("\n")[2]
    return text


def build_page(
    module: evaluate.EvaluationModule,
    folder: Path,
    title: str,
    names: Sequence[str],
    examples: Sequence[dict],
) -> gr.Blocks:
    """The page of `module` (the metric of `folder`): a JSON box of `compute()`'s argument
    `names`, prefilled with `examples[0]`, the result as JSON (endpoint `compute`), the
    examples, and the metric card."""

    def compute(text: str) -> dict:
        """`module.compute(**arguments)` for the JSON object `text`."""
        arguments = parse_arguments(text, names, examples[-1])
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = module.compute(**arguments)
        except (TypeError, ValueError) as error:  # an argument the metric refuses
            raise refused(str(error)) from None
        except Exception as error:  # the page stays usable whatever the metric raises
            raise refused(f"The metric failed: {type(error).__name__}: {error}") from None
        for warning in caught:  # e.g. lists shorter than k: shown beside the result
            gr.Warning(str(warning.message), duration=None, title="Warning")
        return result

    options = [f"`{name}`" for name in names if name not in REQUIRED]
    with gr.Blocks(title=title) as page:
        gr.Markdown(
            f"# {title}\n{module.info.description}\nEdit the JSON arguments of `compute()` "
            f"(`predictions`, `references`, optional {', '.join(options[:-1])} and "
            f"{options[-1]}, as in the metric card below) and press **Compute**."
        )
        with gr.Row():
            arguments = gr.Textbox(
                value=as_json(examples[0]),
                lines=8,
                max_lines=40,
                label="Arguments of compute() (JSON)",
                elem_id="arguments",
            )
            result = gr.JSON(label="Result", elem_id="result")
        button = gr.Button("Compute", variant="primary", elem_id="compute-button")
        gr.Examples([[as_json(example)] for example in examples], [arguments], label="Examples")
        gr.Markdown(metric_card(folder), latex_delimiters=[])
        button.click(compute, [arguments], [result], api_name="compute")
    return page
