"""Which dataset a run trained on, as a checkpoint's `prixlm_run.json` records it.

A dataset folder is recorded by what training reads of it, `data_read` (`READ_FIELD`,
`read_fingerprint`): its Parquet files (paths and bytes) and the card's `configs` and
`dataset_info` (the configs, their splits and data files, the features), nothing else of
the card. The card's text also records how the folder was built (the build's command line,
paths as typed): the same Parquet files built from the dumps named by another path are the
same data.

Records written before `data_read` hold `data` (`dataset_fingerprint`: the card and the
Parquet files, paths and bytes); a resume compares `data_read` where both records have it
(`same_data`), else `data`, taken then: such a checkpoint resumes on the same, unchanged
folder. Each start hashes the files once.
A Hub id is recorded as `data: "hub:<id>"`; its files are not read here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

#: The record's field of what training reads of the dataset folder.
READ_FIELD = "data_read"
#: The card's metadata that changes what is read: configs (splits, data files), features.
READ_METADATA = ("configs", "dataset_info")
CARD = "README.md"


def _listed(folder: Path, files: Iterable[Path]) -> Iterable[tuple[Path, bytes]]:
    """Each file of `files` with the header the digests take before its bytes (its path
    relative to `folder`); folders, missing files and hidden entries are left out."""
    for path in files:
        relative = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            yield path, f"{relative.as_posix()}\0".encode()


def files_digest(folder: str | Path, files: Iterable[Path]) -> str:
    """sha256 over `files` of `folder`, in the order given (each one's path relative to
    `folder`, then its bytes); folders, missing files and hidden entries are left out."""
    digest = hashlib.sha256()
    for path, header in _listed(Path(folder), files):
        digest.update(header)
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def dataset_fingerprint(folder: str | Path) -> str:
    """sha256 over the dataset's card and Parquet files (paths and contents)."""
    folder = Path(folder)
    return files_digest(folder, [folder / CARD, *sorted(folder.rglob("*.parquet"))])


def read_metadata(folder: Path) -> dict[str, Any] | None:
    """The card's `READ_METADATA` (None where the card has no readable metadata)."""
    import yaml
    from huggingface_hub.repocard import metadata_load

    try:
        metadata = metadata_load(folder / CARD)
    except (OSError, ValueError, yaml.YAMLError):
        return None
    return None if metadata is None else {k: metadata.get(k) for k in READ_METADATA}


def read_fingerprint(folder: str | Path) -> str:
    """sha256 of what training reads of a dataset folder (`READ_FIELD`): the card's
    `READ_METADATA`, then its Parquet files (paths and bytes)."""
    folder = Path(folder)
    digest = hashlib.sha256()
    metadata = json.dumps(read_metadata(folder), sort_keys=True, ensure_ascii=False, default=str)
    digest.update(f"{metadata}\0".encode())
    for path, header in _listed(folder, sorted(folder.rglob("*.parquet"))):
        digest.update(header)
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def data_record(dataset: str) -> dict[str, str]:
    """The record's field naming `--dataset`: a folder's `read_fingerprint` (`READ_FIELD`;
    `data` is taken only to compare with a record that lacks it, `same_data`), or a Hub id
    (not a folder here) as `data: hub:<id>`."""
    if Path(dataset).is_dir():
        return {READ_FIELD: read_fingerprint(dataset)}
    return {"data": f"hub:{dataset}"}


def same_data(stored: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    """Whether a checkpoint's record (`stored`) and this run's (`record`, naming its folder
    as `dataset_dir`) name the same data: by `READ_FIELD` where both have it, else (a
    record written before it) by `data`, this run's taken now where it lacks one."""
    if READ_FIELD in stored and READ_FIELD in record:
        return stored[READ_FIELD] == record[READ_FIELD]
    data = record.get("data")
    if data is None and Path(str(record.get("dataset_dir", ""))).is_dir():
        data = dataset_fingerprint(record["dataset_dir"])
    return stored.get("data") == data


__all__ = [
    "READ_FIELD",
    "data_record",
    "dataset_fingerprint",
    "files_digest",
    "read_fingerprint",
    "read_metadata",
    "same_data",
]
