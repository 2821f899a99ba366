"""Write errors that name the output: a failed `write()` on a full disk says only "no space
left", and torch, safetensors and tokenizers say it in their own words; here each becomes an
`OSError` naming the command's argument and the file or folder written."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def naming_write_errors(final: str | Path, argument: str = "output") -> Iterator[None]:
    """An `OSError` that names no file (a failed write() or flush(): a full disk said only
    "no space left") is raised again naming `argument` and `final`."""
    try:
        yield
    except OSError as error:
        if error.filename is not None or error.errno is None:
            raise
        raise type(error)(error.errno, error.strerror, f"{argument} {final}") from error


#: What torch (`unexpected pos`, `file write failed`), safetensors and tokenizers (the
#: system's text) say of a write that failed on a full disk or at a file-size limit.
_WRITE_FAILED = ("unexpected pos", "file write failed", "no space left", "file too large")


@contextmanager
def disk_errors(folder: str | Path, argument: str | None = None) -> Iterator[None]:
    """A write of torch (`RuntimeError: ... unexpected pos`), safetensors (`SafetensorError`)
    or tokenizers (a bare `Exception`) that failed on a full disk, or an `OSError` that
    names no file (a failed `write()` says only "no space left"), becomes an `OSError`
    (`ENOSPC`; `EFBIG` at a file-size limit) naming `argument` and `folder` (a folder or a
    file; one `error:` line in the commands, `prixlm.cli.user_errors`). An `OSError` that
    names its file, and other errors, pass unchanged."""
    where = f"{argument} {folder}" if argument else str(folder)
    try:
        yield
    except OSError as error:
        if error.filename is not None or error.errno is None:
            raise
        raise type(error)(error.errno, error.strerror, where) from error
    except Exception as error:
        text = str(error).lower()
        if not any(sign in text for sign in _WRITE_FAILED):
            raise
        code = errno.EFBIG if "too large" in text else errno.ENOSPC
        raise OSError(code, os.strerror(code), where) from error


__all__ = ["disk_errors", "naming_write_errors"]
