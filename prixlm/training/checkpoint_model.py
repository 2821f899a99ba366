"""Whether the model built to resume a checkpoint is the checkpoint's model.

A resumed run builds its model from this run's options, then loads the checkpoint's weights
into it. Where an option that shapes the model differs from what the checkpoint's run used,
the load fails deep in the Trainer (`size mismatch for roberta.embeddings...`) or, for the
attention pattern, goes on with another model. The run's record (`prixlm_run.json`) names
most of these options; a checkpoint written before the record existed, or before an
option did (a vocabulary not padded, `--vocab_padding_multiple` since), is compared here
by its `config.json`: `model_differences`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: The config fields that a resumed model must share with its checkpoint's (its weights'
#: shapes, its attention), each with the option of `train.py` that sets it.
MODEL_OPTIONS = {
    "vocab_padding_multiple": "vocab_padding_multiple",
    "object_attention": "object_attention",
    "hidden_size": "hidden_size",
    "num_hidden_layers": "num_hidden_layers",
    "num_attention_heads": "num_attention_heads",
    "intermediate_size": "intermediate_size",
    "max_position_embeddings": "max_fact_length",
}
#: What a `config.json` saved without a field meant (`PrixLMConfig`'s defaults: a config
#: written before `vocab_padding_multiple` existed has no padded rows).
SAVED_DEFAULTS = {"vocab_padding_multiple": 1, "object_attention": "prefix_bidirectional"}


def model_differences(
    checkpoint: str | Path, config: Any, recorded: Mapping[str, Any] | None = None
) -> list[str]:
    """The fields of `MODEL_OPTIONS` in which `config` (the model built to resume) differs
    from `checkpoint`'s `config.json`, each worded as the option to change; an option that
    the run's record holds (`recorded`, compared as an argument) is left out. [] without a
    readable `config.json`."""
    path = Path(checkpoint) / "config.json"
    try:
        saved = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return []
    differences = []
    for field, option in MODEL_OPTIONS.items():
        if option in (recorded or {}):
            continue
        old, new = saved.get(field, SAVED_DEFAULTS.get(field)), getattr(config, field, None)
        if old is None or new is None or old == new:
            continue
        where = f"{old}, in {path}" if field in saved else f"{old}; {path} predates the field"
        if field == option:
            differences.append(f"--{option} {new} (the checkpoint's model: {where})")
        else:
            differences.append(
                f"the model's {field} {new}, set by --{option} (the checkpoint's model: {where})"
            )
    return differences


__all__ = ["MODEL_OPTIONS", "SAVED_DEFAULTS", "model_differences"]
