"""A full disk for one path, at the Python level: `full_disk(monkeypatch, pattern)` makes
every file opened for writing whose path matches `pattern` (a regular expression searched
in the path) raise `OSError(ENOSPC)` naming no file, as a real full disk does, once more
than `limit` bytes were written to it. The file itself is created (and keeps what was
written before the limit), as on a real disk. `unwritable(monkeypatch, folder)`: a folder
its user cannot write (read-only, another user's)."""

from __future__ import annotations

import builtins
import errno
import io
import os
import re
from pathlib import Path
from typing import Any

import pytest

NO_SPACE = "Error while serializing: I/O error: No space left on device (os error 28)"


class _FullFile:
    """A file whose writes fail past `limit` bytes."""

    def __init__(self, file: Any, limit: int) -> None:
        self._file, self._limit, self._written = file, limit, 0

    def write(self, data: Any) -> int:
        self._written += len(data)
        if self._written > self._limit:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self._file.write(data)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __enter__(self) -> _FullFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()

    def __iter__(self) -> Any:
        return iter(self._file)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


def full_disk(monkeypatch: pytest.MonkeyPatch, pattern: str, limit: int = 0) -> list[str]:
    """Fill the disk for the paths matching `pattern`; returns the list of paths it failed
    (filled in as they are opened)."""
    real_open, matcher, armed = io.open, re.compile(pattern), []

    def open_full(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_open(file, mode, *args, **kwargs)
        name = os.fsdecode(file) if isinstance(file, (str, bytes, os.PathLike)) else ""
        if any(flag in mode for flag in "wax") and matcher.search(name):
            armed.append(name)
            return _FullFile(handle, limit)
        return handle

    monkeypatch.setattr(io, "open", open_full)
    monkeypatch.setattr(builtins, "open", open_full)
    return armed


def full_disk_for_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    """What safetensors raises when the disk fills while `save_pretrained` writes the
    weights: a `SafetensorError` (no `OSError`) naming no file."""
    import transformers.modeling_utils
    from safetensors import SafetensorError

    def save_file(*args: Any, **kwargs: Any) -> None:
        raise SafetensorError(NO_SPACE)

    monkeypatch.setattr(transformers.modeling_utils, "safe_save_file", save_file)


def full_disk_for_tokenizers(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the tokenizers library raises when the disk fills while it saves
    `tokenizer.json`: a bare `Exception` with the system's text."""
    from transformers.tokenization_utils_tokenizers import TokenizersBackend

    def save(*args: Any, **kwargs: Any) -> None:
        raise Exception("No space left on device (os error 28)")

    monkeypatch.setattr(TokenizersBackend, "_save_pretrained", save)


def unwritable(monkeypatch: pytest.MonkeyPatch, folder: Any) -> None:
    """`folder` as a read-only folder is to its user: creating or writing a file in it fails
    with `EACCES` (root writes into a folder whatever its mode, so a mode cannot show it)."""
    folder = Path(folder).resolve()
    real_os_open, real_io_open, real_mkdir = os.open, io.open, os.mkdir

    def inside(path: object) -> bool:
        if not isinstance(path, (str, bytes, os.PathLike)):
            return False
        return Path(os.fsdecode(path)).resolve().parent == folder

    def refused(path: object) -> PermissionError:
        return PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(path))

    def os_open(path, flags, *args, **kwargs):
        if flags & (os.O_CREAT | os.O_WRONLY | os.O_RDWR) and inside(path):
            raise refused(path)
        return real_os_open(path, flags, *args, **kwargs)

    def io_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+") and inside(file):
            raise refused(file)
        return real_io_open(file, mode, *args, **kwargs)

    def mkdir(path, *args, **kwargs):
        if inside(path):
            raise refused(path)
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(io, "open", io_open)
    monkeypatch.setattr(builtins, "open", io_open)
