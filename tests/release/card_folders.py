"""Release folders for model-card tests: only the JSON the card reads (no weights)."""

from __future__ import annotations

import json
from pathlib import Path

#: The `config.json` of a card test's folder: what the card reads of a model.
CONFIG = {"model_type": "prixlm", "object_attention": "causal", "hidden_size": 8}


def card_folder(path: Path, **files: dict) -> Path:
    """A release folder with `config.json` and the given JSON files (`train_results=...`)."""
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps(CONFIG), encoding="utf-8")
    for name, content in files.items():
        (path / f"{name}.json").write_text(json.dumps(content), encoding="utf-8")
    return path
