"""Where training starts (`train.py`'s checks): the attention masks a model is trained
with, a `--base_model` that is an XLM-R checkpoint, not a Prix-LM release, and the options
that only one starting point (a model from scratch, a base model) takes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from transformers import HfArgumentParser

from modeling_prixlm.configuration_prixlm import OBJECT_ATTENTION_MODES
from prixlm.training.option_checks import option_given

#: The masks a model is trained with; `bidirectional` is for inference only.
TRAINING_OBJECT_ATTENTION = tuple(m for m in OBJECT_ATTENTION_MODES if m != "bidirectional")


def object_attention_refusal(mode: str) -> str:
    """Why `--object_attention mode` is not trained with (one line)."""
    if mode == "bidirectional":
        return (
            "--object_attention bidirectional: not for training (every object token would "
            "attend to itself and the tokens after it: the model learns to copy the answer "
            "and cannot generate it); it is an inference mode for the converted official "
            "checkpoint; train with prefix_bidirectional (the paper's) or causal"
        )
    return f"--object_attention {mode}: expected one of {', '.join(TRAINING_OBJECT_ATTENTION)}"


def check_base_model(model: Any, parser: HfArgumentParser) -> None:
    """A usage error (`model`: train.py's `ModelArguments`) for a `--base_model` folder that
    is a Prix-LM release (a converted official checkpoint, a release of train.py), not an
    XLM-R checkpoint: its config's attention
    (`bidirectional` for the official `decode.py`) is never the mask trained with, and
    loading its tokenizer would ask at the terminal whether to run its custom code."""
    config = Path(model.base_model or "") / "config.json"
    if not model.base_model or not config.is_file():
        return  # a Hub id or an unreadable folder: from_xlm_roberta names the problem
    try:
        values = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(values, dict) or values.get("model_type") != "prixlm":
        return
    mode = values.get("object_attention", "prefix_bidirectional")
    parser.error(
        f"--base_model {model.base_model}: a Prix-LM release (object_attention {mode!r} in its "
        "config), not an XLM-R checkpoint: training continues XLM-R (or the official release "
        "as published, XLMRobertaForCausalLM) with --object_attention's mask "
        f"({' or '.join(TRAINING_OBJECT_ATTENTION)}), never a release's"
    )


#: Options of a model from scratch: a `--base_model` brings its own architecture and tokenizer.
SCRATCH_ONLY_OPTIONS = (
    "tokenizer_dir",
    "tokenizer_vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
)


def check_starting_point_options(model: Any, parser: HfArgumentParser, argv: Sequence[str]) -> None:
    """A usage error for an option given in `argv` that the run's starting point ignores: an
    option of a model from scratch (`SCRATCH_ONLY_OPTIONS`) with `--base_model` (the run
    trained XLM-R's own size with XLM-R's tokenizer), or `--new_token_init` without it (a
    model from scratch starts every row at random)."""
    if model.base_model:
        given = [f"--{name}" for name in SCRATCH_ONLY_OPTIONS if option_given(name, argv)]
        if given:
            parser.error(
                f"{', '.join(given)}: not with --base_model {model.base_model} (it brings its "
                "own architecture and tokenizer); leave them out, or leave out --base_model "
                "to train a model from scratch"
            )
    elif option_given("new_token_init", argv):
        parser.error(
            "--new_token_init: only with --base_model (a model from scratch starts every "
            "row at random)"
        )


__all__ = [
    "SCRATCH_ONLY_OPTIONS",
    "TRAINING_OBJECT_ATTENTION",
    "check_base_model",
    "check_starting_point_options",
    "object_attention_refusal",
]
