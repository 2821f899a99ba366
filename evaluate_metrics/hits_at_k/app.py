"""The Space's widget: `evaluate`'s Gradio app for the metric in this folder."""

from pathlib import Path

import evaluate
from evaluate.utils import launch_gradio_widget

module = evaluate.load(
    str(Path(__file__).resolve().with_name("hits_at_k.py"))
)  # not the folder: a Space's is "app"
launch_gradio_widget(module)
