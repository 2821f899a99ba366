"""The copies of a release's records that an upload sends: local absolute paths left out.

Training and evaluation record where they ran (`train_results.json`'s dataset folder,
`evaluation_results.json`'s model, dataset and candidates, `training_args.json`'s
`output_dir`) by absolute paths, which the model card reads to tell one local dataset
folder from another and from a Hub id. On the Hub those paths would publish this machine's
folders and its user's name. The uploaded copies (from memory; the folder is not written)
hold `<local DIGEST>/NAME` instead: the path's last part and 8 hex digits of its sha256, so
that the card rendered again from the Hub copy still tells the same folder from another
of the same name, and a local folder from a Hub id (`card_results.on_hub`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

#: The JSON records of a release folder that may name folders of this machine.
RECORDS = ("train_results.json", "evaluation_results.json", "training_args.json")
_WINDOWS_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")
_HOME = re.compile(r"^~[\w.-]*/")


def is_local_path(value: str) -> bool:
    """Whether `value` is an absolute path of a machine (POSIX, Windows, or `~/`)."""
    return value.startswith("/") or bool(_HOME.match(value) or _WINDOWS_ABSOLUTE.match(value))


def local_name(path: str) -> str:
    """What an uploaded record holds for the absolute `path`: `<local DIGEST>/NAME`."""
    windows = bool(_WINDOWS_ABSOLUTE.match(path))
    pure = PureWindowsPath(path) if windows else PurePosixPath(path)
    digest = hashlib.sha256(str(pure).encode("utf-8")).hexdigest()[:8]
    return f"<local {digest}>/{pure.name or 'folder'}"


def without_local_paths(data: Any) -> Any:
    """`data` (parsed JSON) with every string that is an absolute path `local_name`d."""
    if isinstance(data, Mapping):
        return {key: without_local_paths(value) for key, value in data.items()}
    if isinstance(data, list):
        return [without_local_paths(item) for item in data]
    if isinstance(data, str) and is_local_path(data):
        return local_name(data)
    return data


def uploaded_records(folder: str | Path, files: Sequence[str]) -> dict[str, bytes]:
    """`{name: bytes}` of the folder's `RECORDS` among `files` that name absolute paths, as
    uploaded (`without_local_paths`); a record that names none, or is not JSON, is left
    out (sent from the folder as it is)."""
    copies = {}
    for name in RECORDS:
        if name not in files:
            continue
        try:
            data = json.loads((Path(folder) / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        cleaned = without_local_paths(data)
        if cleaned != data:
            copies[name] = (json.dumps(cleaned, indent=2, ensure_ascii=False) + "\n").encode()
    return copies


__all__ = ["RECORDS", "is_local_path", "local_name", "uploaded_records", "without_local_paths"]
