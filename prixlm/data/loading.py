"""Load a config of a Prix-LM dataset — a local build folder or a Hub id — without stale caches.

`datasets.load_dataset(folder, config)` (datasets 5.2, checked) keys its cache on the
folder's *name*, the config and the card's relative file patterns, not on the folder's path
or the files' times: a second folder with the same name (`runs/a/dataset`,
`runs/b/dataset`), or a folder rebuilt in place, silently returns the rows cached for the
first one. `load_kb` reads a local folder's card and loads its Parquet files by absolute
path with the `parquet` builder, whose cache key includes every file's path and mtime; a Hub
id (cached by revision) goes through `load_dataset` unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import datasets
from huggingface_hub import DatasetCard


def local_data_files(folder: str | Path, config: str) -> dict[str, list[str]]:
    """`{split: [absolute Parquet paths]}` of `config`, read from `folder/README.md`'s YAML.

    Raises `FileNotFoundError` without a card, `ValueError` naming the configs it has when
    `config` is not one of them.
    """
    folder = Path(folder).absolute()
    card_path = folder / "README.md"
    if not card_path.is_file():
        raise FileNotFoundError(f"{folder}: no README.md dataset card (not a dataset build?)")
    configs = DatasetCard.load(card_path).data.to_dict().get("configs") or []
    by_name = {entry["config_name"]: entry for entry in configs}
    if config not in by_name:
        raise ValueError(f"{card_path}: no config {config!r} (configs: {sorted(by_name)})")
    files: dict[str, list[str]] = {}
    for entry in by_name[config]["data_files"]:
        paths = entry["path"] if isinstance(entry["path"], list) else [entry["path"]]
        files[entry["split"]] = [str(folder / path) for path in paths]
    return files


def load_kb(dataset: str | Path, config: str, split: str | None = None) -> Any:
    """`DatasetDict` of `config` (or the `Dataset` of one `split`) of a build folder or Hub id."""
    if not Path(dataset).is_dir():
        return datasets.load_dataset(str(dataset), config, split=split)
    files = local_data_files(dataset, config)
    if split is not None and split not in files:
        raise ValueError(f"{dataset}: config {config!r} has no split {split!r} ({sorted(files)})")
    return datasets.load_dataset("parquet", data_files=files, split=split)


__all__ = ["load_kb", "local_data_files"]
