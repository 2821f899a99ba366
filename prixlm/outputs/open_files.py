"""What to say when a process runs out of open files (`EMFILE`) or the system does
(`ENFILE`): the limit reached and what to do, not a fault of the file the error names
(`prixlm.cli.describe_os_error` uses it for every command)."""

from __future__ import annotations

import errno


def open_files_message(error: OSError, path: str) -> str | None:
    """What to say of an `EMFILE` / `ENFILE` error at `path` (also Arrow's, which carries
    the errno in its text only): which open-files limit is reached (not a fault of the file
    it names) and what to do; None for another error."""
    code = error.errno
    if code is None and "too many open files" in str(error).lower():
        code = errno.EMFILE
    at = f" at {path}" if path else ""
    if code == errno.EMFILE:
        try:
            import resource

            limit = f": {resource.getrlimit(resource.RLIMIT_NOFILE)[0]}"
        except (ImportError, OSError, ValueError):  # no `resource` (Windows)
            limit = ""
        return (
            f"too many open files: the process reached its open-files limit (ulimit -n{limit})"
            f"{at}; raise it (e.g. `ulimit -n 4096` in the shell before the command) or run "
            "fewer worker processes at once (the build's --num_proc)"
        )
    if code == errno.ENFILE:
        return (
            f"too many open files in the system: its table of open files is full{at}; end "
            "other programs or raise the system's limit (/proc/sys/fs/file-max), or run "
            "fewer worker processes at once (the build's --num_proc)"
        )
    return None


__all__ = ["open_files_message"]
