"""SIGTERM in a training: sent to train.py's whole process group (`kill -- -PGID`,
`timeout`, a scheduler) with DataLoader workers, it ended the run in a traceback before
`--enable_jit_checkpoint` saved; in a dataset `filter` it left the partial indices file in
the datasets cache."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import datasets
import pytest
from cache_faults import sigterm_at_first_temp_write
from test_train_runs import ROOT, _args

from prixlm.cli import user_errors


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (/proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not hasattr(signal, "sigwaitinfo"), reason="Linux: sigwaitinfo, /proc")
def test_a_sigterm_to_the_process_group_still_saves_the_jit_checkpoint(tiny_dataset_dir, tmp_path):
    """The workers got the SIGTERM too and died of it (torch's worker handler), and the run
    ended at its next batch in `RuntimeError: DataLoader worker ... exited unexpectedly`,
    no checkpoint written. Now they leave it to train.py: the checkpoint, one error line."""
    run = tmp_path / "run"
    argv = _args(tiny_dataset_dir, run, "--max_steps", "100000", "--save_steps", "50000",
                 "--enable_jit_checkpoint", "true", "--dataloader_num_workers", "2",
                 "--dataloader_persistent_workers", "true")  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "train.py", *argv],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a job's
    )
    try:
        for line in process.stdout:  # a step trained: the workers have served a batch
            if "'loss'" in line:
                break
        assert len(_children(process.pid)) >= 2, process.stderr.read()[-3000:]  # both workers
        os.killpg(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert "Traceback" not in stderr, stderr[-3000:]
    assert process.returncode == 2, stderr[-3000:]
    last = stderr.strip().splitlines()[-1]
    found = re.fullmatch(
        rf"error: --output_dir {re.escape(str(run))}: training stopped at step (\d+) of 100000 "
        r"\(a signal or a callback ended it\), no release folder written; resume with "
        r"--resume_from_checkpoint true",
        last,
    )
    assert found, last
    assert [p.name for p in run.glob("checkpoint-*")] == [f"checkpoint-{found.group(1)}"]


def _training_links(dataset: Path) -> Any:
    from prixlm.training.data import training_links

    return training_links(dataset, ["en", "de"])


def _kb_label_texts(dataset: Path) -> Any:
    from prixlm.similarity.plain_mlm import kb_label_texts

    return kb_label_texts(dataset, ["en", "de"])


@pytest.mark.parametrize("filtering", [_training_links, _kb_label_texts])
def test_a_sigterm_in_a_filter_leaves_no_partial_file(
    tiny_dataset_dir, tmp_path, monkeypatch, capsys, filtering
):
    """`Dataset.filter` writes its indices as a map does, in a `tmp*` file of the datasets
    cache that `datasets` removes on Ctrl-C only: a SIGTERM left it there (the links'
    filter in train.py, and the plain MLM's labels)."""
    cache = tmp_path / "cache"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    written = sigterm_at_first_temp_write(monkeypatch)
    with pytest.raises(SystemExit) as stopped, user_errors():
        filtering(tiny_dataset_dir)
    assert stopped.value.code == 143 and len(written) == 1
    assert capsys.readouterr().err.splitlines()[-1] == "terminated"
    assert [p for p in cache.rglob("tmp*") if p.is_file()] == []


#: Set while a test's loader starts its workers: each sends itself a SIGTERM as it is forked,
#: a SIGTERM from a process other than its parent arriving as the worker starts
_SIGTERM_AT_WORKER_START: list[bool] = []


def _sigterm_at_worker_start() -> None:
    if _SIGTERM_AT_WORKER_START:
        _SIGTERM_AT_WORKER_START.clear()
        os.kill(os.getpid(), signal.SIGTERM)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_sigterm_at_worker_start)


@pytest.mark.skipif(not hasattr(signal, "sigwaitinfo"), reason="Linux: sigwaitinfo, fork")
def test_the_resumed_epoch_s_workers_are_born_leaving_sigterm_to_the_parent():
    """A resume's first epoch trains from `get_resumed_dataloader` (accelerate's
    `skip_first_batches`: a new loader with the train loader's `worker_init_fn`), which was
    taken as done already: its workers were forked with SIGTERM open until their
    `worker_init_fn`, and one that came meanwhile ended the training in `RuntimeError:
    DataLoader worker ... is killed by signal: Terminated`."""
    from accelerate import Accelerator
    from torch.utils.data import DataLoader

    from prixlm.training.loader_workers import workers_leave_sigterm
    from prixlm.training.trainer import PrixLMTrainer

    before = signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a worker dies of one
    try:
        plain = DataLoader(list(range(40)), batch_size=4, num_workers=2, timeout=60,
                           multiprocessing_context="fork")  # fmt: skip
        train = workers_leave_sigterm(Accelerator(cpu=True).prepare(plain))
        trainer = PrixLMTrainer.__new__(PrixLMTrainer)  # its loader methods only
        resumed = trainer.get_resumed_dataloader(train, 3)
        for loader, first in ((train, 0), (resumed, 12)):
            _SIGTERM_AT_WORKER_START.append(True)
            try:
                batches = [batch.tolist() for batch in loader]
            finally:
                _SIGTERM_AT_WORKER_START.clear()
            assert batches[0] == [first, first + 1, first + 2, first + 3]
            assert len(batches) == 10 - first // 4
    finally:
        signal.signal(signal.SIGTERM, before)


TORCHRUN = Path(sys.executable).parent / "torchrun"


@pytest.mark.skipif(not TORCHRUN.is_file() or not hasattr(os, "killpg"), reason="torchrun, Linux")
def test_processes_signalled_apart_checkpoint_the_same_step(tiny_dataset_dir, tmp_path):
    """Each process's SIGTERM starts its own timer (`--enable_jit_checkpoint`'s): a process
    whose timer ended a step before the other's entered the checkpoint's barrier while the
    other trained on in its collectives, both waiting until the launcher's SIGKILL (30 s),
    no checkpoint written. Now all checkpoint the step where one is asked to."""
    run = tmp_path / "run"
    argv = _args(tiny_dataset_dir, run, "--max_steps", "100000", "--save_steps", "50000",
                 "--use_cpu", "true", "--enable_jit_checkpoint", "true")  # fmt: skip
    process = subprocess.Popen(
        [str(TORCHRUN), "--nproc_per_node", "2", "--master_port", "29547", "train.py", *argv],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    ranks: list[int] = []
    try:
        for line in process.stdout:  # both processes train
            if "'loss'" in line:
                break
        ranks = _children(process.pid)  # torchrun's two, each in a session of its own
        assert len(ranks) == 2, ranks
        os.kill(ranks[0], signal.SIGTERM)
        time.sleep(1.0)  # the other's timer ends some steps later
        os.kill(ranks[1], signal.SIGTERM)
        _, stderr = process.communicate(timeout=90)
    finally:
        for group in (process.pid, *ranks):
            try:
                os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:  # ended
                pass
    stops = re.findall(r"training stopped at step (\d+) of 100000", stderr)
    assert len(stops) == 2 and stops[0] == stops[1], stderr[-3000:]
    assert [p.name for p in run.glob("checkpoint-*")] == [f"checkpoint-{stops[0]}"]
