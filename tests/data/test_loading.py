"""prixlm.data.loading.load_kb: each folder's own rows, never another's cached ones."""

from __future__ import annotations

import re

import datasets
import pytest
from dbpedia_dumps import write_dumps

from prixlm.cli import UsageError
from prixlm.data.dbpedia.build import build_dataset
from prixlm.data.loading import DatasetInputError, load_kb


def test_same_named_folders_and_rebuilds_give_their_own_rows(tmp_path):
    dumps = write_dumps(tmp_path / "dumps")
    renamed = write_dumps(tmp_path / "renamed")
    for labels in renamed.glob("labels_*"):  # same facts, sizes and card; other labels
        text = re.sub(r'> "[A-Za-z]', '> "X', labels.read_text(encoding="utf-8"))
        labels.write_text(text, encoding="utf-8")
    first, second = tmp_path / "a" / "kb", tmp_path / "b" / "kb"
    build_dataset(dumps, first, ["en", "de"])
    build_dataset(renamed, second, ["en", "de"])
    cards = [(folder / "README.md").read_text().splitlines() for folder in (first, second)]
    differ = [pair for pair in zip(*cards, strict=True) if pair[0] != pair[1]]
    assert differ and all("description: Parquet files sha256" in line for line, _ in differ)
    first_rows = load_kb(first, "de", split="train")
    second_rows = load_kb(second, "de", split="train")
    assert first_rows.num_rows == second_rows.num_rows > 0
    assert not any(s.startswith("X") for s in first_rows["subject"])
    assert all(s.startswith("X") for s in second_rows["subject"])
    cache = str(tmp_path / "cache")  # the cards differ by their files' digests only
    for folder, rows in ((first, first_rows), (second, second_rows)):
        loaded = datasets.load_dataset(str(folder), "de", split="train", cache_dir=cache)
        assert loaded["subject"] == rows["subject"]
    assert (
        load_kb(first, "de")["test"].num_rows
        == datasets.load_dataset(str(first), "de")["test"].num_rows
    )
    build_dataset(dumps, first, ["de"])  # rebuilt in place: no `en` config any more
    assert set(load_kb(first, "all", split="train")["subject_language"]) == {"de"}


def test_unknown_config_or_split_names_what_exists(tmp_path):
    folder = tmp_path / "kb"
    build_dataset(write_dumps(tmp_path / "dumps"), folder, ["en"])
    with pytest.raises(
        ValueError, match=r"^--languages fr: .* no config 'fr' \(configs: \['all', 'en'"
    ):
        load_kb(folder, "fr")
    with pytest.raises(DatasetInputError, match=r"^--split dev: config 'en' of .* has the splits"):
        load_kb(folder, "en", split="dev")
    for expression in ("train[:10%]", "train+validation"):  # a Hub id took them, a folder not
        for source in (folder, "someone/kb"):  # refused before any network call
            with pytest.raises(DatasetInputError, match=r"^--split .*: the name of one split"):
                load_kb(source, "en", split=expression)
    with pytest.raises(DatasetInputError, match="^--dataset .*: no README.md"):
        load_kb(tmp_path, "en")
    with pytest.raises(DatasetInputError, match="^--dataset_dir .*/gone: no such folder"):
        load_kb(tmp_path / "gone", "en", argument="--dataset_dir")
    with pytest.raises(UsageError):  # what the commands turn into one error line
        load_kb("not a folder nor a hub id", "en")


def test_a_card_with_glob_patterns_in_a_bracketed_folder_loads(tmp_path):
    """A card listing `de/train*.parquet` (the Hub's usual form, or one written by hand):
    the whole path was escaped, the pattern matched nothing and loading failed."""
    folder = tmp_path / "runs[1]" / "kb"
    build_dataset(write_dumps(tmp_path / "dumps"), folder, ["de"])
    expected = load_kb(folder, "de", split="train").num_rows
    card = folder / "README.md"
    text = re.sub(
        r"path:\n\s*- de/train[^\n]*\.parquet", "path: de/train*.parquet", card.read_text()
    )
    text = re.sub(r"path: de/train[^\n*]*\.parquet", "path: de/train*.parquet", text)
    assert "path: de/train*.parquet" in text
    card.write_text(text)
    assert load_kb(folder, "de", split="train").num_rows == expected > 0


def test_a_damaged_or_missing_parquet_file_is_named(tmp_path):
    """A truncated shard was a bare `ArrowInvalid` traceback naming neither the dataset nor
    the file (`evaluate_lp`), a file the card lists but the folder lacks `datasets`'
    `FileNotFoundError`, an empty split `Instruction "test" corresponds to no data!`."""
    folder = tmp_path / "kb"
    build_dataset(write_dumps(tmp_path / "dumps"), folder, ["en"])
    shard = folder / "en" / "train.parquet"
    data = shard.read_bytes()
    shard.write_bytes(data[: len(data) // 2])
    for split in ("test", None):  # every split's files are read, also for one split
        with pytest.raises(
            DatasetInputError,
            match=rf"^--dataset {folder}: cannot load config 'en' split 'train': {shard}: "
            r"not a readable Parquet file \(Parquet magic bytes not found",
        ):
            load_kb(folder, "en", split=split)
    shard.unlink()
    with pytest.raises(DatasetInputError, match=rf"split 'train': no file {shard} \(a path of"):
        load_kb(folder, "en", split="test")
    import pyarrow.parquet as pq

    test_rows = pq.read_table(folder / "en" / "test.parquet")
    pq.write_table(test_rows.slice(0, 0), shard)  # a valid file without rows
    with pytest.raises(DatasetInputError, match=rf"^--dataset {folder}: .* split 'train' is empty"):
        load_kb(folder, "en", split="train")
    with pytest.raises(  # `datasets` cannot prepare the other splits either
        DatasetInputError, match=r"cannot load config 'en' split 'test': its split 'train' has no"
    ):
        load_kb(folder, "en", split="test")


def test_a_file_rewritten_with_its_mtime_restored_is_loaded_again(tmp_path):
    """The cache was keyed on each file's path and mtime: a shard rewritten and its mtime set
    back (`cp -p`, `rsync -a`, `tar x`) loaded the old cached rows, also with another count."""
    import os

    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    folder = tmp_path / "kb"
    build_dataset(write_dumps(tmp_path / "dumps"), folder, ["en"])
    shard = folder / "en" / "train.parquet"
    rows = pq.read_table(shard)
    assert load_kb(folder, "en", split="train").num_rows == rows.num_rows > 2
    column = rows.schema.get_field_index("subject")
    upper = rows.set_column(column, "subject", pc.utf8_upper(rows["subject"]))
    for table in (upper.slice(0, 2), upper):  # fewer rows; then as many rows as before
        before = os.stat(shard)
        pq.write_table(table, shard)
        os.utime(shard, ns=(before.st_atime_ns, before.st_mtime_ns))
        loaded = load_kb(folder, "en", split="train")
        assert list(loaded["subject"]) == table["subject"].to_pylist()
