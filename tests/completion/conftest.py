"""Session fixture: the tiny completion KB (`completion_kb`) written once, with its model."""

from __future__ import annotations

from pathlib import Path

import pytest
from completion_kb import dataset_rows, train_tiny_model, write_dataset


@pytest.fixture(scope="session")
def completion_kb(tmp_path_factory) -> tuple[Path, Path]:
    """(dataset folder, model folder): the tiny KB and a model trained on its train rows."""
    root = tmp_path_factory.mktemp("completion")
    configs = dataset_rows()
    dataset = write_dataset(root / "dataset", configs)
    training = [*configs["en"]["train"], *configs["de"]["train"]]  # triples: fast and enough
    model, tokenizer = train_tiny_model(training)
    model.save_pretrained(root / "model")
    tokenizer.save_pretrained(root / "model")
    return dataset, root / "model"
