"""Options that change what other options do: a warm-up as long as an epoch-based run, the
seed of `batch_rebalance`, the batch and speed a run records when an epoch is shorter than
one update or `--auto_find_batch_size` lowered the batch, and batches that
`--dataloader_drop_last` would all drop. Each run is a tiny one through `train.py`'s path."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from test_train_runs import _args

from prixlm.cli import UsageError
from prixlm.training import collator as collator_module
from prixlm.training.arguments import parse_training_arguments
from prixlm.training.pretrain import pretrain

#: The tiny KB's training facts (`tests/training/conftest.py`: triples and links).
FACTS = 32
WARM_UP_SHORT = (
    " (the first update has learning rate 0 and the run never reaches --learning_rate); "
    "lower --warmup_steps (0: none), raise --num_train_epochs, or lower "
    "--per_device_train_batch_size or --gradient_accumulation_steps (more updates per epoch)"
)


def _main_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """The last stderr line of `train.py argv`, after checking exit status 2 and no traceback."""
    import train

    with pytest.raises(SystemExit) as exit_info:
        train.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


def _results(output: Path) -> tuple[dict, dict, str]:
    release = output / "model"
    return (
        json.loads((release / "train_results.json").read_text()),
        json.loads((release / "training_args.json").read_text()),
        (release / "README.md").read_text(),
    )


@pytest.mark.parametrize(
    ("options", "overrides", "message"),
    [
        (  # 32 facts in one batch of 32: one update, the default 6% warm-up
            ["--num_train_epochs", "1"],
            {"per_device_train_batch_size": "32", "warmup_steps": "0.06"},
            "--warmup_steps 0.06: a warm-up of 1 step(s) covers all 1 update(s) of "
            "--num_train_epochs 1",
        ),
        (  # 2 epochs of 4 batches of 8: 8 updates
            ["--num_train_epochs", "2"],
            {"warmup_steps": "10"},
            "--warmup_steps 10: a warm-up of 10 step(s) covers all 8 update(s) of "
            "--num_train_epochs 2",
        ),
    ],
)
def test_an_epoch_run_whose_warm_up_covers_every_update_is_refused_before_any_step(
    tiny_dataset_dir, tmp_path, capsys, options, overrides, message
):
    """With --max_steps this was refused; with --num_train_epochs the run exited 0 and its
    release was the initial weights (one update at learning rate 0), or never reached
    --learning_rate."""
    output = tmp_path / "run"
    line = _main_error(capsys, _args(tiny_dataset_dir, output, *options, **overrides))
    assert line == f"error: {message}{WARM_UP_SHORT}"
    assert not (output / "model").exists()
    assert not list(output.glob("checkpoint-*"))


def test_an_epoch_run_with_a_shorter_warm_up_trains(tiny_dataset_dir, tmp_path):
    """One epoch of 4 updates with a 6% warm-up (1 step) is not refused."""
    output = tmp_path / "run"
    argv = _args(tiny_dataset_dir, output, "--num_train_epochs", "1", warmup_steps="0.06")
    pretrain(parse_training_arguments(argv))
    results, _, _ = _results(output)
    assert results["epoch"] == 1.0 and results["global_batch"] == 8


@pytest.fixture
def collated(monkeypatch) -> list[list[tuple[int, ...]]]:
    """The facts (input ids) of every batch the training collator builds, in order."""
    batches: list[list[tuple[int, ...]]] = []
    original = collator_module.PrixLMCollator.__call__

    def recorded(self, features):
        batches.append([tuple(feature["input_ids"]) for feature in features])
        return original(self, features)

    monkeypatch.setattr(collator_module.PrixLMCollator, "__call__", recorded)
    return batches


def test_batch_rebalance_orders_the_facts_by_the_data_seed(tiny_dataset_dir, tmp_path, collated):
    """transformers builds `BatchRebalanceSampler` with its fixed seed 42: --data_seed 1,
    --data_seed 2 and --seed 1 trained one order."""
    orders = {}
    for name, options in {
        "data_seed 1": ["--data_seed", "1"],
        "data_seed 2": ["--data_seed", "2"],
        "seed 1": [],  # no --data_seed: --seed orders the data
    }.items():
        seed = "1" if name == "seed 1" else "7"
        argv = _args(tiny_dataset_dir, tmp_path / name.replace(" ", "_"), "--max_steps", "4",
                     "--train_sampling_strategy", "batch_rebalance", *options, seed=seed)  # fmt: skip
        collated.clear()
        pretrain(parse_training_arguments(argv))
        orders[name] = [sorted(batch) for batch in collated[:4]]  # one epoch: 4 batches of 8
        assert len({fact for batch in orders[name] for fact in batch}) == FACTS
    assert orders["data_seed 1"] != orders["data_seed 2"]
    assert orders["seed 1"] == orders["data_seed 1"]


def test_an_epoch_shorter_than_one_update_records_the_facts_it_trained(tiny_dataset_dir, tmp_path):
    """32 accumulation steps over 4 batches of 8: each update is the epoch's 32 facts. The
    records said 256 facts per update and 8 times the speed."""
    output = tmp_path / "run"
    argv = _args(tiny_dataset_dir, output, "--num_train_epochs", "2",
                 gradient_accumulation_steps="32", warmup_steps="0")  # fmt: skip
    pretrain(parse_training_arguments(argv))
    results, training_args, card = _results(output)
    assert [p.name for p in output.glob("checkpoint-*")] == ["checkpoint-2"]  # 2 updates
    assert results["global_batch"] == FACTS
    assert training_args["gradient_accumulation_steps"] == 32
    facts = results["train_samples_per_second"] * results["train_runtime"]
    assert facts == pytest.approx(2 * FACTS, rel=0.02)
    assert (
        "| global batch (an epoch's facts per update: fewer than devices × per device × "
        f"accumulation) | {FACTS} |" in card
    )


def test_a_batch_lowered_by_auto_find_batch_size_is_the_batch_recorded(
    tiny_dataset_dir, tmp_path, monkeypatch
):
    """After an out-of-memory error (simulated for batches above 4 facts) the run trains
    batches of 4; training_args.json, the card and the global batch said 8, and the speed
    was twice the facts trained."""
    original = collator_module.PrixLMCollator.__call__

    def out_of_memory_above_4(self, features):
        if len(features) > 4:
            raise RuntimeError("CUDA out of memory. (simulated: more than 4 facts)")
        return original(self, features)

    monkeypatch.setattr(collator_module.PrixLMCollator, "__call__", out_of_memory_above_4)
    output = tmp_path / "run"
    argv = _args(tiny_dataset_dir, output, "--max_steps", "4", "--auto_find_batch_size", "true")
    pretrain(parse_training_arguments(argv))
    results, training_args, card = _results(output)
    assert training_args["per_device_train_batch_size"] == 4
    assert results["global_batch"] == 4
    facts = results["train_samples_per_second"] * results["train_runtime"]
    assert facts == pytest.approx(4 * 4, rel=0.02)
    assert "| per_device_train_batch_size | 4 |" in card
    assert "| global batch (devices × per device × accumulation) | 4 |" in card


def test_static_shapes_with_auto_find_batch_size_is_refused(tiny_dataset_dir, tmp_path, capsys):
    """The shape was sized for the batch asked: a batch lowered after an out-of-memory error
    was padded to it, and took as much memory."""
    argv = _args(tiny_dataset_dir, tmp_path / "run", "--max_steps", "4", "--static_shapes",
                 "true", "--auto_find_batch_size", "true")  # fmt: skip
    assert _main_error(capsys, argv) == (
        "error: --static_shapes with --auto_find_batch_size: not supported (a lower batch "
        "keeps the one padded shape, and its memory); choose --per_device_train_batch_size"
    )


@pytest.mark.parametrize("length", [["--num_train_epochs", "1"], ["--max_steps", "4"]])
def test_drop_last_with_fewer_facts_than_a_batch_is_refused(
    tiny_dataset_dir, tmp_path, capsys, length
):
    """With epochs: a transformers traceback (`args.max_steps must be set to a positive
    value`); with --max_steps: a stop at step 0 that advised a resume."""
    output = tmp_path / "run"
    argv = _args(tiny_dataset_dir, output, *length, "--dataloader_drop_last", "true",
                 per_device_train_batch_size="64")  # fmt: skip
    assert _main_error(capsys, argv) == (
        f"error: --dataloader_drop_last true: the {FACTS} training facts fill no batch of "
        "--per_device_train_batch_size 64 = 64 facts, and every incomplete batch is dropped "
        "(nothing would train); lower --per_device_train_batch_size or leave "
        "--dataloader_drop_last out"
    )
    assert not (output / "model").exists()


def _batch_options(world: int = 1, strategy: str = "random", drop_last: bool = True):
    return SimpleNamespace(
        world_size=world, per_device_train_batch_size=8, gradient_accumulation_steps=4,
        dataloader_drop_last=drop_last, train_sampling_strategy=strategy,
        accelerator_config=SimpleNamespace(split_batches=False, even_batches=True),
    )  # fmt: skip


def test_every_dropped_batch_is_counted_with_the_processes_and_the_sampler():
    from prixlm.training.processes import check_batches

    check_batches(_batch_options(), 8)  # one full batch
    check_batches(_batch_options(drop_last=False), 1)
    with pytest.raises(UsageError, match=r"no batch of --per_device_train_batch_size 8 x 2 "
                                         r"processes = 16 facts"):  # fmt: skip
        check_batches(_batch_options(world=2), 15)
    # batch_rebalance drops every incomplete update: per device x accumulation x processes
    with pytest.raises(UsageError, match=r"8 x 4 accumulation steps = 32 facts"):
        check_batches(_batch_options(strategy="batch_rebalance"), 31)
    check_batches(_batch_options(strategy="batch_rebalance"), 32)


@pytest.mark.parametrize(
    ("world", "drop_last", "facts", "expected"),
    [
        (1, False, 32, 32),  # 8 x 4: one update is the whole epoch of 32
        (1, False, 100, 32),
        (1, False, 20, 20),  # an epoch of 20 facts (3 batches): 20 per update
        (1, True, 20, 16),  # the incomplete batch dropped
        (2, False, 20, 32),  # 2 processes x 8: the second step's 12 places filled again
    ],
)
def test_the_recorded_global_batch_is_at_most_an_epoch(world, drop_last, facts, expected):
    from prixlm.training.processes import trained_batches

    records = trained_batches(_batch_options(world=world, drop_last=drop_last), facts, 8)
    assert records["global_batch"] == expected
