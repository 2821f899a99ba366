"""Fixtures of the dataset-builder tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from dbpedia_dumps import write_dumps


@pytest.fixture(scope="module")
def dumps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dumps(tmp_path_factory.mktemp("dumps"))
