"""`load_kb` reads every form of a card config that `datasets.load_dataset` accepts, and the
dataset card tells how to load a local folder rebuilt in place."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import datasets
import pyarrow.parquet as pq
import pytest
from dbpedia_dumps import write_dumps
from huggingface_hub import DatasetCard

from prixlm.data.dbpedia.build import build_dataset
from prixlm.data.loading import DatasetInputError, has_config, load_kb, local_data_files

#: Configs in the other forms `datasets` accepts (added to a built folder's card).
FORMS: dict[str, dict[str, Any]] = {
    "one_path": {"data_files": "de/train.parquet"},
    "paths": {"data_files": ["de/train.parquet", "de/test.parquet"]},
    "pattern": {"data_files": "de/*.parquet"},
    "folder": {"data_dir": "de"},
    "folder_and_paths": {
        "data_dir": "de",
        "data_files": [{"split": "test", "path": "test.parquet"}],
    },
    "whole": {},  # neither: the folder's files by their names, as `datasets` splits them
}

#: Configs `datasets` refuses or finds no file for.
BAD: dict[str, dict[str, Any]] = {
    "by_split": {"data_files": [{"split": "train"}]},
    "mixed": {"data_files": ["de/train.parquet", {"split": "test", "path": "de/test.parquet"}]},
    "twice": {
        "data_files": [
            {"split": "train", "path": "de/train.parquet"},
            {"split": "train", "path": "de/test.parquet"},
        ]
    },
    "outside": {"data_dir": "../elsewhere"},
    "empty_folder": {"data_dir": "nothing"},
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A built folder (`en`, `de`) with a `de` validation file too."""
    root = tmp_path_factory.mktemp("forms")
    folder = root / "built"
    build_dataset(write_dumps(root / "dumps"), folder, ["en", "de"])
    shutil.copyfile(folder / "de" / "test.parquet", folder / "de" / "validation.parquet")
    (folder / "nothing").mkdir()
    return folder


def _with_configs(built: Path, folder: Path, configs: dict[str, dict[str, Any]]) -> Path:
    """A copy of `built` at `folder` whose card lists `configs` too."""
    shutil.copytree(built, folder)
    card = DatasetCard.load(folder / "README.md")
    card.data.configs = card.data.to_dict()["configs"] + [
        {"config_name": name, **form} for name, form in configs.items()
    ]
    card.save(folder / "README.md")
    return folder


@pytest.fixture(scope="module")
def folder(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`built` with the configs of `FORMS`, in a folder whose name is a glob pattern."""
    return _with_configs(built, tmp_path_factory.mktemp("forms") / "kb[1]", FORMS)


def _counts(dataset_dict: datasets.DatasetDict) -> dict[str, int]:
    return {split: rows.num_rows for split, rows in dataset_dict.items()}


@pytest.mark.parametrize("config", sorted(FORMS))
def test_each_card_form_gives_the_splits_and_rows_load_dataset_gives(
    folder: Path, tmp_path: Path, config: str
) -> None:
    """`data_files` a path or a list of paths failed ("string indices must be integers"),
    `data_dir` with `KeyError: 'data_files'`."""
    plain = tmp_path / "plain"  # the same files where the name is no pattern for `datasets`
    shutil.copytree(folder, plain)
    expected = _counts(datasets.load_dataset(str(plain), config, cache_dir=str(tmp_path / "c")))
    assert expected and all(expected.values())
    assert _counts(load_kb(folder, config)) == expected
    assert has_config(folder, config)


def test_the_forms_split_as_datasets_splits(folder: Path) -> None:
    train, test = (load_kb(folder, "de", split=split).num_rows for split in ("train", "test"))
    assert _counts(load_kb(folder, "paths")) == {"train": train + test}
    assert _counts(load_kb(folder, "folder")) == {
        "train": train,
        "validation": test,
        "test": test,
    }
    assert _counts(load_kb(folder, "folder_and_paths")) == {"test": test}


@pytest.mark.parametrize("config", sorted(BAD))
def test_a_config_of_no_such_form_names_the_card_and_the_config(
    built: Path, tmp_path: Path, config: str
) -> None:
    folder = _with_configs(built, tmp_path / "kb", {config: BAD[config]})
    card = re.escape(str(folder / "README.md"))
    with pytest.raises(
        DatasetInputError, match=rf"^--languages {config}: config '{config}' of {card}"
    ):
        load_kb(folder, config)
    assert has_config(folder, config)  # the card lists it: loading it says what is wrong


def test_a_folder_rebuilt_in_place_with_other_rows_is_read_anew(tmp_path: Path) -> None:
    """`datasets` keys a local folder's cache on its name and card, not its files: a rebuild
    whose rows changed but whose counts and sizes did not (a label's typo fixed) was served
    from the earlier build's cache. Each config's `description` now holds its files' sha256,
    so the card changes with the rows and `load_dataset` reads the new ones."""
    dumps = write_dumps(tmp_path / "dumps")
    folder = tmp_path / "kb"
    build_dataset(dumps, folder, ["de"])
    text = (folder / "README.md").read_text(encoding="utf-8")
    cache = str(tmp_path / "cache")
    first = datasets.load_dataset(str(folder), "de", cache_dir=cache)["train"]["subject"]
    assert "Deutschland" in first and "Deutschlanx" not in first
    labels = dumps / "labels_de.ttl"
    labels.write_text(labels.read_text(encoding="utf-8").replace('"Deutschland"', '"Deutschlanx"'))
    build_dataset(dumps, folder, ["de"])
    rebuilt = (folder / "README.md").read_text(encoding="utf-8")
    changed = [
        (a, b) for a, b in zip(text.splitlines(), rebuilt.splitlines(), strict=True) if a != b
    ]
    assert changed and all("description: Parquet files sha256 " in b for _, b in changed)
    again = datasets.load_dataset(str(folder), "de", cache_dir=cache)["train"]["subject"]
    assert "Deutschlanx" in again and "Deutschland" not in again
    assert again == load_kb(folder, "de", split="train")["subject"]


@pytest.mark.parametrize(
    "where",
    [
        "../outside/private.parquet",
        "de/../../outside/private.parquet",
        "{root}/outside/private.parquet",
    ],
)
@pytest.mark.parametrize("form", ["path", "split"])
def test_a_card_naming_a_file_outside_the_folder_is_refused(
    built: Path, tmp_path: Path, where: str, form: str
) -> None:
    """A card whose config names `../outside/private.parquet` (readable) loaded that file
    as the config, silently; a link inside the folder is followed (a Hub snapshot's files
    are links into the Hub cache)."""
    outside = tmp_path / "outside" / "private.parquet"
    outside.parent.mkdir()
    shutil.copyfile(built / "en" / "train.parquet", outside)
    path = where.format(root=tmp_path)
    data_files = path if form == "path" else [{"split": "train", "path": ["de/train.parquet", path]}]  # fmt: skip
    folder = _with_configs(built, tmp_path / "kb", {"leak": {"data_files": data_files}})
    card = re.escape(str(folder / "README.md"))
    message = rf"^--languages leak: config 'leak' of {card}: split 'train' names '{re.escape(path)}', a file outside"  # fmt: skip
    with pytest.raises(DatasetInputError, match=message):
        load_kb(folder, "leak", split="train")
    with pytest.raises(DatasetInputError, match=message):
        local_data_files(folder, "leak")
    (folder / "de" / "linked.parquet").symlink_to(outside)
    linked = _with_configs(folder, tmp_path / "linked", {"link": {"data_files": "de/linked.parquet"}})  # fmt: skip
    assert load_kb(linked, "link", split="train").num_rows == pq.read_metadata(outside).num_rows
