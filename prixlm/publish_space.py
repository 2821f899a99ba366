"""Publish the Gradio Space (`space/`) that serves a published model: `--space` of `prixlm.publish`.

    python -m prixlm.publish space/ me/prixlm-demo-space --space --model_id me/prixlm-demo [--dataset_id me/prixlm-cldr-kb] [--private] [--dry_run]

The Space folder is its card `README.md` (Space YAML with `sdk: gradio` and `app_file`),
the app and `requirements.txt`. The uploaded card names the model (`models:`) and dataset
(`datasets:`); the Space variable `PRIXLM_MODEL` tells the app which model to serve. The repo
is created as a Gradio Space if needed; files go in one commit, without `IGNORE_PATTERNS`.
A failed Hub call is one `error:` line naming the step (`prixlm.hub_calls.hub_step`), exit 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from huggingface_hub import HfApi, SpaceCard
from huggingface_hub.utils import filter_repo_objects

from prixlm.cli import user_errors
from prixlm.hub_calls import CARD, check_repo_id, hub_step, upload_operations
from prixlm.publish import IGNORE_PATTERNS, NotAReleaseError, Release, _refuse

#: The Space variable naming the model the app serves (`MODEL_ENV` of `space/app.py`).
SPACE_MODEL_VARIABLE = "PRIXLM_MODEL"


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
    every = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    return Release(
        folder, "space", list(filter_repo_objects(every, ignore_patterns=IGNORE_PATTERNS))
    )


def space_card(folder: str | Path, model_id: str, dataset_id: str | None = None) -> SpaceCard:
    """The Space's card with `models:` = [model_id] and `datasets:` = [dataset_id] (none
    without one: the folder's card names the dataset of its own example model)."""
    card = SpaceCard.load(Path(folder) / CARD)
    card.data.models = [model_id]
    card.data.datasets = [dataset_id] if dataset_id else None
    return card


def publish_space(
    folder: str | Path,
    repo_id: str,
    model_id: str,
    *,
    dataset_id: str | None = None,
    private: bool | None = None,
    commit_message: str | None = None,
    token: str | None = None,
    api: HfApi | None = None,
) -> str:
    """Create the Space `repo_id` if needed and upload the Space `folder`, serving `model_id`.

    The uploaded card names `model_id` (and `dataset_id`); the Space variable
    `SPACE_MODEL_VARIABLE` is set to `model_id`. Returns the URL of the commit; a failed Hub
    call raises `prixlm.hub_calls.PublishError` naming the step.
    """
    check_repo_id(repo_id, "repo_id")
    check_repo_id(model_id, "model_id")
    release = check_space(folder)
    where = f"publishing the Space {release.folder} to {repo_id}"
    api = api or HfApi(token=token)
    with hub_step(f"{where}: creating the Space repo"):
        url = api.create_repo(
            repo_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True
        )
    with hub_step(f"{where}: setting the Space variable {SPACE_MODEL_VARIABLE}"):
        api.add_space_variable(url.repo_id, SPACE_MODEL_VARIABLE, model_id)
    card = str(space_card(release.folder, model_id, dataset_id)).encode("utf-8")
    operations = upload_operations(release.folder, release.files, card)
    with hub_step(f"{where}: uploading {len(release.files)} files"):
        commit = api.create_commit(
            url.repo_id,
            operations,
            repo_type="space",
            commit_message=commit_message or f"Prix-LM Space serving {model_id}",
        )
    return str(getattr(commit, "commit_url", commit))


def space_main(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """`python -m prixlm.publish DIR REPO_ID --space --model_id M ...` (parsed by `publish`)."""
    if not args.model_id:
        parser.error("--space needs --model_id: the model repo the Space serves")
    if args.revision:
        parser.error("--revision: a Space is published to its main branch")
    try:
        release = check_space(args.folder)
    except NotAReleaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"space {release.folder} -> {args.repo_id}: {len(release.files)} files")
    for name in release.files:
        print(f"  {name}")
    if args.dry_run:
        return 0
    with user_errors():  # PublishError: one line naming the failed step
        url = publish_space(
            args.folder,
            args.repo_id,
            args.model_id,
            dataset_id=args.dataset_id,
            private=args.private or None,
            commit_message=args.commit_message,
        )
    print(url)
    return 0


__all__ = ["SPACE_MODEL_VARIABLE", "check_space", "publish_space", "space_card"]
