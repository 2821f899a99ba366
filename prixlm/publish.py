"""Publish a finished release folder or dataset folder to the Hugging Face Hub: the one upload path.

    python -m prixlm.publish DIR REPO_ID [--dataset_id ORG/NAME] [--private] [--revision BRANCH]
        [--commit_message TEXT] [--dry_run] [--keep_card]

`DIR` is either a model release folder (`config.json`, `model.safetensors`, the card
`README.md`: what `train.py` writes to `<output_dir>/model` and `convert_official` writes) or
a dataset folder (Parquet files and a card whose YAML has `configs:`, what
`prixlm.data.dbpedia.build` writes). The kind decides the repo type. Folders that are not
complete releases are refused with the reason: a staging folder (`.<name>.partial`,
`.<name>.old`), a training run's `output_dir` (checkpoints, optimizer state), a folder
without a card. The repo is created if needed (`create_repo(exist_ok=True)`), then the folder
is sent in one commit (`HfApi.create_commit`), leaving out `IGNORE_PATTERNS`: hidden entries
(`.git`, staging folders, caches), checkpoints, optimizer/scheduler/RNG state, and every pickle
(`*.bin`, `*.pkl`, `*.pt`, `*.pth`: weights go as safetensors only). The repo (or its
`--revision` branch) then mirrors the folder: files an earlier upload left there that the
folder lacks are deleted in the same commit (`.gitattributes` is kept). The folder itself is
never written (a dataset's fingerprint, which a training run checks to resume, covers its card):
the card rendered for the repo goes from memory, and so do the records that name absolute
paths (`prixlm.release.uploaded_records`: as `<local DIGEST>/NAME`; a dataset card's recorded
build command names them so too), every other file from the folder.
On a `--revision` other than main, the card's usage examples load that revision
(`revision="v1"`): a bare repo id loads main. Main's card names no revision.

A model folder's card (rendered by `prixlm.release.model_card`) is rendered again for the
repo it goes to: title and usage snippet name `REPO_ID`, `datasets:` names `--dataset_id`
(the Hub id of the dataset, e.g. published with this command), and every kept evaluation
(`evaluation_results.json`) is on it; a dataset card's usage examples load `REPO_ID`.
Anything the card still lacks (no Hub dataset, no test-split results) is printed as a warning
with the command that adds it, also by `--dry_run`, which sends nothing. `--keep_card` uploads
the card as it is (your own). `REPO_ID`, `--dataset_id` and `--model_id` are checked as Hub
ids before anything else; an option the upload would not read is refused, a usage error
(`prixlm.publish_options`). A failed Hub call (offline mode, network, HTTP status, login) is
one `error:` line naming the step and the repo, exit status 2.

`train.py --push_to_hub` calls `publish_folder` on the release folder once it is complete
(the Trainer itself never pushes). Authentication: `hf auth login` or `HF_TOKEN`.

`--space --model_id ORG/NAME [--model_revision BRANCH]` publishes the Gradio Space folder
instead (`prixlm.publish_space`); the Space serves that revision of the model.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, DatasetCard, HfApi, ModelCard

from prixlm.cli import UsageError, command_parser, user_errors
from prixlm.hub.calls import (
    CARD,
    LinkOutsideError,
    check_private,
    check_repo_id,
    folder_files,
    hub_step,
    stale_operations,
    upload_operations,
)
from prixlm.outputs.atomic import OLD_SUFFIX, PARTIAL_SUFFIX
from prixlm.publish_options import check_dataset_id, check_options
from prixlm.release.uploaded_records import is_local_path, local_name, uploaded_records

MODEL_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")
IGNORE_PATTERNS = [
    ".*",  # hidden entries at the top: .git, .staging, .<name>.partial, .cache
    "*/.*",  # ... and below
    "*__pycache__*",
    "*.pyc",
    "checkpoint-*",
    "*/checkpoint-*",
    "optimizer.*",
    "*/optimizer.*",
    "scheduler.*",
    "*/scheduler.*",
    "rng_state*",
    "*/rng_state*",
    "trainer_state.json",
    "training_args.bin",
    "*.bin",  # pickles: the Trainer's training_args.bin, pytorch_model.bin
    "*.pkl",
    "*.pickle",
    "*.pt",
    "*.pth",
    "*.ckpt",
    "runs/*",  # TensorBoard logs
]
#: Entries that mark a training run's output_dir rather than its release folder.
RUN_MARKERS = ("checkpoint-*", ".staging", "trainer_state.json", "optimizer.pt")


class NotAReleaseError(ValueError):
    """The folder is not a complete model release or dataset folder."""


@dataclass(frozen=True)
class Release:
    """A folder checked for upload: its repo type and the files that would be sent."""

    folder: Path
    repo_type: str  # "model", "dataset" or "space"
    files: list[str]  # relative POSIX paths, sorted


def _refuse(folder: Path, reason: str) -> NotAReleaseError:
    return NotAReleaseError(f"DIR {folder}: {reason}; not publishing it")


def release_kind(folder: str | Path) -> str:
    """`"model"` or `"dataset"`; `NotAReleaseError` naming the folder if it is neither or
    is not complete (a staging folder, a run's output_dir, no card, an unreadable card)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise _refuse(folder, "no such folder")
    name = folder.resolve().name
    if name.startswith(".") and name.endswith((PARTIAL_SUFFIX, OLD_SUFFIX)):
        raise _refuse(folder, "a staging folder of an unfinished or interrupted write")
    for marker in RUN_MARKERS:
        found = sorted(folder.glob(marker))
        if not found and marker == RUN_MARKERS[0] and (folder / "model" / "config.json").is_file():
            found = [folder / "model"]  # a run folder whose checkpoints were removed
        if found:
            raise _refuse(
                folder,
                f"a training run's output_dir ({found[0].name} inside); publish its release "
                f"folder {folder / 'model'} instead",
            )
    card = folder / CARD
    is_model = (folder / "config.json").is_file()
    if is_model and not any((folder / weights).is_file() for weights in MODEL_WEIGHTS):
        raise _refuse(folder, f"config.json but no {' or '.join(MODEL_WEIGHTS)}")
    if not card.is_file():
        kind = "model" if is_model else "dataset"
        raise _refuse(folder, f"no {CARD} ({kind} card): not a complete release")
    try:
        if is_model:
            ModelCard.load(card)
            return "model"
        data = DatasetCard.load(card).data.to_dict()
    except ValueError as error:  # invalid YAML or model-index
        raise _refuse(folder, f"{card}: unreadable card ({error})") from error
    if not data.get("configs"):
        raise _refuse(folder, "neither a model folder (config.json) nor a dataset (configs:)")
    return "dataset"


def check_release(folder: str | Path) -> Release:
    """The folder's kind and the files `publish_folder` would send (after `IGNORE_PATTERNS`;
    refused: a symbolic link to a file outside the folder)."""
    folder = Path(folder)
    repo_type = release_kind(folder)
    try:
        return Release(folder, repo_type, folder_files(folder, IGNORE_PATTERNS))
    except LinkOutsideError as error:
        raise _refuse(folder, str(error)) from error


def card_warnings(card: ModelCard) -> list[str]:
    """What a rendered Prix-LM card still lacks, each with the command that adds it."""
    warnings = []
    if not card.data.datasets:
        warnings.append(
            "the card names no Hub dataset: pass --dataset_id ORG/NAME (publish the dataset "
            "folder first: python -m prixlm.publish DATASET_DIR ORG/NAME)"
        )
    if not any(result.dataset_split == "test" for result in card.data.eval_results or []):
        warnings.append(
            "the card has no test-split results: python -m prixlm.link_prediction.evaluate_lp "
            "--model DIR --dataset DATASET --languages LANGUAGES --split test --output test.json, "
            "then python -m prixlm.release.model_card DIR --evaluation test.json"
        )
    return warnings


def branch(revision: str | None) -> str | None:
    """`revision` unless it is the default branch (`None`, `"main"`): what a card names."""
    return None if revision in (None, "", "main") else revision


def refresh_model_card(
    folder: str | Path, repo_id: str, dataset_id: str | None = None, revision: str | None = None
) -> tuple[ModelCard | None, list[str]]:
    """A model folder's Prix-LM card rendered again for `repo_id` (and `dataset_id`), not
    written (the folder stays as it is), and its warnings. On a `revision` other than main,
    the usage snippets load that revision (`revision=`): a bare repo id loads main.

    The card's own YAML gives what the folder cannot (base model, languages, widget, Hub
    datasets). A card that is not ours (no `prix-lm` tag) is left as it is: `(None, [])`.
    """
    from prixlm.release.model_card import CURVE_NAME, card_options, render_model_card

    folder = Path(folder)
    if not card_options(folder) or not (folder / "config.json").is_file():
        return None, []
    options = {
        "repo_id": repo_id,
        "model_name": repo_id.split("/")[-1],
        "dataset_id": dataset_id,
        "revision": branch(revision),
    }
    given = {k: v for k, v in options.items() if v is not None}
    curve = CURVE_NAME if (folder / CURVE_NAME).is_file() else None
    card = render_model_card(folder, curve=curve, **{**card_options(folder), **given})
    return card, card_warnings(card)


#: What the build's dataset card loads in its usage example until it is published.
DATASET_PLACEHOLDER = "PATH_OR_REPO"

#: A usage example's call: `load_dataset("PATH_OR_REPO")` or `load_dataset("PATH_OR_REPO", "de")`.
_LOAD_DATASET = re.compile(rf'load_dataset\("{DATASET_PLACEHOLDER}"((?:, "[^"\n]*")?)\)')


def _without_local_paths(command: re.Match[str]) -> str:
    """The recorded build command with each absolute path as `<local DIGEST>/NAME`, as the
    uploaded records name them (`uploaded_records.local_name`)."""
    words = shlex.split(command.group(0))
    return shlex.join(local_name(word) if is_local_path(word) else word for word in words)


def refresh_dataset_card(folder: str | Path, repo_id: str, revision: str | None = None) -> str:
    """The dataset card's text with usage examples that load `repo_id` (not the build's
    placeholder), at `revision` when it is not main, and the recorded build command naming
    no absolute path of this machine; not written (the folder stays as it is)."""
    text = (Path(folder) / CARD).read_text(encoding="utf-8")
    from prixlm.data.dbpedia.build_arguments import COMMAND  # the build's, as recorded

    text = re.sub(rf"^{re.escape(COMMAND)} .*$", _without_local_paths, text, flags=re.M)
    pinned = f", revision={json.dumps(branch(revision))}" if branch(revision) else ""
    text = _LOAD_DATASET.sub(lambda call: f'load_dataset("{repo_id}"{call.group(1)}{pinned})', text)
    return text.replace(f'load_dataset("{DATASET_PLACEHOLDER}"', f'load_dataset("{repo_id}"')


def card_for_repo(
    release: Release, repo_id: str, dataset_id: str | None = None, revision: str | None = None
) -> tuple[str | None, ModelCard | None, list[str]]:
    """The `README.md` text to upload for `repo_id` at `revision` (None: the folder's card as
    it is, not a Prix-LM card), the rendered model card (None for a dataset) and what it
    still lacks. Its usage examples load `revision` when it is not main."""
    if release.repo_type == "dataset":
        return refresh_dataset_card(release.folder, repo_id, revision), None, []
    card, warnings = refresh_model_card(release.folder, repo_id, dataset_id, revision)
    return (None if card is None else str(card)), card, warnings


def publish_folder(
    folder: str | Path,
    repo_id: str,
    *,
    private: bool | None = None,
    revision: str | None = None,
    commit_message: str | None = None,
    token: str | None = None,
    api: HfApi | None = None,
    dataset_id: str | None = None,
    refresh_card: bool = True,
    card: str | None = None,
) -> str:
    """Create `repo_id` if needed and upload the release or dataset `folder` to it, in one
    commit that also deletes what the repo holds and the folder lacks. `folder` is not written.

    Args:
        folder: a complete model release or dataset folder (`check_release`).
        repo_id: `org/name` (or `name`: the token owner's namespace).
        private: visibility of a new repo (an existing repo keeps its own).
        revision: branch to commit to (created from main if missing); default main. The
            card rendered for another branch loads that branch in its usage examples.
        commit_message: default `"Upload Prix-LM <model|dataset> from <folder name>"`.
        token: default: huggingface_hub's saved token or `HF_TOKEN`.
        dataset_id: Hub id of the training dataset, for a model card's `datasets:`.
        refresh_card: upload the card rendered for `repo_id` (`card_for_repo`), not the folder's.
        card: the `README.md` text to upload (e.g. the one `main` rendered and showed).
    Returns:
        The URL of the commit.
    Raises:
        NotAReleaseError: not a complete release; UsageError: an invalid `repo_id`;
        prixlm.hub.calls.PublishError: a Hub call failed (the step and the Hub's reason in its message).
    """
    check_repo_id(repo_id, "repo_id")
    release = check_release(folder)
    if card is None and refresh_card:
        card = card_for_repo(release, repo_id, dataset_id, revision)[0]
    kind, where = release.repo_type, f"publishing {release.folder} to {repo_id}"
    api = api or HfApi(token=token)
    with hub_step(f"{where}: creating the {kind} repo"):
        url = api.create_repo(repo_id, repo_type=kind, private=private, exist_ok=True)
    if private:  # create_repo keeps an existing repo's visibility: never upload public
        check_private(api, url.repo_id, kind, where)
    if revision:
        with hub_step(f"{where}: creating the branch {revision!r}"):
            api.create_branch(url.repo_id, branch=revision, repo_type=kind, exist_ok=True)
    with hub_step(f"{where}: listing the files the repo holds"):
        remote = api.list_repo_files(url.repo_id, repo_type=kind, revision=revision)
    # the repo mirrors the folder: a file of an earlier release that this one lacks (a
    # `candidates.json`, a module) is deleted, not left to be used with this model
    operations: list[CommitOperationAdd | CommitOperationDelete] = list(
        stale_operations(remote, release.files)
    )
    records = uploaded_records(release.folder, release.files)  # no local paths
    operations += upload_operations(release.folder, release.files, card, records)
    with hub_step(f"{where}: uploading {len(release.files)} files"):
        commit = api.create_commit(
            url.repo_id,
            operations,
            commit_message=commit_message
            or f"Upload Prix-LM {kind} from {release.folder.resolve().name}",
            repo_type=kind,
            revision=revision,
        )
    return str(getattr(commit, "commit_url", commit))


def main(argv: Sequence[str] | None = None) -> int:
    parser = command_parser(
        "prixlm.publish", "Upload a release folder (model) or a dataset folder to the Hub."
    )
    parser.add_argument(
        "folder", metavar="DIR", help="release folder, dataset folder or (--space) Space folder"
    )
    parser.add_argument("repo_id", metavar="REPO_ID", help="org/name on the Hub")
    parser.add_argument(
        "--space", action="store_true", help="DIR is the Gradio Space folder (space/)"
    )
    parser.add_argument("--model_id", default=None, help="--space: the model repo it serves")
    parser.add_argument(
        "--model_revision",
        default=None,
        help="--space: the branch or tag of --model_id it serves (default main)",
    )
    parser.add_argument("--private", action="store_true", help="create the repo private")
    parser.add_argument(
        "--revision",
        default=None,
        help="branch to commit to (default main); the card's usage examples load it",
    )
    parser.add_argument(
        "--commit_message",
        default=None,
        help="the Hub commit's message (default: one naming what is uploaded)",
    )
    parser.add_argument(
        "--dataset_id",
        default=None,
        help="Hub id of the training dataset (the model card; --space: the dataset it names)",
    )
    parser.add_argument(
        "--dry_run", action="store_true", help="list the files and the card, write and send nothing"
    )
    parser.add_argument(
        "--keep_card", action="store_true", help="upload the card as it is (not rendered again)"
    )
    args = parser.parse_args(argv)
    with user_errors():  # before any work, a dry run's included
        check_repo_id(args.repo_id)
        for option in ("model_id", "dataset_id"):
            if getattr(args, option) is not None:
                check_repo_id(getattr(args, option), f"--{option}")
    if args.space:
        from prixlm.publish_space import space_main

        return space_main(parser, args)
    check_options(parser, args)  # before any work: an option this upload would not read
    with user_errors(NotAReleaseError):
        release = check_release(args.folder)
        text, card, warnings = None, None, []
        if not args.keep_card:
            try:
                text, card, warnings = card_for_repo(
                    release, args.repo_id, args.dataset_id, args.revision
                )
            except ValueError as error:
                raise UsageError(f"DIR {release.folder}: {error}") from error
    check_dataset_id(parser, args, release, rendered=card is not None)
    print(f"{release.repo_type} {release.folder} -> {args.repo_id}: {len(release.files)} files")
    records = uploaded_records(release.folder, release.files)
    for name in release.files:
        print(f"  {name}" + (" (a copy without local paths)" if name in records else ""))
    if card is not None:
        results = len(card.data.eval_results or [])
        pinned = f", revision={branch(args.revision)!r}" if branch(args.revision) else ""
        print(
            f"card: # {card.data.model_name}; datasets: {card.data.datasets}; pipeline_tag: "
            f"{card.data.pipeline_tag}; {results} results; usage: "
            f"pipeline(model={args.repo_id!r}{pinned})"
        )
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.dry_run:
        return 0
    with user_errors():  # PublishError: one line naming the failed step
        url = publish_folder(
            args.folder,
            args.repo_id,
            private=args.private or None,
            revision=args.revision,
            commit_message=args.commit_message,
            refresh_card=False,
            card=text,  # rendered above
        )
    print(url)
    return 0


__all__ = [
    "IGNORE_PATTERNS",
    "NotAReleaseError",
    "Release",
    "branch",
    "card_for_repo",
    "card_warnings",
    "check_release",
    "publish_folder",
    "refresh_model_card",
    "release_kind",
]


if __name__ == "__main__":
    sys.exit(main())
