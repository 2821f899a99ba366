"""What a release folder's earlier model card gives a new rendering of it (`card_options`).

A card rendered again (`python -m prixlm.release.model_card FOLDER`, `python -m
prixlm.publish`) keeps what only the earlier card says: its title, base model, widget and
Hub dataset. An earlier version's card listed a local dataset folder under `datasets:` by
the folder's name (`datasets: [dataset]`), as if it were a Hub id; such a name, where the
release's own records (`train_results.json`, the kept `evaluation_results.json`) name a
local folder of that name, is no Hub dataset and is not kept (`recorded_folder_names`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard

from prixlm.release.card_results import is_hub_id, report_folder
from prixlm.release.report_checks import EVALUATIONS_FILE


def _json_or_none(path: Path) -> Any:
    """The JSON in `path`; None where there is none, or it cannot be read (the rendering
    itself then names the file and its error)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def recorded_folder_names(folder: str | Path) -> set[str]:
    """The names (last parts) of the local dataset folders the release's records name:
    the training's checkpoint evaluations (`train_results.json`) and the reports kept in
    the folder (`evaluation_results.json`); a Hub dataset of the records is none of them."""
    folder = Path(folder)
    train_results = _json_or_none(folder / "train_results.json")
    kept = _json_or_none(folder / EVALUATIONS_FILE)
    records = list(kept) if isinstance(kept, list) else []
    if isinstance(train_results, dict):
        records.append(train_results.get("checkpoint_link_prediction_settings"))
    found = (report_folder(r) for r in records if isinstance(r, dict))
    return {Path(path).name for path in found if path}


def card_options(folder: str | Path) -> dict[str, Any]:
    """What the folder's own Prix-LM card says that its files do not (title, base model,
    widget, Hub dataset): the defaults of a new rendering. {} without such a card. Not the
    languages: the card's `language:` holds ISO codes, the folder's files the edition codes.
    Not a `datasets:` entry that is the name of a local dataset folder the release's records
    name (an earlier version's card listed one so): the data is that folder, not on the Hub.
    """
    path = Path(folder) / "README.md"
    if not path.is_file():
        return {}
    data = ModelCard.load(path).data
    if "prix-lm" not in (data.tags or []):
        return {}
    local = recorded_folder_names(folder)
    datasets = [d for d in data.datasets or [] if is_hub_id(d) and d not in local]
    found = {
        "model_name": data.model_name,
        "base_model": data.base_model,
        "widget": getattr(data, "widget", None),  # an earlier version's card has none
        "dataset_id": datasets[0] if datasets else None,
    }
    return {key: value for key, value in found.items() if value}


__all__ = ["card_options", "recorded_folder_names"]
