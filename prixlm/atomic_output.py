"""Crash-safe outputs: a folder or file appears under its final name only when complete.

One convention for every writer (dataset build, CLDR export, checkpoints, release folders,
converted checkpoints):

- the work happens in a hidden sibling `.<name>.partial` (a folder, or a file);
- when it is complete, an existing `<name>` is moved aside to `.<name>.old`, the partial is
  renamed to `<name>`, and the old one is removed;
- a killed writer leaves at most `.<name>.partial` (removed by the next writer of `<name>`)
  or, killed between the two renames, `.<name>.old` without `<name>` (renamed back by the next
  writer before it starts). Nothing incomplete ever carries the final name.

`carry_over` keeps entries of an existing folder that the writer does not produce (a `.git`
folder, a user's extra files): they are hard-linked (copied where links are impossible) into
the new folder before the swap, so they exist under the final name at every moment.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

PARTIAL_SUFFIX = ".partial"
OLD_SUFFIX = ".old"


def partial_path(final: str | Path) -> Path:
    """The staging path of `final`: `.<name>.partial` beside it."""
    final = Path(final)
    return final.with_name(f".{final.name}{PARTIAL_SUFFIX}")


def _old_path(final: Path) -> Path:
    return final.with_name(f".{final.name}{OLD_SUFFIX}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def check_parent(final: str | Path, argument: str = "output") -> Path:
    """Create `final`'s parent folders; `NotADirectoryError` naming `argument` if one is a file."""
    final = Path(final).absolute()
    for parent in reversed(final.parents):
        if parent.exists() and not parent.is_dir():
            raise NotADirectoryError(
                f"{argument} {final}: {parent} is a file, not a folder; choose another path"
            )
    final.parent.mkdir(parents=True, exist_ok=True)
    return final


def recover_interrupted(final: str | Path) -> None:
    """Undo what a writer killed mid-way left beside `final` (see the module doc)."""
    final = Path(final)
    old = _old_path(final)
    if old.exists() and not final.exists():
        old.rename(final)
    for leftover in (partial_path(final), old):
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
    staging, final = Path(staging), Path(final)
    if not (final.exists() or final.is_symlink()):
        os.replace(staging, final)
        return final
    if final.is_file() or staging.is_file():
        os.replace(staging, final)  # atomic for files
        return final
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
    return final


@contextmanager
def atomic_folder(
    final: str | Path,
    carry_over: Callable[[Path], bool] | None = None,
    argument: str = "output",
) -> Iterator[Path]:
    """Yield an empty `.<name>.partial` folder that becomes `final` when the block succeeds.

    On an exception the partial folder is removed and `final` is left as it was. `argument`
    names the path in errors (e.g. `--output_dir`).
    """
    final = check_parent(final, argument)
    recover_interrupted(final)
    staging = partial_path(final)
    staging.mkdir()
    try:
        yield staging
        publish(staging, final, carry_over)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


@contextmanager
def atomic_file(final: str | Path, argument: str = "output") -> Iterator[Path]:
    """Yield the path `.<name>.partial` to write; it replaces `final` when the block succeeds."""
    final = check_parent(final, argument)
    recover_interrupted(final)
    staging = partial_path(final)
    try:
        yield staging
        publish(staging, final)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


__all__ = [
    "PARTIAL_SUFFIX",
    "atomic_file",
    "atomic_folder",
    "check_parent",
    "partial_path",
    "publish",
    "recover_interrupted",
]
