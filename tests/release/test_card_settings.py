"""The card's table of training settings names the optimizer and leaves out the settings
that the run's optimizer or schedule never read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prixlm.release.card_results import hyperparameters
from prixlm.release.model_card import render_model_card

#: training_args.json of a run with the paper's optimizer and schedule (transformers 5's
#: default optimizer: fused AdamW).
PAPER = {"learning_rate": 5e-5, "warmup_steps": 0.06, "lr_scheduler_type": "linear",
         "optim": "adamw_torch_fused", "adam_beta1": 0.9, "adam_beta2": 0.98,
         "adam_epsilon": 1e-8, "weight_decay": 0.0, "seed": 0}  # fmt: skip
ADAM = {"adam_beta1": 0.9, "adam_beta2": 0.98, "adam_epsilon": 1e-8}


def _table(training_args: dict, tmp_path: Path) -> dict[str, str]:
    """The hyper-parameter table of the card rendered for a folder with `training_args`."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "prixlm"}), encoding="utf-8")
    (folder / "training_args.json").write_text(json.dumps(training_args), encoding="utf-8")
    text = render_model_card(folder).text
    table = text[text.index("| hyper-parameter | value |") :].split("\n\n")[0].splitlines()[2:]
    return {line.split(" | ")[0][2:]: line.split(" | ")[1].removesuffix(" |") for line in table}


def test_the_paper_optimizer_and_schedule_show_every_setting(tmp_path):
    rows = _table(PAPER, tmp_path)
    assert rows["optim"] == "adamw_torch_fused"
    assert {name: rows[name] for name in ADAM} == {
        "adam_beta1": "0.9",
        "adam_beta2": "0.98",
        "adam_epsilon": "1e-08",
    }
    assert rows["warmup_steps"] == "6% of steps" and rows["lr_scheduler_type"] == "linear"


def test_an_optimizer_outside_the_adam_family_shows_no_adam_settings(tmp_path):
    """`--optim sgd`: the card showed Adam's betas and epsilon, and never the optimizer."""
    rows = _table({**PAPER, "optim": "sgd"}, tmp_path)
    assert rows["optim"] == "sgd"
    assert not set(ADAM) & set(rows)


@pytest.mark.parametrize(
    ("optim", "adam"),
    [("adamw_torch", True), ("paged_adamw_8bit", True), ("schedule_free_radam", True),
     ("adafactor", False), ("adagrad", False), ("lion_32bit", False), (None, True)],
)  # fmt: skip
def test_the_adam_rows_follow_the_optimizer(optim, adam):
    """None: a record without `optim` shows them, as before."""
    args = {**PAPER, "optim": optim}
    rows = dict(hyperparameters(args, {}, {}))
    assert set(ADAM) & set(rows) == (set(ADAM) if adam else set())
    assert rows.get("optim") == optim


def test_a_schedule_without_warm_up_shows_none(tmp_path):
    """`--lr_scheduler_type constant` with the default 6% warm-up: the learning rate is the
    peak from step 1, and the card said `warmup_steps | 6% of steps`."""
    rows = _table({**PAPER, "lr_scheduler_type": "constant"}, tmp_path)
    assert rows["lr_scheduler_type"] == "constant" and "warmup_steps" not in rows
    kept = dict(hyperparameters({**PAPER, "lr_scheduler_type": "constant_with_warmup"}, {}, {}))
    assert kept["warmup_steps"] == "6% of steps"
