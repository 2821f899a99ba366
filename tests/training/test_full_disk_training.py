"""A full disk during a training: the error names the file or folder that filled it, and no
partial file or folder is left behind (the encoding cache, a checkpoint, the release).

The disk is filled from Python: every file opened for writing whose path matches a pattern
raises `OSError(ENOSPC)` naming no file (as a real full disk does) once `limit` bytes went
in, after writing those bytes.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import datasets
import pytest
from cache_faults import TEMP_CACHE_FILE, sigterm_at_first_temp_write
from test_train_runs import _args
from transformers import Trainer, TrainingArguments
from transformers.trainer_utils import get_last_checkpoint

from prixlm.training.data import load_split, load_training_rows, tokenize_rows
from prixlm.training.encoding_cache import map_cache_folder
from prixlm.training.trainer import PrixLMTrainer

FULL = "no space left on the device (or a file-size limit reached); free space there or choose another folder"  # fmt: skip


class _FullFile:
    """A file that takes `limit` bytes, then raises ENOSPC (no file name) on every write."""

    def __init__(self, file: Any, limit: int) -> None:
        self._file, self._room = file, limit

    def write(self, data: Any) -> int:
        taken = data[: self._room]
        self._file.write(taken)
        self._room -= len(taken)
        if len(taken) < len(data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return len(data)

    def __enter__(self) -> _FullFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


@contextmanager
def _full_disk(monkeypatch, pattern: str, limit: int = 64) -> Iterator[list[str]]:
    """Fill the disk for the files opened for writing whose path matches `pattern`; yields
    the paths it filled (the test checks the fault was met)."""
    original, filled = io.open, []

    def open_full(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        opened = original(file, mode, *args, **kwargs)
        name = os.fsdecode(file) if isinstance(file, (str, bytes, os.PathLike)) else ""
        if any(c in mode for c in "wax") and re.search(pattern, name):
            filled.append(name)
            return _FullFile(opened, limit)
        return opened

    with monkeypatch.context() as patch:
        patch.setattr(io, "open", open_full)
        patch.setattr(builtins, "open", open_full)
        yield filled


def _tmp_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("tmp*") if path.is_file())


def test_a_full_disk_while_encoding_leaves_no_partial_file_and_names_the_cache(
    tiny_dataset_dir, tiny_tokenizer, tmp_path, monkeypatch
):
    """`datasets` left its partial `tmp*` encoding in the cache (its error path wrote once
    more and failed), and the error named no folder; a successful rerun kept the file."""
    cache = tmp_path / "cache"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    rows = load_training_rows(tiny_dataset_dir, ["de", "en"], "all")
    folder = map_cache_folder(rows)
    assert folder is not None and folder.is_relative_to(cache) and not _tmp_files(cache)

    with _full_disk(monkeypatch, TEMP_CACHE_FILE) as filled:
        with pytest.raises(OSError) as raised:
            tokenize_rows(rows, tiny_tokenizer, None)
    assert [Path(name).parent for name in filled] == [folder]
    assert raised.value.errno == errno.ENOSPC
    assert raised.value.filename == f"the datasets cache {folder} (HF_DATASETS_CACHE)"
    assert _tmp_files(cache) == []

    encoded = tokenize_rows(rows, tiny_tokenizer, None)  # with room again
    assert len(encoded) == len(rows) and _tmp_files(cache) == []
    assert Path(encoded.cache_files[0]["filename"]).parent == folder


def test_train_py_on_a_full_datasets_cache_exits_in_one_line(
    tiny_dataset_dir, tmp_path, monkeypatch, capsys
):
    import train

    cache = tmp_path / "cache"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    out = tmp_path / "run"
    with _full_disk(monkeypatch, TEMP_CACHE_FILE) as filled:
        with pytest.raises(SystemExit) as stopped:
            train.main(_args(tiny_dataset_dir, out, "--max_steps", "4", variant="single", languages="en"))  # fmt: skip
    assert stopped.value.code == 2 and filled
    folder = map_cache_folder(load_split(tiny_dataset_dir, "en", "train"))
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == f"error: the datasets cache {folder} (HF_DATASETS_CACHE): {FULL}"
    assert "Traceback" not in err
    assert _tmp_files(cache) == []


def test_a_full_disk_on_a_checkpoint_record_names_it_and_leaves_no_partial(
    tiny_dataset_dir, tmp_path, monkeypatch, capsys
):
    """`prixlm_run.json` written outside the naming of errors said only "no space left", and
    the failed save left `.checkpoint-4.partial` (weights, optimizer) beside `checkpoint-2`."""
    import train

    out = tmp_path / "run"
    with _full_disk(monkeypatch, r"checkpoint-4/prixlm_run\.json$") as filled:
        with pytest.raises(SystemExit) as stopped:
            train.main(_args(tiny_dataset_dir, out, "--max_steps", "4", "--save_steps", "2"))
    assert stopped.value.code == 2 and len(filled) == 1
    err = capsys.readouterr().err
    record = f"{out}/.checkpoint-4.partial/checkpoint-4/prixlm_run.json"
    assert err.splitlines()[-1] == f"error: {record}: {FULL}"
    assert sorted(p.name for p in out.iterdir() if "checkpoint" in p.name) == ["checkpoint-2"]
    assert get_last_checkpoint(str(out)) == str(out / "checkpoint-2")


def test_a_full_disk_on_a_release_file_names_it_and_leaves_no_partial(
    tiny_dataset_dir, tmp_path, monkeypatch, capsys
):
    """`train_results.json` and `training_args.json` named no file, and the failed release
    left `.model.partial` (a model's size) in the run folder."""
    import train

    for name in ("training_args.json", "train_results.json"):
        out = tmp_path / name / "run"
        with _full_disk(monkeypatch, rf"\.model\.partial/{re.escape(name)}$") as filled:
            with pytest.raises(SystemExit) as stopped:
                train.main(_args(tiny_dataset_dir, out, "--max_steps", "4", "--save_steps", "4"))
        assert stopped.value.code == 2 and len(filled) == 1
        err = capsys.readouterr().err
        assert err.splitlines()[-1] == f"error: {out}/.model.partial/{name}: {FULL}"
        assert sorted(p.name for p in out.iterdir() if "checkpoint" in p.name or "model" in p.name) == ["checkpoint-4"]  # fmt: skip


@pytest.fixture
def small_trainer(tiny_tokenizer, tmp_path) -> PrixLMTrainer:
    """A `PrixLMTrainer` of a tiny model that has trained no step (`output_dir`: tmp_path/run)."""
    from tiny_models import make_tiny_model

    args = TrainingArguments(
        output_dir=str(tmp_path / "run"), report_to="none", use_cpu=True, save_strategy="no"
    )
    model = make_tiny_model(tiny_tokenizer, dropout=0.0)
    return PrixLMTrainer(model=model, args=args, processing_class=tiny_tokenizer)


def _disk_full(*args: Any, **kwargs: Any) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("saving", [True, False], ids=["saving process", "other process"])
def test_only_the_saving_process_removes_a_failed_checkpoint(small_trainer, saving, monkeypatch):
    """The partial checkpoint is one folder for all processes of a run: the process that
    created it removes it; another (whose write failed) leaves it to that one."""
    monkeypatch.setattr(TrainingArguments, "should_save", property(lambda self: saving))
    monkeypatch.setattr(Trainer, "_save_checkpoint", _disk_full)
    run = Path(small_trainer.args.output_dir)
    staging = run / ".checkpoint-0.partial"
    if not saving:
        staging.mkdir(parents=True)  # as the saving process made it
    with pytest.raises(OSError) as raised:
        small_trainer._save_checkpoint(small_trainer.model, None)
    assert raised.value.filename == str(staging / "checkpoint-0")
    assert staging.exists() is not saving and not (run / "checkpoint-0").exists()


@pytest.mark.parametrize("saving", [True, False], ids=["saving process", "other process"])
def test_only_the_saving_process_removes_a_failed_release(
    small_trainer, saving, monkeypatch, tmp_path
):
    def write_then_fail(output_dir: str | None = None, *args: Any, **kwargs: Any) -> None:
        Path(output_dir).mkdir(exist_ok=True)
        (Path(output_dir) / "model.safetensors").write_bytes(b"\0" * 16)
        _disk_full()

    monkeypatch.setattr(TrainingArguments, "should_save", property(lambda self: saving))
    monkeypatch.setattr(small_trainer, "save_model", write_then_fail)
    destination = tmp_path / "run" / "model"
    staging = destination.with_name(".model.partial")
    with pytest.raises(OSError) as raised:
        small_trainer.save_release(destination)
    assert raised.value.filename == str(staging)
    assert staging.exists() is not saving and not destination.exists()


def test_sigterm_while_encoding_leaves_no_partial_file(
    tiny_dataset_dir, tmp_path, monkeypatch, capsys
):
    """`datasets` removes its partial `tmp*` encoding on Ctrl-C only: a SIGTERM (`timeout`,
    a scheduler), raised as `prixlm.signals.Terminated`, left it in the cache (GBs at scale)."""

    import train

    cache = tmp_path / "cache"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    written = sigterm_at_first_temp_write(monkeypatch)
    with pytest.raises(SystemExit) as stopped:
        train.main(_args(tiny_dataset_dir, tmp_path / "run", "--max_steps", "4", variant="single", languages="en"))  # fmt: skip
    assert stopped.value.code == 143 and len(written) == 1
    assert capsys.readouterr().err.splitlines()[-1] == "terminated"
    assert _tmp_files(cache) == []
