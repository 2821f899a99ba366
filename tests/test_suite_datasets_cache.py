"""The suite's datasets cache is its session's temporary folder, in this process and in the
commands it starts (`_datasets_cache_of_the_session`): it wrote an Arrow copy of every
dataset a test loaded into the user's ~/.cache/huggingface/datasets, under a new key each
run (4 GB on a development machine after a few days)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import datasets
from datasets import Dataset, load_dataset


def test_datasets_the_tests_load_are_cached_in_the_session_folder(tmp_path, tmp_path_factory):
    (tmp_path / "data").mkdir()
    Dataset.from_list([{"object": "euro"}]).to_parquet(tmp_path / "data" / "train.parquet")
    assert load_dataset(str(tmp_path / "data"), split="train")["object"] == ["euro"]
    cache = Path(datasets.config.HF_DATASETS_CACHE)
    assert cache.is_relative_to(tmp_path_factory.getbasetemp())
    assert list(cache.rglob("*.arrow"))  # the copy of the load above
    child = subprocess.run(
        [sys.executable, "-c", "import datasets; print(datasets.config.HF_DATASETS_CACHE)"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert child.stdout.strip() == str(cache)
