"""Crash-safe outputs: a folder or file appears under its final name only when complete.

One convention for every writer (dataset build, CLDR export, checkpoints, release folders,
converted checkpoints):

- one writer at a time: `writer_lock(final)` (`prixlm.outputs.lock`; taken by `atomic_folder`,
  held by a build or a training for its whole run) fails at once with `OutputLockedError`
  naming the process that writes `final` (a file lock for one user's processes, a marker
  `.<name>.<host>-<pid>.writing` beside `final` for other users and hosts);
- the work happens in a hidden sibling `.<name>.<host>-<pid>.partial` (a folder, or a file),
  unique to the writer (`partial_path`);
- when it is complete, it is flushed to disk (`prixlm.outputs.durable`: a power cut never
  leaves an empty file under the final name), an existing `<name>` is moved aside to
  `.<name>.old`, the partial is renamed to `<name>`, and the old one is removed;
- a killed writer leaves at most its `.<name>.<host>-<pid>.partial` and `.writing` (removed by
  the next writer of `<name>` once that process is gone, or its PID is a process started
  after the entry was last written: never a live writer's) or, killed
  between the two renames, `.<name>.old` without `<name>` (renamed back by the next writer
  before it starts). Nothing incomplete ever carries the final name.

`carry_over` keeps entries of an existing folder that the writer does not produce (a `.git`
folder, a user's extra files): they are hard-linked (copied where links are impossible) into
the new folder before the swap, so they exist under the final name at every moment.

Files that belong together (a results JSON and the page rendered from it) are written inside
`published_together()`: each is staged, and none replaces its earlier file until all are
written. A file several commands change a part of (a block of a shared page) is read and
written inside `updating(final)`: one update at a time, the next waits for it. A write
that failed names the output: `naming_write_errors` (a bare `OSError`) and
`disk_errors` (what torch, safetensors and tokenizers raise on a full disk; `write_errors`).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from pathlib import Path

from prixlm.cli import UsageError
from prixlm.outputs.checks import check_not_special, check_writable
from prixlm.outputs.durable import sync_folder, sync_tree
from prixlm.outputs.lock import (  # noqa: F401 - importable from here as before
    PARTIAL_SUFFIX,
    WRITING_SUFFIX,
    OutputLockedError,
    _writer,
    _writer_entries,
    _writing_since,
    process_running,
    writer_lock,
)
from prixlm.outputs.write_errors import disk_errors, naming_write_errors  # noqa: F401
from prixlm.signals import raise_if_signalled

OLD_SUFFIX = ".old"
#: How long `updating` waits for another process's update of the same file to end: one
#: renders a page and a chart, seconds.
UPDATE_WAIT_S = 300.0
#: The files staged by `atomic_file` inside `published_together` (staging, final), in order.
_STAGED: ContextVar[list[tuple[Path, Path]] | None] = ContextVar("staged", default=None)
#: The locks `updating` took inside `published_together`: released once the set is published.
_HELD: ContextVar[ExitStack | None] = ContextVar("held", default=None)


def partial_path(final: str | Path, shared: bool = False) -> Path:
    """The staging path of `final`: `.<name>.<host>-<pid>.partial` beside it, this process's
    own; `shared`: `.<name>.partial`, for a writer of several processes (data-parallel
    training) that holds `writer_lock` of the folder around it."""
    final = Path(final)
    writer = "" if shared else f".{_writer()}"
    return final.with_name(f".{final.name}{writer}{PARTIAL_SUFFIX}")


def _old_path(final: Path) -> Path:
    return final.with_name(f".{final.name}{OLD_SUFFIX}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def check_parent(final: str | Path, argument: str = "output") -> Path:
    """Create `final`'s parent folders; `NotADirectoryError` naming `argument` if one is a file.

    Returns the absolute path; a symbolic link is followed (the output is written beside
    its target, and the link stays)."""
    final = Path(final).absolute()
    if final.is_symlink():
        final = final.resolve()
    for parent in reversed(final.parents):
        if parent.exists() and not parent.is_dir():
            raise NotADirectoryError(
                f"{argument} {final}: {parent} is a file, not a folder; choose another path"
            )
    final.parent.mkdir(parents=True, exist_ok=True)
    return final


def check_output_file(
    final: str | Path, argument: str, inputs: Sequence[tuple[str, str | Path | None]] = ()
) -> Path:
    """Before any work, for an output file: `check_parent`, not a folder there, and not at
    or inside a local input (`inputs`: (argument, path) pairs; a Hub id or None is skipped):
    `complete --output dataset/en/train.parquet` replaced the shard it read, rc 0.
    Returns the absolute path."""
    check_not_special(Path(final), argument)  # `/dev/stdout`: a pipe behind the link
    target = Path(final).resolve()
    for input_argument, source in inputs:
        if source is None or not Path(source).exists():
            continue
        source_path = Path(source).resolve()
        if target == source_path or source_path in target.parents:
            raise UsageError(
                f"{argument} {final}: inside {input_argument} {source} (it would change what "
                "it reads); choose a path outside it"
            )
    path = check_parent(final, argument)
    _check_final(path, argument, folder=False)
    check_writable(path, argument, partial_path(path))
    return path


def check_writable_folder(folder: str | Path, argument: str = "output_dir") -> Path:
    """Before any work, for a folder that files are written into as the work goes on (a
    training's checkpoints): `check_parent`, not a file there, and a file can be made in it
    (in its parent where it is not made yet); else an `OSError` naming `argument`, at the
    start, not at the first checkpoint. Returns the absolute path."""
    folder = check_parent(folder, argument)
    if folder.exists() and not folder.is_dir():  # the Trainer's makedirs failed, after the work
        raise NotADirectoryError(f"{argument} {folder}: a file is there; a folder is written")
    where = folder if folder.is_dir() else folder.parent
    # a short name: `.<folder name>.<host>-<pid>` passed NAME_MAX for a long folder name
    check_writable(folder, argument, where / f".prixlm-{_writer()}.probe")
    return folder


def recover_interrupted(final: str | Path) -> None:
    """Undo what a writer killed mid-way left beside `final` (see the module doc): the
    staging of writers of this host that no longer run, or whose PID a process started
    after the staging was last written now holds (as `writer_lock` judges markers), and of
    this process; the shared staging; a folder moved aside. Call it holding
    `writer_lock(final)`."""
    final = Path(final)
    old = _old_path(final)
    if old.exists() and not final.exists():
        old.rename(final)
    leftovers = [partial_path(final, shared=True), old]
    for entry, host, pid in _writer_entries(final):
        if (host, pid) == (socket.gethostname(), os.getpid()):
            if entry.suffix != WRITING_SUFFIX:  # its marker stays while it writes
                leftovers.append(entry)
        elif host == socket.gethostname() and not _writing_since(pid, entry):
            leftovers.append(entry)  # its process ended, or its PID is a younger process's
    for leftover in leftovers:
        if leftover.exists() or leftover.is_symlink():
            _remove(leftover)


def _link_tree(source: Path, destination: Path) -> None:
    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    if source.is_dir() and not source.is_symlink():
        shutil.copytree(source, destination, symlinks=True, copy_function=link_or_copy)
    else:
        link_or_copy(str(source), str(destination))


def publish(
    staging: str | Path, final: str | Path, carry_over: Callable[[Path], bool] | None = None
) -> Path:
    """Give the complete `staging` (file or folder) the name `final`, replacing what is there.

    `carry_over(entry)` is asked for each top-level entry of an existing `final` folder that
    `staging` lacks; a `True` keeps it (hard-linked into the new folder before the swap).
    """
    raise_if_signalled()  # a Ctrl-C a library dropped: the work is not complete
    staging, final = Path(staging), Path(final)
    sync_tree(staging)  # on disk before its name is: a power cut never leaves it empty
    if not (final.exists() or final.is_symlink()):
        os.replace(staging, final)
    elif final.is_file() or staging.is_file():
        os.replace(staging, final)  # atomic for files
    else:
        if carry_over is not None:
            for entry in sorted(final.iterdir()):
                target = staging / entry.name
                if not (target.exists() or target.is_symlink()) and carry_over(entry):
                    _link_tree(entry, target)
        old = _old_path(final)
        if old.exists():
            _remove(old)
        final.rename(old)
        staging.rename(final)
        _remove(old)
    sync_folder(final.parent)  # the rename itself
    return final


@contextmanager
def atomic_folder(
    final: str | Path,
    carry_over: Callable[[Path], bool] | None = None,
    argument: str = "output",
) -> Iterator[Path]:
    """Yield an empty staging folder (`partial_path`) that becomes `final` when the block
    succeeds, holding `writer_lock(final)` throughout (`OutputLockedError` if another process
    writes `final`).

    On an exception the partial folder is removed and `final` is left as it was. `argument`
    names the path in errors (e.g. `--output_dir`), also a failed write's that named no file
    (`naming_write_errors`: a full disk said only "no space left").
    """
    final = check_parent(final, argument)
    _check_final(final, argument, folder=True)
    with writer_lock(final, argument):
        recover_interrupted(final)
        staging = partial_path(final)
        staging.mkdir()
        try:
            with naming_write_errors(final, argument):
                yield staging
            publish(staging, final, carry_over)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def _check_final(final: Path, argument: str, folder: bool) -> None:
    """Before any work: `final` is not of the other kind (a file where a folder goes, or
    the reverse) and not a mount point (it is replaced by a rename in its parent folder).
    These failed at the rename, after the work. Nor is `final`'s name so long that its
    staging name (`partial_path`, `_old_path`) passes the file system's name limit: a file's
    staging is first written after the work."""
    if folder and final.exists() and not final.is_dir():
        raise NotADirectoryError(f"{argument} {final}: a file is there; a folder is written")
    if not folder and final.is_dir():
        raise IsADirectoryError(f"{argument} {final}: a folder is there; a file is written")
    if not folder:
        check_not_special(final, argument)
    if final.exists() and os.path.ismount(final):
        raise UsageError(
            f"{argument} {final}: a mount point cannot be replaced by a rename; write into a "
            "folder inside it"
        )
    longest = max(partial_path(final).name, _old_path(final).name, key=_name_bytes)
    try:
        name_max = os.pathconf(final.parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    if _name_bytes(longest) > name_max:
        spare = name_max - (_name_bytes(longest) - _name_bytes(final.name))
        raise UsageError(
            f"{argument} {final}: the name is {_name_bytes(final.name)} bytes; its staging "
            f"name {longest!r} would pass the file system's {name_max}; use a name of at most "
            f"{spare} bytes"
        )


def _name_bytes(name: str) -> int:
    return len(os.fsencode(name))


@contextmanager
def atomic_file(final: str | Path, argument: str = "output") -> Iterator[Path]:
    """Yield this writer's staging path (`partial_path`) to write; it replaces `final` when
    the block succeeds (inside `published_together`: when that block succeeds). Files are
    replaced in one rename, so concurrent writers of one file never mix: the last to finish
    wins (no lock is taken)."""
    final = check_parent(final, argument)
    _check_final(final, argument, folder=False)
    recover_interrupted(final)
    staging = partial_path(final)
    staged = _STAGED.get()
    try:
        with naming_write_errors(final, argument):
            yield staging
        if staged is None:
            publish(staging, final)
        elif (staging, final) not in staged:  # written again in the set: the last write wins
            staged.append((staging, final))
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


@contextmanager
def published_together() -> Iterator[None]:
    """Every `atomic_file` of the block (in this thread) is staged, and they replace their
    earlier files, in the order written, only when the whole block succeeds: a failure in
    any (a full disk while rendering the page of a new JSON) leaves every earlier file as it
    was, never a new JSON beside a stale page. Nested blocks join the outermost."""
    if _STAGED.get() is not None:
        yield
        return
    staged: list[tuple[Path, Path]] = []
    with ExitStack() as held:  # `updating`'s locks: kept until the set is published
        token, held_token = _STAGED.set(staged), _HELD.set(held)
        try:
            try:
                yield
            finally:
                _STAGED.reset(token)
                _HELD.reset(held_token)
            for staging, final in staged:
                publish(staging, final)
        except BaseException:
            for staging, _ in staged:
                staging.unlink(missing_ok=True)
            raise


@contextmanager
def updating(final: str | Path, argument: str = "output") -> Iterator[Path]:
    """Hold `writer_lock(final)` around a read-modify-write of a file that several commands
    change a part of (a block of `docs/results.md`, the `ablations` of `results/table1.json`)
    or write as a set (`complete`'s N-Triples and TSV): another process's update of `final`
    is waited for (up to `UPDATE_WAIT_S`, then `OutputLockedError` naming it), and the lock
    is kept until what the block writes is published (inside `published_together`: until
    the whole set is). Two commands finishing at once each read the file before the
    other's write, and the last left out the other's part. Yields the absolute path."""
    final = check_parent(final, argument)
    held = _HELD.get()
    lock = writer_lock(final, argument, wait_s=UPDATE_WAIT_S)
    if held is None:
        with lock:
            yield final
        return
    held.enter_context(lock)
    yield final


def write_json(value: object, final: str | Path, argument: str = "output") -> None:
    """`value` as indented UTF-8 JSON (one trailing newline) at `final`, via `atomic_file`."""
    with atomic_file(final, argument) as staging:
        text = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
        staging.write_text(text, encoding="utf-8")


__all__ = [
    "OutputLockedError",
    "PARTIAL_SUFFIX",
    "atomic_file",
    "atomic_folder",
    "check_output_file",
    "check_parent",
    "check_writable_folder",
    "disk_errors",
    "naming_write_errors",
    "partial_path",
    "process_running",
    "publish",
    "published_together",
    "recover_interrupted",
    "updating",
    "write_json",
    "writer_lock",
]
