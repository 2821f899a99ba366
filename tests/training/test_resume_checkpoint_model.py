"""A checkpoint whose model this run's options would not rebuild is refused before its
weights are loaded, naming the option: a checkpoint of an earlier version, written before
`--vocab_padding_multiple` existed (no padded rows; its `config.json` has no field, and its
record, if any, no argument), crashed in the Trainer with `size mismatch for
roberta.embeddings.word_embeddings.weight` (and so did writing its release) under today's
default of 64. Given the checkpoint's value, the run goes on exactly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from test_train_runs import _args, _weights

from prixlm.cli import UsageError
from prixlm.training.arguments import parse_training_arguments
from prixlm.training.pretrain import pretrain

STEPS = ["--max_steps", "4", "--save_steps", "2"]
RESUME = ["--resume_from_checkpoint", "true"]
UNPADDED = ["--vocab_padding_multiple", "1"]


def _train(dataset: Path, output: Path, *extra: str) -> Path:
    return pretrain(parse_training_arguments(_args(dataset, output, *STEPS, *extra)))


@pytest.fixture(scope="module")
def unpadded_run(tiny_dataset_dir, tmp_path_factory) -> Path:
    """An uninterrupted 4-step run without padded vocabulary rows (checkpoints 2 and 4)."""
    output = tmp_path_factory.mktemp("unpadded") / "run"
    _train(tiny_dataset_dir, output, *UNPADDED)
    return output


def _earlier_checkpoint(run: Path, step: int, output: Path, record: bool) -> Path:
    """`output` holding `run`'s checkpoint-`step` alone, as an earlier version wrote it: no
    `vocab_padding_multiple` in its `config.json`, nor in its record (`record`) or no record."""
    checkpoint = output / f"checkpoint-{step}"
    shutil.copytree(run / checkpoint.name, checkpoint)
    config = json.loads((checkpoint / "config.json").read_text("utf-8"))
    assert config.pop("vocab_padding_multiple") == 1
    (checkpoint / "config.json").write_text(json.dumps(config), "utf-8")
    run_file = checkpoint / "prixlm_run.json"
    if record:
        stored = json.loads(run_file.read_text("utf-8"))
        del stored["arguments"]["vocab_padding_multiple"]
        run_file.write_text(json.dumps(stored), "utf-8")
    else:
        run_file.unlink()
    return checkpoint


@pytest.mark.parametrize("step", [2, 4])  # stopped mid-run; finished, its release not written
@pytest.mark.parametrize("record", [True, False])
def test_an_unpadded_earlier_checkpoint_is_refused_naming_the_option(
    step, record, unpadded_run, tiny_dataset_dir, tmp_path
):
    checkpoint = _earlier_checkpoint(unpadded_run, step, tmp_path / "earlier", record)
    with pytest.raises(UsageError) as refused:
        _train(tiny_dataset_dir, tmp_path / "earlier", *RESUME)  # the default: 64
    assert str(refused.value) == (
        f"--resume_from_checkpoint {checkpoint}: this run differs from the checkpoint's in "
        f"--vocab_padding_multiple 64 (the checkpoint's model: 1; {checkpoint / 'config.json'} "
        "predates the field); resume with the checkpoint's settings and data, or start a new "
        "run in another --output_dir"
    )
    assert not (tmp_path / "earlier" / "model").exists()
    _train(tiny_dataset_dir, tmp_path / "earlier", *RESUME, *UNPADDED)
    first, second = _weights(tmp_path / "earlier"), _weights(unpadded_run)
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_a_checkpoint_of_other_attention_without_a_record_is_refused(
    unpadded_run, tiny_dataset_dir, tmp_path
):
    """No record, `object_attention` causal in its `config.json`: this run's default
    (`prefix_bidirectional`) would have trained the causal model's weights on."""
    checkpoint = _earlier_checkpoint(unpadded_run, 2, tmp_path / "earlier", record=False)
    config = json.loads((checkpoint / "config.json").read_text("utf-8"))
    config["object_attention"] = "causal"
    (checkpoint / "config.json").write_text(json.dumps(config), "utf-8")
    with pytest.raises(UsageError, match=r"--object_attention prefix_bidirectional \(the "):
        _train(tiny_dataset_dir, tmp_path / "earlier", *RESUME, *UNPADDED)


def test_an_option_its_record_names_is_one_difference(unpadded_run, tiny_dataset_dir, tmp_path):
    """A checkpoint whose record names the option: refused by the record alone, the option
    named once (not again from its `config.json`)."""
    checkpoint = tmp_path / "recorded" / "checkpoint-2"
    shutil.copytree(unpadded_run / checkpoint.name, checkpoint)
    with pytest.raises(UsageError) as refused:
        _train(tiny_dataset_dir, tmp_path / "recorded", *RESUME)
    assert str(refused.value) == (
        f"--resume_from_checkpoint {checkpoint}: this run differs from the checkpoint's in "
        "--vocab_padding_multiple 64 (the checkpoint's: 1); resume with the checkpoint's "
        "settings and data, or start a new run in another --output_dir"
    )
