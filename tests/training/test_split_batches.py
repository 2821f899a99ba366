"""accelerate's `split_batches` (processes share each batch): the start note, the measured
speed and the model card give the batch it trains, and a resume that changes it, or the
number of processes, is refused in words the user can act on."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from test_train_runs import _args, _run

from prixlm.cli import UsageError
from prixlm.release.card_results import hyperparameters
from prixlm.training.arguments import PrixLMTrainingArguments, parse_training_arguments
from prixlm.training.processes import global_batch, process_notes, recorded_global_batch
from prixlm.training.progress import measured_speed
from prixlm.training.resume import check_same_run, run_record, write_run_record

TORCHRUN = Path(sys.executable).parent / "torchrun"
SPLIT = '{"split_batches": true}'


def _training(world: int, split: bool, per_device: int = 8, accumulation: int = 1):
    return SimpleNamespace(
        world_size=world,
        process_index=0,
        per_device_train_batch_size=per_device,
        gradient_accumulation_steps=accumulation,
        dataloader_drop_last=False,
        accelerator_config=SimpleNamespace(split_batches=split, even_batches=True),
    )


def test_the_global_batch_leaves_out_the_processes_that_share_each_batch():
    assert global_batch(_training(2, split=False, accumulation=3)) == 48
    assert global_batch(_training(2, split=True, accumulation=3)) == 24
    assert global_batch(_training(1, split=False)) == 8
    # training_args.json's form: a dict; a release trained before the batch was recorded
    shared = {"per_device_train_batch_size": 8, "accelerator_config": {"split_batches": True}}
    assert recorded_global_batch(shared, {"world_size": 2}) == (8, True)
    own = {"per_device_train_batch_size": 8}  # no accelerator_config: each its own batch
    assert recorded_global_batch(own, {"world_size": 2}) == (16, False)
    assert recorded_global_batch(shared, {"world_size": 2, "global_batch": 8}) == (8, True)


def test_the_start_note_gives_the_batch_trained():
    (note,) = process_notes(_training(2, split=True), 32, 0)
    assert note == (
        "global batch: 2 processes sharing 8 facts (split_batches) x 1 accumulation steps = "
        "8 facts per update"
    )


def test_the_measured_speed_counts_the_facts_trained():
    speed = measured_speed({"train_runtime": 2.0}, 4, 32)  # 2 processes sharing 8 facts
    assert speed["train_samples_per_second"] == 16.0  # 4 steps x 8 facts / 2 s
    assert measured_speed({"train_runtime": 2.0}, 4, 64) == {
        "train_samples_per_second": 32.0,
        "train_steps_per_second": 2.0,
    }
    assert measured_speed({"train_runtime": 0.0}, 4, 64) == {}


def test_the_card_gives_the_batch_trained():
    training_args = {"per_device_train_batch_size": 8, "gradient_accumulation_steps": 1,
                     "accelerator_config": {"split_batches": True, "even_batches": True}}  # fmt: skip
    rows = dict(hyperparameters(training_args, {"world_size": 2}, {}))
    assert rows["global batch (per device × accumulation, split across the devices)"] == 8
    training_args["accelerator_config"]["split_batches"] = False
    rows = dict(hyperparameters(training_args, {"world_size": 2}, {}))
    assert rows["global batch (devices × per device × accumulation)"] == 16


def _record(tmp_path: Path, *options: str, world: int = 1) -> dict:
    run = parse_training_arguments(
        ["--dataset", str(tmp_path / "kb"), "--output_dir", str(tmp_path / "run"), *options]
    )
    object.__setattr__(run.training, "_world", world)
    return run_record(run, tokenizer=None)


@pytest.fixture
def processes(monkeypatch):
    """`world_size` of a parsed run: `_world` (set by `_record`), as under torchrun."""
    monkeypatch.setattr(
        PrixLMTrainingArguments, "world_size", property(lambda self: getattr(self, "_world", 1))
    )


def test_a_resume_that_changes_how_the_processes_batch_is_refused(tmp_path, processes):
    """A checkpoint trained with split_batches resumed without it went on with twice the
    batch and skipped half an epoch, silently."""
    checkpoint = tmp_path / "checkpoint-3"
    checkpoint.mkdir()
    write_run_record(checkpoint, _record(tmp_path, "--accelerator_config", SPLIT, world=2))
    check_same_run(checkpoint, _record(tmp_path, "--accelerator_config", SPLIT, world=2))
    with pytest.raises(UsageError) as raised:
        check_same_run(checkpoint, _record(tmp_path, world=2))
    message = str(raised.value)
    assert (
        '--accelerator_config {"split_batches": false} (the checkpoint\'s: '
        '{"split_batches": true})' in message
    )
    old = _record(tmp_path, world=2)  # recorded before these settings were: resumes
    old["arguments"] = {k: v for k, v in old["arguments"].items() if "accelerator" not in k}
    write_run_record(checkpoint, old)
    check_same_run(checkpoint, _record(tmp_path, "--accelerator_config", SPLIT, world=2))


def test_a_resume_with_another_number_of_processes_says_how_to_launch_it(tmp_path, processes):
    """The refusal named a --world_size option that train.py does not have."""
    checkpoint = tmp_path / "checkpoint-3"
    checkpoint.mkdir()
    write_run_record(checkpoint, _record(tmp_path, world=2))
    with pytest.raises(UsageError) as raised:
        check_same_run(checkpoint, _record(tmp_path, world=1))
    message = str(raised.value)
    assert "--world_size" not in message
    assert (
        "processes: 1 (the checkpoint's: 2): launch it as the checkpoint was, e.g. "
        "torchrun --nproc_per_node 2 train.py ..." in message
    )
    write_run_record(checkpoint, _record(tmp_path, world=1))
    with pytest.raises(UsageError) as raised:
        check_same_run(checkpoint, _record(tmp_path, world=2))
    assert (
        "processes: 2 (the checkpoint's: 1): launch it as the checkpoint was, e.g. "
        "python train.py ..." in str(raised.value)
    )


@pytest.mark.skipif(not TORCHRUN.is_file(), reason="no torchrun")
def test_two_processes_splitting_batches_report_the_batch_they_train(tiny_dataset_dir, tmp_path):
    """2 processes sharing batches of 8 facts: 8 facts per update in the start note, the
    speed and the card (all said 16)."""
    args = _args(tiny_dataset_dir, tmp_path / "run", "--max_steps", "4", "--save_steps", "100",
                 "--use_cpu", "true", "--accelerator_config", SPLIT)  # fmt: skip
    command = [str(TORCHRUN), "--nproc_per_node", "2", "--master_port", "29541", "train.py"]
    two = _run([*command, *args])
    assert two.returncode == 0, two.stderr[-3000:]
    assert "2 processes sharing 8 facts (split_batches) x 1 accumulation steps = 8 facts" in (
        two.stderr
    )
    release = tmp_path / "run" / "model"
    results = json.loads((release / "train_results.json").read_text())
    assert results["global_batch"] == 8
    facts_per_step = results["train_samples_per_second"] * results["train_runtime"] / 4
    assert facts_per_step == pytest.approx(8, rel=0.02)
    card = (release / "README.md").read_text()
    assert "| global batch (per device × accumulation, split across the devices) | 8 |" in card
