"""Which dataset a run trained on, as a checkpoint's `prixlm_run.json` records it.

A dataset folder is recorded by two fingerprints, taken in one read of its files:

- `data` (`dataset_fingerprint`): its card (`README.md`) and Parquet files, paths and
  bytes. The card's text also records how the folder was built (the build's command line,
  paths as typed), so the same Parquet files built from the dumps named by another path
  give another `data`.
- `data_read` (`READ_FIELD`): what training reads of the folder: its Parquet files (paths
  and bytes) and the card's `configs` and `dataset_info` (the configs, their splits and
  data files, the features), nothing else of the card.

A resume compares `data_read` where both records have it (`same_data`), else `data`: a
checkpoint written before `data_read` was recorded resumes on the same, unchanged folder.
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


def dataset_fingerprints(folder: str | Path) -> dict[str, str]:
    """`{"data": dataset_fingerprint(folder), READ_FIELD: what training reads}`, reading each
    file once."""
    folder = Path(folder)
    whole, read = hashlib.sha256(), hashlib.sha256()
    metadata = json.dumps(read_metadata(folder), sort_keys=True, ensure_ascii=False, default=str)
    read.update(f"{metadata}\0".encode())
    for path, header in _listed(folder, [folder / CARD, *sorted(folder.rglob("*.parquet"))]):
        hashers = (whole,) if path == folder / CARD else (whole, read)
        with open(path, "rb") as handle:
            for hasher in hashers:
                hasher.update(header)
            while chunk := handle.read(1 << 20):
                for hasher in hashers:
                    hasher.update(chunk)
    return {"data": whole.hexdigest(), READ_FIELD: read.hexdigest()}


def data_record(dataset: str) -> dict[str, str]:
    """The record's fields naming `--dataset`: a folder's `dataset_fingerprints`, or a Hub
    id (not a folder here) as `hub:<id>`."""
    return dataset_fingerprints(dataset) if Path(dataset).is_dir() else {"data": f"hub:{dataset}"}


def same_data(stored: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    """Whether a checkpoint's record (`stored`) and this run's (`record`) name the same data:
    by `READ_FIELD` where both have it, else (a record written before it) by `data`."""
    if READ_FIELD in stored and READ_FIELD in record:
        return stored[READ_FIELD] == record[READ_FIELD]
    return stored.get("data") == record.get("data")


__all__ = [
    "READ_FIELD",
    "data_record",
    "dataset_fingerprint",
    "dataset_fingerprints",
    "files_digest",
    "read_metadata",
    "same_data",
]
