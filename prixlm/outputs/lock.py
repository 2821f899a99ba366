"""One writer per output: `writer_lock(final)`, held by a build or a training for its whole
run (and taken by `prixlm.outputs.atomic.atomic_folder`), fails at once with
`OutputLockedError` naming the process that writes `final`.

- Within one user's processes: a file lock in `/tmp/prixlm-locks-<uid>` (released when the
  process ends in any way, a kill included), with a file naming its holder (best effort: a
  full `/tmp` stops no writer; a second writer is then told of "another process").
- Across users and hosts (a shared disk): the marker `.<name>.<host>-<pid>.writing` the
  holder keeps beside `final` (its host and PID inside it too, so that a sibling output
  `<name>.2`'s marker is never taken for one of `<name>`). A live writer's marker refuses
  the second writer (another user's, another host's, or one of this user whose file lock is
  elsewhere: another `/tmp` namespace, the folder by another path); a marker of this host
  whose process ended, or whose PID a later process took, is a dead writer's and is removed.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import socket
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from filelock import FileLock, Timeout

from prixlm.cli import UsageError

PARTIAL_SUFFIX = ".partial"
WRITING_SUFFIX = ".writing"


class OutputLockedError(UsageError):
    """Another process writes the same output (`writer_lock`); the message names it."""


def _writer() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def _writer_entries(final: Path) -> Iterator[tuple[Path, str, int]]:
    """The staging (`.<name>.<host>-<pid>.partial`) and markers (`....writing`) that writers,
    this process included, keep beside `final`, each with the writer's host and PID."""
    suffixes = "|".join(re.escape(suffix) for suffix in (PARTIAL_SUFFIX, WRITING_SUFFIX))
    writers = re.compile(rf"\.{re.escape(final.name)}\.(.+)-(\d+)(?:{suffixes})")
    for entry in final.parent.glob(f".{glob.escape(final.name)}.*"):
        found = writers.fullmatch(entry.name)
        if found is not None:
            yield entry, found.group(1), int(found.group(2))


def process_running(host: str, pid: int) -> bool:
    """Whether process `pid` of `host` may still run: True for another host (unknowable)."""
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's
        pass
    return True


def _lock_root() -> Path:
    """`/tmp` whatever `$TMPDIR` says (two writers with different `TMPDIR`s, as batch
    schedulers set per job, both took the lock of one output), else the temporary folder."""
    root = Path("/tmp")
    return root if root.is_dir() and os.access(root, os.W_OK) else Path(tempfile.gettempdir())


def _lock_files(final: Path) -> tuple[Path, Path]:
    """The lock file of `final` and the file naming its holder: in `/tmp` (one folder per
    user, private: `_private_folder`), so that no file is left beside the output."""
    folder = _lock_root() / f"prixlm-locks-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    _private_folder(folder)
    key = hashlib.sha256(str(final).encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return folder / f"{key}.lock", folder / f"{key}.json"


def _private_folder(folder: Path) -> None:
    """`UsageError` unless `folder` is a real folder of this user that no one else may
    write: in a shared `/tmp`, another user could make it first (its name is known) and
    plant links that the owner file would be written through."""
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise UsageError(
            f"{folder} is not a folder of this user (owner uid {info.st_uid}): another user "
            "may have made it; remove it (or have it removed) and start again"
        )
    if info.st_mode & 0o077:  # made by an earlier version under a loose umask
        folder.chmod(0o700)


#: Options whose value is a secret (named so at the end: `--hub_token`, not
#: `--new_token_init`): not written into the files naming a writer.
_SECRET_OPTION = re.compile(r"--?[\w-]*(?:token|password|secret|api[_-]?key)", re.I)


def _command() -> list[str]:
    """`sys.argv` with the values of secret options (`--hub_token X`, `--hub_token=X`)
    replaced by `***`: the marker beside the output is readable by every user."""
    command: list[str] = []
    hide_next = False
    for argument in sys.argv:
        option, equals, _ = argument.partition("=")
        if hide_next:
            command.append("***")
        elif equals and _SECRET_OPTION.fullmatch(option):
            command.append(f"{option}=***")
        else:
            command.append(argument)
        hide_next = not equals and _SECRET_OPTION.fullmatch(argument) is not None
    return command


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path` (mode 0600), never through a link planted at `path`."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(path, flags, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


_held: dict[Path, int] = {}  # the outputs this process holds the lock of: how many times


@contextmanager
def writer_lock(final: str | Path, argument: str = "output", wait_s: float = 0.0) -> Iterator[None]:
    """Hold the one-writer lock of `final` (a file lock, released when the process ends in
    any way, and the marker beside `final`); re-entrant within the process. `wait_s`: how
    long to wait for another process of this user to release it (0: refused at once; a
    read-modify-write of a shared file waits: `prixlm.outputs.atomic.updating`).

    Raises:
        OutputLockedError: another process holds it (still after `wait_s`), or (another
            user's or host's) has its marker beside `final`; the message names its PID and
            command.
    """
    final = Path(final).resolve()
    if final in _held:
        _held[final] += 1
        try:
            yield
        finally:
            _held[final] -= 1
        return
    lock_file, owner_file = _lock_files(final)
    lock = FileLock(lock_file)
    try:
        lock.acquire(timeout=wait_s, poll_interval=0.05)  # 0: one attempt
    except Timeout:
        told = _stopped_holder(owner_file, argument) or (
            f"{_holder(owner_file)} is writing it; wait until it ends, or choose another {argument}"
        )
        raise OutputLockedError(f"{argument} {final}: {told}") from None
    marker = final.with_name(f".{final.name}.{_writer()}{WRITING_SUFFIX}")
    try:
        owner = {"host": socket.gethostname(), "pid": os.getpid(), "command": _command()}
        try:  # only for the message of a second writer: a full /tmp stops no writer
            _write_private(owner_file, json.dumps(owner))
        except OSError:
            with suppress(OSError):
                owner_file.unlink(missing_ok=True)  # a part written: "another process"
        try:  # the marker first, then the check: of two writers starting at once, none goes on
            final.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(json.dumps(owner), encoding="utf-8")
            marker.chmod(0o644)  # readable by other users whatever the umask
        except OSError:  # a folder only others can write, a full disk: the file lock alone
            with suppress(OSError):
                marker.unlink(missing_ok=True)  # an empty or partial marker, if made
            marker = None
        _check_other_writers(final, argument)
        _held[final] = 1
        yield
    finally:
        _held.pop(final, None)
        owner_file.unlink(missing_ok=True)
        if marker is not None:
            marker.unlink(missing_ok=True)
        lock.release()


def _check_other_writers(final: Path, argument: str) -> None:
    """`OutputLockedError` if a live process of another user or host writes `final`: its
    marker (`.<name>.<host>-<pid>.writing`, naming that host and PID inside: a sibling
    output's `.<name>.2.<host>-<pid>.writing` is not one) is beside it. A marker of this host
    whose process ended, or whose PID a later process took (started after the marker was
    written, as after a restart), is a dead writer's and goes."""
    here = socket.gethostname()
    for entry, host, pid in _writer_entries(final):
        owner = _marker_owner(entry)
        if owner is None or entry.name != f".{final.name}.{owner[0]}-{owner[1]}{WRITING_SUFFIX}":
            continue  # a staging folder, or another output's marker
        if (host, pid) == (here, os.getpid()):
            continue
        if host == here and not _writing_since(pid, entry):
            with suppress(OSError):
                entry.unlink()
            continue
        if (stopped := _stopped_holder(entry, argument)) is not None:
            raise OutputLockedError(f"{argument} {final}: {stopped}")
        raise OutputLockedError(
            f"{argument} {final}: {_holder(entry)} is writing it ({entry.name} is beside "
            f"it); wait until it ends, or choose another {argument} (if that process no "
            f"longer runs, as after a crash on another host, remove {entry})"
        )


def _marker_owner(entry: Path) -> tuple[str, int] | None:
    """The (host, PID) a writer's marker names inside, or None (not a marker)."""
    owner = _read_owner(entry) if entry.suffix == WRITING_SUFFIX else None
    return None if owner is None else (owner["host"], owner["pid"])


def _read_owner(path: Path) -> dict | None:
    """The writer a holder file or marker names (`host`, `pid`, `command`), or None."""
    try:
        owner = json.loads(path.read_text(encoding="utf-8"))
        return {"host": str(owner["host"]), "pid": int(owner["pid"]),
                "command": " ".join(owner["command"])[:200]}  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _writing_since(pid: int, marker: Path) -> bool:
    """Whether process `pid` of this host runs and started before `marker` was written (so
    it may be the marker's writer). Where the start time is unknown (no `/proc`), whether it
    runs."""
    if not process_running(socket.gethostname(), pid):
        return False
    try:
        ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))  # fmt: skip
        started = boot + ticks / os.sysconf("SC_CLK_TCK")
        return started <= marker.stat().st_mtime + 1.0  # btime is whole seconds
    except (OSError, ValueError, IndexError, StopIteration):
        return True


def process_stopped(pid: int) -> bool:
    """Whether process `pid` of this host is stopped (Ctrl-Z, SIGSTOP: state `T`, or `t`
    under a debugger) as `/proc/<pid>/stat` says; False where it cannot be read."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError, ValueError):
        return False
    return state in ("T", "t")


def _stopped_holder(owner_file: Path, argument: str) -> str | None:
    """For a writer of this host (the holder file or marker `owner_file` names it) that is
    stopped: that it is, and how to resume or end it (waiting for it never ends); else
    None."""
    owner = _read_owner(owner_file)
    if owner is None or owner["host"] != socket.gethostname() or not process_stopped(owner["pid"]):
        return None
    pid = owner["pid"]
    return (
        f"{_holder(owner_file)} is stopped (suspended by Ctrl-Z or SIGSTOP) while writing it; "
        f"resume it with `kill -CONT {pid}` (or `fg` in its shell) or end it (`kill {pid}`, "
        f"which takes effect once it is resumed), or choose another {argument}"
    )


def _holder(owner_file: Path) -> str:
    owner = _read_owner(owner_file)
    if owner is None:
        return "another process"
    return f"process {owner['pid']} on {owner['host']} ({owner['command']})"


__all__ = [
    "OutputLockedError",
    "PARTIAL_SUFFIX",
    "WRITING_SUFFIX",
    "process_running",
    "process_stopped",
    "writer_lock",
]
