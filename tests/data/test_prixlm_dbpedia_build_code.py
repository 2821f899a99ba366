"""The `PrixLMDBpedia` builder's cache is keyed on the build code, not only on its fields."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dbpedia_dumps import write_dumps

import dataset_builders.prixlm_dbpedia.prixlm_dbpedia as builder_module
import prixlm.data.dbpedia
from dataset_builders.prixlm_dbpedia.prixlm_dbpedia import PrixLMDBpedia


def test_an_edited_build_is_built_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache was keyed on the config's fields and the dump files (`VERSION` fixed): an
    edited build (`prixlm/data/dbpedia/*.py`, say a fixed split rule) was served the rows
    the earlier code built."""
    dumps = write_dumps(tmp_path / "dumps")
    code = tmp_path / "code"  # a copy of the build package, edited below
    shutil.copytree(Path(prixlm.data.dbpedia.__file__).parent, code)
    monkeypatch.setattr(
        builder_module, "BUILD_CODE", (code, Path(builder_module.__file__)), raising=False
    )
    cache = str(tmp_path / "cache")
    first = PrixLMDBpedia(config_name="de", data_dir=str(dumps), cache_dir=cache)
    first.download_and_prepare()
    same = PrixLMDBpedia(config_name="de", data_dir=str(dumps), cache_dir=cache)
    assert same.config_id == first.config_id  # unchanged code and dumps: the cache serves them
    splits = code / "splits.py"
    splits.write_text(splits.read_text() + "\n# an edited split rule\n")
    edited = PrixLMDBpedia(config_name="de", data_dir=str(dumps), cache_dir=cache)
    assert edited.config_id != first.config_id
    assert edited.cache_dir != first.cache_dir
    assert not Path(edited.cache_dir).exists()  # `download_and_prepare` builds it again
