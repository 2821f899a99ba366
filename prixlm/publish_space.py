"""Publish the Gradio Space (`space/`) that serves a published model: `--space` of `prixlm.publish`.

    python -m prixlm.publish space/ me/prixlm-demo-space --space --model_id me/prixlm-demo \
        [--model_revision v1] [--dataset_id me/prixlm-cldr-kb] [--private] [--dry_run]

The Space folder is its card `README.md` (Space YAML with `sdk: gradio` and `app_file`),
the app and `requirements.txt`. The uploaded card names the model (`models:`) and dataset
(`datasets:`); the Space variables `PRIXLM_MODEL` and `PRIXLM_MODEL_REVISION` tell the app
which model to serve and at which branch or tag (`--model_revision`; without it the
variable is removed and the app loads the model's main branch). The Space itself is
published to its main branch (`--revision` is refused) with its card rewritten for the model
(`--keep_card` is refused). The repo is created as a Gradio Space if needed (with the
variables); the files go in one commit, without `IGNORE_PATTERNS`, which also deletes the
files an earlier upload left in the Space that the folder lacks (`.gitattributes` is kept). The variables are set only once that commit is
made, and only where they change (each change restarts the Space): a failed upload leaves
the Space serving what it served. A failed Hub call is one `error:` line naming the step
(`prixlm.hub.calls.hub_step`), exit 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, SpaceCard

from prixlm.cli import user_errors
from prixlm.hub.calls import (
    CARD,
    LinkOutsideError,
    check_repo_id,
    folder_files,
    hub_step,
    stale_operations,
    upload_operations,
)
from prixlm.publish import IGNORE_PATTERNS, NotAReleaseError, Release, _refuse, branch

#: The Space variable naming the model the app serves (`MODEL_ENV` of `space/app.py`).
SPACE_MODEL_VARIABLE = "PRIXLM_MODEL"
#: The Space variable naming the model's branch or tag the app loads (`REVISION_ENV` of
#: `space/app.py`); absent: main.
SPACE_REVISION_VARIABLE = "PRIXLM_MODEL_REVISION"


def check_space(folder: str | Path) -> Release:
    """The files of a Gradio Space folder that `publish_space` sends; `NotAReleaseError`
    naming the folder if its card is not a Gradio Space card or a file it names is missing."""
    folder = Path(folder)
    card_path = folder / CARD
    if not card_path.is_file():
        raise _refuse(folder, f"no {CARD} (the Space card with sdk: gradio)")
    try:
        data = SpaceCard.load(card_path).data
    except ValueError as error:
        raise _refuse(folder, f"{card_path}: unreadable card ({error})") from error
    if data.sdk != "gradio":
        raise _refuse(folder, f"{card_path}: sdk is {data.sdk!r}, not 'gradio'")
    for name in (data.app_file, "requirements.txt"):
        if not name or not (folder / name).is_file():
            raise _refuse(folder, f"no {name or 'app_file in the card'}: not a Space folder")
    try:  # refused: a symbolic link to a file outside the folder
        return Release(folder, "space", folder_files(folder, IGNORE_PATTERNS))
    except LinkOutsideError as error:
        raise _refuse(folder, str(error)) from error


def space_card(folder: str | Path, model_id: str, dataset_id: str | None = None) -> SpaceCard:
    """The Space's card with `models:` = [model_id] and `datasets:` = [dataset_id] (none
    without one: the folder's card names the dataset of its own example model)."""
    card = SpaceCard.load(Path(folder) / CARD)
    card.data.models = [model_id]
    card.data.datasets = [dataset_id] if dataset_id else None
    return card


def space_variables(model_id: str, model_revision: str | None = None) -> dict[str, str | None]:
    """The Space variables that make the app serve `model_id` at `model_revision` (None:
    the variable is to be absent, the app loading main)."""
    return {SPACE_MODEL_VARIABLE: model_id, SPACE_REVISION_VARIABLE: branch(model_revision)}


def publish_space(
    folder: str | Path,
    repo_id: str,
    model_id: str,
    *,
    model_revision: str | None = None,
    dataset_id: str | None = None,
    private: bool | None = None,
    commit_message: str | None = None,
    token: str | None = None,
    api: HfApi | None = None,
) -> str:
    """Create the Space `repo_id` if needed and upload the Space `folder`, serving `model_id`
    at `model_revision` (default: its main branch).

    The uploaded card names `model_id` (and `dataset_id`); the commit deletes the Space's
    files that the folder lacks. Once it is made, the Space variables (`space_variables`)
    are set where they differ: a failed commit leaves the Space as it was. Returns the URL
    of the commit; a failed Hub call raises `prixlm.hub.calls.PublishError` naming the step.
    """
    check_repo_id(repo_id, "repo_id")
    check_repo_id(model_id, "model_id")
    release = check_space(folder)
    wanted = space_variables(model_id, model_revision)
    revision = wanted[SPACE_REVISION_VARIABLE]
    served = f"{model_id} at {revision}" if revision else model_id
    where = f"publishing the Space {release.folder} to {repo_id}"
    api = api or HfApi(token=token)
    with hub_step(f"{where}: creating the Space repo"):
        url = api.create_repo(
            repo_id,
            repo_type="space",
            space_sdk="gradio",
            private=private,
            exist_ok=True,
            # a new Space's first build serves the model (an existing Space's stay as they are)
            space_variables=[{"key": k, "value": v} for k, v in wanted.items() if v is not None],
        )
    with hub_step(f"{where}: listing the files the Space holds"):
        remote = api.list_repo_files(url.repo_id, repo_type="space")
    card = str(space_card(release.folder, model_id, dataset_id)).encode("utf-8")
    # the Space mirrors the folder: a module an earlier app imported is not left beside it
    operations: list[CommitOperationAdd | CommitOperationDelete] = list(
        stale_operations(remote, release.files)
    )
    operations += upload_operations(release.folder, release.files, card)
    with hub_step(f"{where}: uploading {len(release.files)} files"):
        commit = api.create_commit(
            url.repo_id,
            operations,
            repo_type="space",
            commit_message=commit_message or f"Prix-LM Space serving {served}",
        )
    commit_url = str(getattr(commit, "commit_url", commit))
    # after the commit: a failed upload must not restart the old app on the new model
    step = f"{where}: setting the Space variables (the files are committed: {commit_url})"
    with hub_step(step):
        held = api.get_space_variables(url.repo_id)
        for key, value in wanted.items():
            now = getattr(held.get(key), "value", None)
            if value is None and key in held:
                api.delete_space_variable(url.repo_id, key)
            elif value is not None and now != value:
                api.add_space_variable(url.repo_id, key, value)
    return commit_url


def space_main(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """`python -m prixlm.publish DIR REPO_ID --space --model_id M ...` (parsed by `publish`)."""
    if not args.model_id:
        parser.error("--space needs --model_id: the model repo the Space serves")
    if args.revision:
        parser.error(
            "--revision: a Space is published to its main branch (the model's branch or tag "
            "the Space serves: --model_revision)"
        )
    if args.keep_card:
        parser.error(
            "--keep_card does not go with --space: the Space's card is always uploaded naming "
            "--model_id (models:) and --dataset_id (datasets:)"
        )
    try:
        release = check_space(args.folder)
    except NotAReleaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    revision = branch(args.model_revision)
    print(
        f"space {release.folder} -> {args.repo_id}: {len(release.files)} files; serves "
        f"{args.model_id}" + (f" at {revision}" if revision else "")
    )
    for name in release.files:
        print(f"  {name}")
    if args.dry_run:
        return 0
    with user_errors():  # PublishError: one line naming the failed step
        url = publish_space(
            args.folder,
            args.repo_id,
            args.model_id,
            model_revision=args.model_revision,
            dataset_id=args.dataset_id,
            private=args.private or None,
            commit_message=args.commit_message,
        )
    print(url)
    return 0


__all__ = [
    "SPACE_MODEL_VARIABLE",
    "SPACE_REVISION_VARIABLE",
    "check_space",
    "publish_space",
    "space_card",
    "space_variables",
]
