"""The data commands on a full disk or at a memory limit: one `error:` line that names the
place to free (the file, the datasets cache) and advice that can help."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from full_disk import full_disk

from prixlm.data.dbpedia.build import build_dataset

FULL = "no space left on the device (or a file-size limit reached); free space there or choose another folder"  # fmt: skip


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


def test_a_full_datasets_cache_is_named_not_the_dataset(tmp_path, dumps, monkeypatch, capsys):
    """`datasets` wraps the OSError of its cache write in a `DatasetGenerationError`: the
    error blamed `--dataset` ("cannot load config 'en'") and never named the cache."""
    import datasets

    from prixlm.data.loading import load_kb
    from prixlm.similarity import plain_mlm

    build_dataset(dumps, tmp_path / "kb", ["en"], progress=False)
    cache = tmp_path / "cache"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    armed = full_disk(monkeypatch, re.escape(str(cache)))
    argv = ["--reference", str(tmp_path / "model"), "--dataset", str(tmp_path / "kb"),
            "--languages", "en", "--output_dir", str(tmp_path / "out"), "--max_steps", "1"]  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:  # the labels are read first
        plain_mlm.main(argv)
    assert exit_info.value.code == 2 and armed
    named = f"the datasets cache {cache} (HF_DATASETS_CACHE)"
    assert _error_line(capsys) == f"error: {named}: {FULL}"
    with pytest.raises(OSError) as raised:
        load_kb(tmp_path / "kb", "en", "test")
    assert raised.value.filename == named


def test_a_full_disk_in_the_kg_layout_converter_names_the_file(tmp_path, monkeypatch, capsys):
    """DuckDB's `IOException` of a failed shard write was a traceback (exit status 1)."""
    from test_kg_layout import write_layout

    from prixlm.data.kg_layout import __main__ as cli
    from prixlm.data.kg_layout import convert

    root, out = write_layout(tmp_path / "kg"), tmp_path / "out"
    argv = ["--input_dir", str(root), "--output_dir", str(out), "--no_progress"]
    assert cli.main(argv) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    failed = []

    def write_shards(con, staging, **kwargs):  # DuckDB 1.4.5's COPY on a full disk
        failed.append(Path(staging) / "en" / "train.parquet")
        raise duckdb.IOException(
            f'IO Error: Could not write file "{failed[0]}": No space left on device'
        )

    monkeypatch.setattr(convert, "write_shards", write_shards)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert _error_line(capsys) == f"error: {failed[0]}: {FULL}"
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kg", "out"]  # no staging


def test_a_process_memory_limit_is_not_answered_with_a_larger_memory_limit():
    """DuckDB's "bad allocation" is the operating system refusing memory (`ulimit -v`, a
    cgroup), below DuckDB's own limit: "raise --memory_limit" made it worse. (The message is
    DuckDB 1.4.5's under `ulimit -v 900000` with `memory_limit` 2GB.)"""
    from prixlm.data.dbpedia.engine import EngineMemoryError, EngineOptions, memory_errors

    refused = (
        "Out of Memory Error: Failed to allocate block of 262144 bytes (bad allocation)\n\n"
        "Possible solutions:\n* Reducing the number of threads (SET threads=X)\n"
        "* Increasing the memory limit (SET memory_limit='...GB')"
    )
    engine = EngineOptions(memory_limit="2GB", threads=1)
    with pytest.raises(EngineMemoryError) as raised, memory_errors(engine):
        raise duckdb.OutOfMemoryException(refused)
    message = str(raised.value)
    assert message.startswith("--memory_limit 2GB, --threads 1: the process's memory limit")
    assert "(bad allocation)" in message and "lower --memory_limit" in message
    assert "raise --memory_limit" not in message
    own_limit = "Out of Memory Error: could not allocate block of size 256.0 KiB (2.0 GiB used)"
    with pytest.raises(EngineMemoryError, match="raise --memory_limit"), memory_errors(engine):
        raise duckdb.OutOfMemoryException(own_limit)  # DuckDB's own limit: more helps
