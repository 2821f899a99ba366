"""The dataset folder a build replaces: which existing folders may be replaced (empty, or an
earlier build: its card carries `BUILD_MARKER`), which of their entries the build owns (its
card and the config folders the card lists), and the staging folder that replaces the
output atomically while carrying over everything else (`.git`, a user's files)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from prixlm.outputs.atomic import atomic_folder, check_parent, recover_interrupted, writer_lock

BUILD_MARKER = "# Prix-LM multilingual knowledge-base data"
CARD = "README.md"


def _visible_entries(folder: Path) -> list[Path]:
    return [entry for entry in folder.iterdir() if not entry.name.startswith(".")]


def _is_replaceable(folder: Path) -> bool:
    """A folder with no visible entries (`.git` alone counts as none) or an earlier build
    (its card carries `BUILD_MARKER`)."""
    if not folder.is_dir():
        return False
    card = folder / CARD
    if card.is_file():
        return BUILD_MARKER in card.read_text(encoding="utf-8", errors="replace")
    return not _visible_entries(folder)


def check_replaceable(output_dir: str | Path) -> None:
    """`ValueError` if `output_dir` exists and is neither empty nor an earlier build."""
    output_dir = Path(output_dir)
    if output_dir.exists() and not _is_replaceable(output_dir):
        raise ValueError(
            f"--output_dir {output_dir} exists and is not a dataset build; not replacing it"
        )


def owned_entries(folder: str | Path) -> set[str]:
    """The top-level names in `folder` that belong to the build there: its card and every
    config folder that card's `configs:` names (`de`, `links`, ...). Others are not touched."""
    card = Path(folder) / CARD
    if not card.is_file():
        return {CARD}
    text = card.read_text(encoding="utf-8", errors="replace")
    try:
        header = yaml.safe_load(text.split("\n---\n", 1)[0].removeprefix("---\n"))
        paths = [
            path
            for config in header["configs"]
            for files in config["data_files"]
            for path in ([files["path"]] if isinstance(files["path"], str) else files["path"])
        ]
    except (yaml.YAMLError, KeyError, TypeError):  # not a card we wrote: own nothing but it
        return {CARD}
    return {CARD} | {path.split("/")[0] for path in paths}


@contextmanager
def dataset_folder(output_dir: str | Path) -> Iterator[Path]:
    """An empty staging folder (`outputs.atomic.partial_path`) that replaces `output_dir`
    when the block succeeds.

    An existing `output_dir` must be empty (but for hidden entries) or an earlier build
    (`ValueError` otherwise). Of its entries, those the earlier build owns (`owned_entries`)
    are replaced or, if this build does not write them, removed; all others (`.git`, a
    user's files) are carried over into the new folder unchanged.
    """
    output_dir = check_parent(output_dir, argument="--output_dir")
    with writer_lock(output_dir, argument="--output_dir"):
        # an earlier build killed between its two renames left `.OUT.old` and no OUT: put it
        # back first, so that what it owns is known (its dropped configs were kept for good)
        recover_interrupted(output_dir)
        check_replaceable(output_dir)
        owned = owned_entries(output_dir) if output_dir.is_dir() else set()
        with atomic_folder(
            output_dir, carry_over=lambda entry: entry.name not in owned, argument="--output_dir"
        ) as staging:
            yield staging


__all__ = ["BUILD_MARKER", "CARD", "check_replaceable", "dataset_folder", "owned_entries"]
