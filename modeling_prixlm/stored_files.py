"""The files a release stores beside its weights (`candidates.json`, `relations.json`): where
the pipeline finds them and how it reads them.

A release is a local folder or a Hub repo. A folder is fixed by its absolute path when the
pipeline is built, so a later change of directory (a notebook's `%cd`, `handler.py`'s `"."`)
never turns it into a Hub id, whose cached copy could belong to another repo. A Hub repo's
file is None only when the repo is known to lack it: the Hub answered "not found", or the
Hub cache records it (an earlier "not found", or the commit's file listing without it). A
file the Hub could not be asked for and the cache does not hold is an `OSError` that says so,
not an empty list of candidates.

Hub custom code: imports only transformers and the standard library.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

from transformers.utils.hub import (
    EntryNotFoundError,
    LocalEntryNotFoundError,
    hf_hub_download,
    is_offline_mode,
    try_to_load_from_cache,
)

#: The file of the candidate labels per language, at the root of the release folder.
CANDIDATES_FILE = "candidates.json"
#: The file of the relation names per language, `{language: [names]}`, beside it.
RELATIONS_FILE = "relations.json"


def read_candidates(path: str) -> dict[str, list[str]]:
    """`{language: [labels]}` from a `candidates.json`; ValueError naming the file if malformed."""
    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:  # a ValueError that named no file
        line = raw.count(b"\n", 0, error.start) + 1
        raise ValueError(f"{path}:{line}: not UTF-8 ({error.reason})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not JSON ({error})") from error
    if not isinstance(data, dict) or not all(
        isinstance(labels, list) and all(isinstance(label, str) for label in labels)
        for labels in data.values()
    ):
        raise ValueError(f"{path}: expected {{language: [label, ...]}}")
    return data


def read_relations(path: str) -> dict[str, list[str]]:
    """`{language: [relation names]}` from a `relations.json` (the same shape as candidates)."""
    return read_candidates(path)


def _listed_without(repo_id: str, name: str, revision: str | None) -> bool:
    """Whether the Hub cache holds the file listing of the commit `revision` resolves to
    (written by a snapshot download beside the snapshot: `trees/<commit>.json`) and the
    listing lacks `name`. False when there is no listing, or it cannot be read."""
    config = try_to_load_from_cache(repo_id, "config.json", revision=revision)
    if not isinstance(config, str):
        return False
    snapshot = Path(config).parent
    listing = snapshot.parent.parent / "trees" / f"{snapshot.name}.json"
    try:
        data = json.loads(listing.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    files = data.get("files") if isinstance(data, dict) else None
    return data.get("format_version") == 1 and isinstance(files, dict) and name not in files


def known_missing(repo_id: str, name: str, revision: str | None) -> bool:
    """Whether the Hub cache records that `repo_id` has no `name` at `revision`: the marker of
    an earlier "not found" answer, or the commit's file listing without it."""
    found = try_to_load_from_cache(repo_id, name, revision=revision)
    if found is not None and not isinstance(found, str):  # huggingface_hub's "no such file"
        return True
    return _listed_without(repo_id, name, revision)


def unreachable_message(repo_id: str, name: str, revision: str | None, cause: str) -> str:
    """The error for a Hub file that could not be fetched and is not in the Hub cache."""
    where = f"{name} of {repo_id!r} (revision {revision or 'main'})"
    if is_offline_mode():
        return (
            f"HF_HUB_OFFLINE is set and {where} is not in the Hub cache: load the model once "
            "with a connection (HF_HUB_OFFLINE unset), or load a local folder that has it"
        )
    return (
        f"cannot reach the Hub and {where} is not in the Hub cache ({cause}): connect and "
        "load it again, or download the repository to a folder and load that folder "
        "(with HF_HUB_OFFLINE=1)"
    )


@dataclass(frozen=True)
class StoredFiles:
    """Where a release's stored files are.

    Attributes:
        source: the release: an absolute folder path (`local`), a Hub repo id, or "" (a model
            built in memory, which stores no files).
        local: whether `source` is a folder (it was one when the pipeline was built).
        revision: the Hub revision the model was loaded at (None: main; unused for a folder).
    """

    source: str
    local: bool
    revision: str | None = None

    @classmethod
    def of(cls, name_or_path: str, revision: str | None = None) -> StoredFiles:
        """The stored files of a model loaded from `name_or_path` (its `name_or_path`): a
        folder that exists now is kept by its absolute path, anything else as a Hub id."""
        if name_or_path and os.path.isdir(name_or_path):
            return cls(os.path.abspath(name_or_path), True, revision)
        return cls(name_or_path or "", False, revision)

    def path(self, name: str) -> str | None:
        """The local path of the release's file `name`; None if the release has none (no
        source, a folder without it, or a Hub repo known to lack it). `OSError` if the folder
        is gone, if its `name` is a folder (`IsADirectoryError`), or if the Hub could not be
        asked and the Hub cache does not hold the file."""
        if not self.source:
            return None
        if self.local:
            if not os.path.isdir(self.source):
                raise FileNotFoundError(f"{self.source}: the model's folder no longer exists")
            found = os.path.join(self.source, name)
            if os.path.isdir(found):  # read as absent, it served no candidates, silently
                raise IsADirectoryError(
                    f"{found}: a folder, not the release's {name} file: remove or replace it"
                )
            return found if os.path.isfile(found) else None
        try:
            return hf_hub_download(self.source, name, revision=self.revision)
        except LocalEntryNotFoundError as error:  # no answer from the Hub, and not cached
            if known_missing(self.source, name, self.revision):
                return None
            cause = str(error.__cause__ or error).splitlines()[0]
            raise OSError(unreachable_message(self.source, name, self.revision, cause)) from error
        except EntryNotFoundError:  # the Hub answered: the repo has no such file
            return None


def carry_stored_files(destination: Path, stored: StoredFiles) -> None:
    """Copy the release's stored files (`candidates.json`, `relations.json`) of the model
    loaded from `stored` (a folder, or a Hub repo at its revision: `StoredFiles.of`, taken
    before anything is written, as `destination` may be a folder named as the repo id) into
    `destination`, as `save_pretrained` does with the model code: the saved folder's
    pipeline answers as the release's did (without them it had no candidates and refused
    every query). A file `destination` already holds is its own (written there by
    `complete_release_folder`, say, after an earlier save) and is kept: a `UserWarning` if
    it differs from the release's. A Hub file that cannot be fetched is a `UserWarning`,
    not an error."""
    for name in (CANDIDATES_FILE, RELATIONS_FILE):
        try:
            source = stored.path(name)
        except OSError as error:
            warnings.warn(f"{name} not saved with the model: {error}", stacklevel=3)
            continue
        target = destination / name
        if source is None or (target.exists() and os.path.samefile(source, target)):
            continue
        if target.is_file():  # the folder's own: the release's would replace it silently
            if Path(source).read_bytes() != target.read_bytes():
                warnings.warn(
                    f"{target} kept: it differs from the {name} of {stored.source} the model "
                    "was loaded from (remove it to save the model with that one)",
                    stacklevel=3,
                )
            continue
        shutil.copyfile(source, target)


def fetch_hub_code(destination: Path, stored: StoredFiles, names: tuple[str, ...]) -> bool:
    """Copy the model code `names` of the Hub repo the model was loaded from (`stored`, at
    its revision) into `destination`; False if `stored` is no Hub repo or its
    `pipeline_prixlm.py` cannot be had (a `UserWarning` then, when the Hub or its cache could
    not answer). Other files the Hub or its cache could not give (not those the repo lacks)
    are named by one `UserWarning`: the copy is saved without them.
    `from_pretrained` fetches only the modules the model imports: the pipeline's are not in
    its code folder unless a pipeline was built from the repo, so a model loaded with
    `AutoModel` alone saved a copy with no pipeline and no candidates."""
    if stored.local or not stored.source or os.path.isabs(stored.source):
        return False  # a folder (gone since it was loaded) is no Hub repo
    found = {}
    unreachable: list[tuple[str, Exception]] = []
    for name in names:
        try:
            found[name] = stored.path(name)
        except (OSError, ValueError) as error:  # ValueError: no valid repo id
            if name == "pipeline_prixlm.py":
                warnings.warn(
                    f"the pipeline's code not saved with the model: {error}", stacklevel=3
                )
                return False
            found[name] = None
            unreachable.append((name, error))
    if found.get("pipeline_prixlm.py") is None:
        return False
    destination.mkdir(parents=True, exist_ok=True)
    for name, source in found.items():
        if source is not None:
            shutil.copyfile(source, destination / name)
    if unreachable:  # the pipeline (or the endpoint's handler) may import them
        missing = ", ".join(name for name, _ in unreachable)
        warnings.warn(
            f"{missing} of the model's code not saved with the model: {unreachable[0][1]}",
            stacklevel=3,
        )
    return True


def carry_hub_code(destination: Path, stored: StoredFiles, names: tuple[str, ...]) -> bool:
    """Copy the model code (`names`: `HUB_CODE_FILES`, those it has) of the folder that holds
    `pipeline_prixlm.py` (the local folder the model was loaded from, else the Hub repo's
    files at its revision: `stored`, else this module's folder) into `destination`; False if
    none holds it. No other file of that folder is copied (a script of the user's beside
    the weights would be published with the model)."""
    folders = [Path(stored.source)] if stored.local else []
    if not stored.local and fetch_hub_code(destination, stored, names):  # a Hub repo's own
        return True
    for folder in (*folders, Path(__file__).parent):
        if (folder / "pipeline_prixlm.py").is_file():
            destination.mkdir(parents=True, exist_ok=True)
            for name in names:
                source = folder / name
                if source.is_file() and folder.resolve() != destination.resolve():
                    shutil.copyfile(source, destination / name)
            return True
    return False


__all__ = [
    "CANDIDATES_FILE",
    "RELATIONS_FILE",
    "StoredFiles",
    "carry_hub_code",
    "carry_stored_files",
    "fetch_hub_code",
    "known_missing",
    "read_candidates",
    "read_relations",
]
