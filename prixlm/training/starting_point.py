"""Where training starts (`train.py`'s checks): the attention masks a model is trained
with, a `--base_model` that is a Prix-LM release (trained with its own mask by default),
and the options that only one starting point (a model from scratch, a base model) takes."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from transformers import HfArgumentParser

from modeling_prixlm.configuration_prixlm import OBJECT_ATTENTION_MODES
from prixlm.training.option_checks import option_given

#: The end of `train.py --help`: how to continue training a release.
CONTINUE_RELEASE_HELP = (
    "Continue training a release: python train.py --base_model RELEASE_FOLDER_OR_HUB_ID "
    "--dataset my-kb/ --languages de,en,sw --output_dir runs/prixlm-more. Its tokens keep "
    "their ids and rows, the languages it lacks get new tokens (--new_token_init), it trains "
    "with its own object_attention unless --object_attention is given, and the new release's "
    "train_results.json and model card name the release it continued."
)
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


def release_config(base_model: str | None) -> dict[str, Any] | None:
    """The `config.json` of `base_model` (a folder, or a Hub id: its cached or downloaded
    copy) read as plain JSON (none of its code run) where it is a Prix-LM release
    (`model_type: prixlm`), else None (XLM-R, no model, or a config that cannot be read:
    loading it then names the problem)."""
    if not base_model:
        return None
    path = Path(base_model) / "config.json"
    if not Path(base_model).is_dir():
        from transformers.utils import cached_file

        try:  # the Hub's copy, from the cache when offline (HF_HUB_OFFLINE=1)
            path = Path(cached_file(base_model, "config.json") or "")
        except (OSError, ValueError):  # not a repo id, no such file, not cached offline
            return None
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return values if isinstance(values, dict) and values.get("model_type") == "prixlm" else None


def check_base_model(model: Any, parser: HfArgumentParser, argv: Sequence[str] = ()) -> None:
    """A `--base_model` that is a Prix-LM release (`model`: train.py's `ModelArguments`)
    trains with the release's own mask unless `--object_attention` is given in `argv`; a
    release whose config says `bidirectional` (the converted official checkpoint, as the
    official `decode.py` ran it: never a mask trained with) is a usage error without
    `--object_attention`, saying what to pass."""
    values = release_config(model.base_model)
    if values is None or option_given("object_attention", argv):
        return
    mode = values.get("object_attention", "prefix_bidirectional")
    if mode not in TRAINING_OBJECT_ATTENTION:
        parser.error(
            f"--base_model {model.base_model}: a Prix-LM release whose config says "
            f"object_attention {mode!r}, an inference mode (the official decode.py's), not a "
            "mask to train with: pass --object_attention prefix_bidirectional (the paper's) "
            "or causal to continue it with that mask"
        )
    model.object_attention = mode


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
    trained XLM-R's own size with XLM-R's tokenizer), `--new_token_init` without it (a
    model from scratch starts every row at random); a warning for `--tokenizer_vocab_size`
    with `--tokenizer_dir` (no tokenizer is trained: the size is ignored)."""
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
    elif model.tokenizer_dir and option_given("tokenizer_vocab_size", argv):
        print(  # a recipe's size (the demo's) with a tokenizer of its own: warned, not refused
            f"warning: --tokenizer_vocab_size: no effect with --tokenizer_dir "
            f"{model.tokenizer_dir} (its tokenizer keeps its own vocabulary; no tokenizer is "
            "trained)",
            file=sys.stderr,
        )


__all__ = [
    "CONTINUE_RELEASE_HELP",
    "SCRATCH_ONLY_OPTIONS",
    "TRAINING_OBJECT_ATTENTION",
    "check_base_model",
    "check_starting_point_options",
    "object_attention_refusal",
    "release_config",
]
