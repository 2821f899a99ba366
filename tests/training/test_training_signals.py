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
from pathlib import Path
from typing import Any

import datasets
import pytest
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
    from datasets.arrow_writer import ArrowWriter

    cache = tmp_path / "cache"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    written: list[Path] = []

    def signalling(write: Any) -> Any:
        def write_then_signal(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = write(self, *args, **kwargs)
            if re.search(r"/tmp[a-z0-9_]{8}$", str(self._path)):  # the filter's indices
                written.append(Path(self._path))
                os.kill(os.getpid(), signal.SIGTERM)
            return result

        return write_then_signal

    for name in ("write_batch", "write_table"):
        monkeypatch.setattr(ArrowWriter, name, signalling(getattr(ArrowWriter, name)))
    with pytest.raises(SystemExit) as stopped, user_errors():
        filtering(tiny_dataset_dir)
    assert stopped.value.code == 143 and len(written) == 1
    assert capsys.readouterr().err.splitlines()[-1] == "terminated"
    assert [p for p in cache.rglob("tmp*") if p.is_file()] == []
