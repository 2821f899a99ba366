"""What the upload commands share for their Hub calls: repo ids checked before any work,
each call's failure as one line naming its step (`hub_step`), and a commit's files taken
from the folder as they are (`folder_files`: never a file a symbolic link takes from outside
the folder), with the card rendered for the repo from memory, and the repo's files the
folder lacks deleted in the same commit (`stale_operations`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2  # huggingface_hub's HTTP client: its transport errors (no connection, timeouts)
from huggingface_hub import CommitOperationAdd, CommitOperationDelete
from huggingface_hub.errors import DeviceCodeError, HfHubHTTPError, HFValidationError, OIDCError
from huggingface_hub.utils import filter_repo_objects, validate_repo_id

from prixlm.cli import UsageError, describe_os_error

CARD = "README.md"
#: Files the Hub itself keeps in a repo (not a folder's), never deleted by a mirroring commit.
HUB_MANAGED = (".gitattributes",)


class LinkOutsideError(ValueError):
    """A file to upload is a symbolic link (or lies in a linked folder) whose target is
    outside the folder being published: its content (a token, a key) would be uploaded."""


class PublishError(UsageError):
    """A Hub call of an upload failed; the message names the step, the repo and the Hub's
    reason (the Hub's exception is the `__cause__`). Nothing in the folder was changed."""


#: What a Hub call raises for a reason outside this package: offline mode, no connection or
#: a timeout, an HTTP status (401/403 login, 404, 409, 5xx), a missing token, a failed login.
HUB_ERRORS = (OSError, httpx2.HTTPError, HFValidationError, DeviceCodeError, OIDCError)


def check_repo_id(repo_id: str, argument: str = "REPO_ID") -> str:
    """`repo_id` if it is a valid Hub id (`huggingface_hub.utils.validate_repo_id`); else a
    `UsageError` naming `argument`, before any work is done."""
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise UsageError(f"{argument} {repo_id!r}: not a Hub repo id ({error})") from error
    return repo_id


@contextmanager
def hub_step(what: str) -> Iterator[None]:
    """Run Hub calls; a failure of theirs (`HUB_ERRORS`, or the Hub's refusal of a card's
    metadata) becomes a one-line `PublishError` saying `what` failed and why."""
    try:
        yield
    except Exception as error:
        if not isinstance(error, HUB_ERRORS) and not isinstance(error.__cause__, HfHubHTTPError):
            raise  # a bug: keep its traceback
        if isinstance(error, OSError) and error.filename:
            reason = describe_os_error(error)
        else:
            reason = f"{type(error).__name__}: {' '.join(str(error).split())}"
        raise PublishError(f"{what} failed: {reason}") from error


def folder_files(folder: Path, ignore_patterns: Sequence[str]) -> list[str]:
    """The relative POSIX paths (sorted) of the files under `folder` that an upload sends:
    all but `ignore_patterns`, those of linked folders included. `LinkOutsideError` naming
    the first of them (and its target) that lies outside `folder` (a link, or in a linked
    folder); links within it are sent as the files they name, and so are the links of a Hub
    cache snapshot (`.../snapshots/<revision>/`) into its repo's `blobs/`."""
    every = sorted(_walk_files(folder))
    files = list(filter_repo_objects(every, ignore_patterns=ignore_patterns))
    roots = _allowed_roots(folder)
    for name in files:
        target = (folder / name).resolve()
        if not any(target.is_relative_to(root) for root in roots):
            link = (folder / name).is_symlink()
            how = "is a symbolic link to" if link else "lies in a linked folder, at"
            raise LinkOutsideError(
                f"{name} {how} {target}, outside the folder: its content would be published; "
                "copy the file into the folder or remove the link"
            )
    return files


def _walk_files(
    folder: Path, inside: Path | None = None, above: frozenset[Path] = frozenset()
) -> Iterator[str]:
    """Relative POSIX paths (to `inside`, default `folder`) of the files under `folder`,
    following linked folders but for one that leads back to a folder above it (a loop)."""
    inside = inside or folder
    real = folder.resolve()
    above = above | {real}
    for entry in sorted(folder.iterdir()):
        if entry.is_dir():
            if entry.resolve() not in above:
                yield from _walk_files(entry, inside, above)
        elif entry.is_file():
            yield entry.relative_to(inside).as_posix()


def _allowed_roots(folder: Path) -> list[Path]:
    """Where the files an upload sends may lie: the folder, and for a Hub cache snapshot
    (`<repo>/snapshots/<revision>`) its repo's `blobs/`, which its files link into."""
    roots = [folder.resolve()]
    absolute = folder.absolute()
    if absolute.parent.name == "snapshots" and (absolute.parent.parent / "blobs").is_dir():
        roots.append((absolute.parent.parent / "blobs").resolve())
    return roots


def check_private(api: Any, repo_id: str, kind: str, where: str) -> None:
    """`PublishError` unless the repo `create_repo(private=True, exist_ok=True)` returned is
    private: it keeps an existing repo's visibility, and a public one would get the files."""
    with hub_step(f"{where}: reading the repo's visibility"):
        public = not api.repo_info(repo_id, repo_type=kind).private
    if public:
        raise PublishError(
            f"{where}: the repo exists and is public, and private was asked for: make it "
            "private on the Hub first (its settings), or publish without it"
        )


def upload_operations(
    folder: Path,
    files: Sequence[str],
    card: str | bytes | None,
    copies: Mapping[str, bytes] | None = None,
) -> list[CommitOperationAdd]:
    """`files` of `folder` to add in a commit: `card` (given) from memory as `README.md`,
    and `copies` (`{name: bytes}`, e.g. records without local paths) from memory as they
    are; every other file straight from the folder (nothing copied, the folder not written)."""
    text = card.encode() if isinstance(card, str) else card
    in_memory = dict(copies or {})
    if text is not None:
        in_memory[CARD] = text
    return [
        CommitOperationAdd(
            path_in_repo=name, path_or_fileobj=in_memory.get(name, str(folder / name))
        )
        for name in files
    ]


def stale_operations(remote: Sequence[str], files: Sequence[str]) -> list[CommitOperationDelete]:
    """Deletions of what the repo holds (`remote`, `list_repo_files`) and the folder's `files`
    lack, so that the commit leaves the repo mirroring the folder: a file of an earlier
    upload (a `candidates.json`, a module) is not left to be used with the new one. The
    files the Hub manages (`HUB_MANAGED`) stay."""
    kept = set(files) | set(HUB_MANAGED)
    return [CommitOperationDelete(path_in_repo=name) for name in remote if name not in kept]


__all__ = [
    "HUB_ERRORS",
    "HUB_MANAGED",
    "LinkOutsideError",
    "PublishError",
    "check_private",
    "check_repo_id",
    "folder_files",
    "hub_step",
    "stale_operations",
    "upload_operations",
]
