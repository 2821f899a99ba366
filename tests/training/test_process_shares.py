"""accelerate batch settings that several processes cannot train together are refused before
any step: `even_batches` false with batches the processes cannot share evenly (with
`--num_train_epochs` the run waited forever; with `--max_steps` the processes trained out of
step across epochs, silently), `split_batches` with a batch that is not a multiple of the processes, and
`dispatch_batches` (tracebacks)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from test_train_runs import ROOT, _args

from prixlm.cli import UsageError
from prixlm.training.processes import announce_processes

TORCHRUN = Path(sys.executable).parent / "torchrun"


def _training(world: int, batch: int, **accelerator: bool) -> SimpleNamespace:
    config = {"split_batches": False, "even_batches": True, **accelerator}
    drop_last = config.pop("drop_last", False)
    return SimpleNamespace(
        world_size=world,
        process_index=1,  # prints nothing
        per_device_train_batch_size=batch,
        gradient_accumulation_steps=1,
        dataloader_drop_last=drop_last,
        train_sampling_strategy="random",
        accelerator_config=SimpleNamespace(dispatch_batches=None, **config),
    )


def _batches_per_process(facts: int, world: int, batch: int, **options: bool) -> set[int]:
    """How many batches accelerate's own sharding gives each process in an epoch."""
    from accelerate.data_loader import BatchSamplerShard
    from torch.utils.data import BatchSampler, SequentialSampler

    counts = set()
    for rank in range(world):
        sampler = BatchSampler(SequentialSampler(range(facts)), batch, options["drop_last"])
        shard = BatchSamplerShard(sampler, world, rank, options["split_batches"],
                                  options["even_batches"])  # fmt: skip
        counts.add(sum(1 for _ in shard))
    return counts


@pytest.mark.parametrize(
    ("facts", "world", "batch", "split", "drop_last"),
    [
        (32, 2, 3, False, False),  # 11 batches: 6 and 5
        (32, 2, 4, False, False),  # 8 batches: 4 each
        (30, 2, 4, False, False),  # 8 batches, the last of 2: 4 each
        (33, 3, 4, False, False),  # 9 batches: 3 each
        (34, 3, 4, False, False),  # 9 batches
        (35, 3, 4, False, False),  # 9 batches
        (37, 3, 4, False, False),  # 10 batches: 4, 3, 3
        (5, 2, 4, False, False),  # fewer facts than one global batch: 1 and 1
        (3, 2, 4, False, False),  # one incomplete batch: 1 and 0
        (32, 2, 3, False, True),  # incomplete batches dropped
        (32, 2, 6, True, False),  # the last batch's 2 facts reach only the first process
        (34, 2, 6, True, False),  # its 4 facts reach both
        (32, 2, 8, True, False),
        (32, 3, 6, True, False),  # 2 facts: the first process only
        (34, 3, 6, True, False),  # 4 facts: two of three
        (35, 3, 6, True, False),  # 5 facts: all three
    ],
)
def test_even_batches_false_is_refused_where_the_processes_would_train_other_step_counts(
    facts, world, batch, split, drop_last
):
    """Refused exactly where accelerate gives the processes different numbers of batches (a
    run of 32 facts, 2 processes x 3, waited forever at its first epoch's end)."""
    options = {"split_batches": split, "even_batches": False, "drop_last": drop_last}
    uneven = len(_batches_per_process(facts, world, batch, **options)) > 1
    training = _training(world, batch, **options)
    if uneven:
        with pytest.raises(UsageError) as raised:
            announce_processes(training, facts)
        message = str(raised.value)
        assert message.startswith(
            f'--accelerator_config {{"even_batches": false}}: the {facts} training facts'
        )
        assert "leave even_batches out" in message and "--dataloader_drop_last true" in message
    else:
        assert announce_processes(training, facts) == 0
    # with even_batches every process gets as many batches: never refused
    evened = {**options, "even_batches": True}
    assert len(_batches_per_process(facts, world, batch, **evened)) == 1
    announce_processes(_training(world, batch, **evened), facts)


def test_split_batches_and_dispatch_batches_that_cannot_train_are_refused():
    with pytest.raises(UsageError, match=r"2 processes cannot share batches of "
                                         r"--per_device_train_batch_size 5 facts; choose a "
                                         r"multiple of 2"):  # fmt: skip
        announce_processes(_training(2, 5, split_batches=True), 32)
    announce_processes(_training(2, 6, split_batches=True), 32)
    dispatching = _training(2, 4)
    dispatching.accelerator_config.dispatch_batches = True
    with pytest.raises(UsageError, match="dispatch_batches.*not supported"):
        announce_processes(dispatching, 32)
    single = _training(1, 5, split_batches=True, even_batches=False)
    single.accelerator_config.dispatch_batches = True
    assert announce_processes(single, 32) == 0  # one process: nothing is shared


@pytest.mark.skipif(not TORCHRUN.is_file() or not hasattr(os, "killpg"), reason="torchrun")
def test_two_processes_without_even_batches_stop_with_the_refusal(tiny_dataset_dir, tmp_path):
    """32 facts, 2 processes x 3, even_batches false: the process with 5 batches an epoch
    began its second epoch while the one with 6 trained its last batch (status 0; with
    `--num_train_epochs` the run waited forever in a collective that one process never
    joined); now each process stops before its first step."""
    args = _args(tiny_dataset_dir, tmp_path / "run", "--max_steps", "8", "--use_cpu", "true",
                 "--accelerator_config", '{"even_batches": false}',
                 per_device_train_batch_size="3")  # fmt: skip
    command = [str(TORCHRUN), "--nproc_per_node", "2", "--master_port", "29547", "train.py"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([*command, *args], cwd=ROOT, env=env, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        _, stderr = process.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # torchrun and both processes
        process.communicate()
        pytest.fail("the run did not end: its processes wait for each other")
    assert process.returncode != 0
    assert 'error: --accelerator_config {"even_batches": false}: the 32 training facts make ' in (
        stderr
    )
    assert "11 batches of 3, which 2 processes cannot share evenly" in stderr
    assert not list((tmp_path / "run").glob("checkpoint-*"))
