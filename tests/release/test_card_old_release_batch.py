"""The card of a release whose `train_results.json` recorded the whole product of its batch
settings as `global_batch`, although an epoch held fewer facts: the card shows the facts of
an update as the run trained them (an update never spans two epochs)."""

from __future__ import annotations

import json
from pathlib import Path

from prixlm.release.card_results import hyperparameters
from prixlm.release.model_card import main

EPOCH_ROW = (
    "global batch (an epoch's facts per update: fewer than devices × per device × accumulation)"
)
PRODUCT_ROW = "global batch (devices × per device × accumulation)"
#: training_args.json of the older release: 8 facts per device, 32 accumulation steps.
ARGS = {"per_device_train_batch_size": 8, "gradient_accumulation_steps": 32,
        "num_train_epochs": 1.0, "dataloader_drop_last": False, "learning_rate": 5e-5}  # fmt: skip
#: its train_results.json: 98 facts, yet a global batch of 8 x 32.
OLD_RESULTS = {"global_batch": 256, "train_facts": 98, "train_facts_repeated_per_epoch": 0,
               "world_size": 1, "epoch": 1.0}  # fmt: skip


def _card(folder: Path, training_args: dict, train_results: dict) -> str:
    """The card `python -m prixlm.release.model_card FOLDER` writes for these records."""
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "prixlm"}), encoding="utf-8")
    (folder / "training_args.json").write_text(json.dumps(training_args), encoding="utf-8")
    (folder / "train_results.json").write_text(json.dumps(train_results), encoding="utf-8")
    return main([str(folder)]).read_text(encoding="utf-8")


def test_an_old_release_shows_the_epochs_facts_as_its_global_batch(tmp_path):
    card = _card(tmp_path / "model", ARGS, OLD_RESULTS)
    assert f"| {EPOCH_ROW} | 98 |" in card
    assert "| 256 |" not in card
    assert "| train_facts | 98 |" in card


def test_the_facts_repeated_to_even_out_processes_count_in_the_epoch():
    results = {**OLD_RESULTS, "world_size": 4, "train_facts_repeated_per_epoch": 2}
    assert dict(hyperparameters(ARGS, results, {}))[EPOCH_ROW] == 100


def test_dropped_incomplete_batches_leave_the_whole_batches():
    """`--dataloader_drop_last`: 98 facts in batches of 8 train 96 per epoch."""
    args = {**ARGS, "dataloader_drop_last": True}
    assert dict(hyperparameters(args, OLD_RESULTS, {}))[EPOCH_ROW] == 96


def test_a_release_whose_epoch_holds_a_full_update_keeps_the_product(tmp_path):
    args = {**ARGS, "gradient_accumulation_steps": 4}
    results = {**OLD_RESULTS, "global_batch": 32}
    card = _card(tmp_path / "model", args, results)
    assert f"| {PRODUCT_ROW} | 32 |" in card
    assert dict(hyperparameters(args, {"train_facts": 98}, {}))[PRODUCT_ROW] == 32


def test_a_release_without_train_facts_shows_the_recorded_batch():
    assert dict(hyperparameters(ARGS, {"global_batch": 256}, {}))[PRODUCT_ROW] == 256
