"""prixlm.data.loading.load_kb keeps one cache entry per folder and config.

The cache entry was named after the files' state alone: every rebuild of a folder (also a
byte-identical one), a `chmod` or a hard-link snapshot prepared a new entry beside the old
ones, which were never removed (3 GB more per rebuild of a 10M-row dataset).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
from dbpedia_dumps import write_dumps

from prixlm.data import load_cache
from prixlm.data.dbpedia.build import build_dataset
from prixlm.data.loading import load_kb


@pytest.fixture()
def cache(tmp_path, monkeypatch) -> Path:
    """An empty `datasets` cache for this test only."""
    root = tmp_path / "cache"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", root)
    return root


def _entries(cache: Path) -> set[str]:
    """The names of the `parquet` builder's entries in `cache`."""
    return {path.name for path in (cache / "parquet").glob("files-*")}


def _locks(cache: Path) -> set[str]:
    """The names of the lock files `datasets` leaves in the root of `cache`."""
    return {path.name for path in cache.glob("*.lock")}


def test_a_rebuilt_folder_leaves_one_cache_entry_and_spares_others(tmp_path, cache, monkeypatch):
    monkeypatch.setattr(load_cache, "IN_USE_SECONDS", -1)  # every superseded entry is unused
    dumps = write_dumps(tmp_path / "dumps")
    first, other = tmp_path / "a" / "kb", tmp_path / "b" / "kb"
    build_dataset(dumps, first, ["en", "de"])
    build_dataset(dumps, other, ["en", "de"])
    expected = pq.read_metadata(first / "de" / "train.parquet").num_rows
    assert load_kb(other, "de", split="train").num_rows == expected > 0
    assert load_kb(first, "en", split="train").num_rows > 0  # another config of the folder
    spared, spared_locks = _entries(cache), _locks(cache)
    assert len(spared) == 2 and len(spared_locks) == 2

    assert load_kb(first, "de", split="train").num_rows == expected
    (entry,) = _entries(cache) - spared
    shard = first / "de" / "train.parquet"
    shard.write_bytes(shard.read_bytes())  # rewritten byte for byte: a new state
    rows = load_kb(first, "de", split="train")
    assert rows.num_rows == expected
    (current,) = _entries(cache) - spared
    assert current != entry  # prepared anew, the earlier one removed
    os.chmod(shard, 0o600)  # metadata only: a new state as well
    assert load_kb(first, "de")["train"].num_rows == expected
    (latest,) = _entries(cache) - spared
    assert latest not in (entry, current)
    assert len(_locks(cache) - spared_locks) == 1  # its lock file only
    assert _entries(cache) >= spared and _locks(cache) >= spared_locks  # others untouched

    snapshot = tmp_path / "snapshot"  # a hard-link copy: other ctimes, and its own entry
    shutil.copytree(first, snapshot, copy_function=os.link)
    assert load_kb(snapshot, "de", split="train").num_rows == expected
    assert latest in _entries(cache)
    assert rows.num_rows == expected  # the rows loaded before stay readable
    assert sorted(rows["subject"]) == sorted(load_kb(first, "de", split="train")["subject"])


def test_an_entry_written_within_the_hour_is_left_to_a_later_load(tmp_path, cache):
    """Another process may still write into a superseded entry (a `.map` of its rows, as
    train.py tokenises): removing it failed that process with FileNotFoundError. Such an
    entry is removed once it has not been written for `IN_USE_SECONDS`."""
    folder = tmp_path / "kb"
    build_dataset(write_dumps(tmp_path / "dumps"), folder, ["en", "de"])
    assert load_kb(folder, "de", split="train").num_rows > 0
    (earlier,) = _entries(cache)
    shard = next((folder / "de").glob("train*.parquet"))
    os.chmod(shard, 0o600)  # a new state of the folder
    assert load_kb(folder, "de", split="train").num_rows > 0
    assert earlier in _entries(cache) and len(_entries(cache)) == 2  # still in use, maybe
    hour_ago = time.time() - load_cache.IN_USE_SECONDS - 60
    for path in [cache / "parquet" / earlier, *(cache / "parquet" / earlier).rglob("*")]:
        os.utime(path, (hour_ago, hour_ago))
    os.chmod(shard, 0o644)
    assert load_kb(folder, "de", split="train").num_rows > 0
    assert earlier not in _entries(cache)
