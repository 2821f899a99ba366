"""The options of `python -m prixlm.publish` that only one kind of upload reads.

Given where the upload would not read it, such an option is refused rather than dropped
without a word: `parser.error`, a usage line naming the option, the one it clashes with and
why, exit status 2. What the options alone tell is refused before any work (`check_options`);
`--dataset_id` on a folder whose card does not name it, once the folder is read
(`check_dataset_id`). `--space` refuses `--revision` and `--keep_card` itself
(`prixlm.publish_space.space_main`).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prixlm.publish import Release

#: The options only `--space` reads, each with what it means there.
SPACE_ONLY = {
    "model_id": "the model repo the Space serves; DIR itself goes to REPO_ID",
    "model_revision": "the model's branch or tag the Space serves; a model's own branch: --revision",
}


def check_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse (`parser.error`) an option of a model or dataset folder's upload (no `--space`)
    that it would not read: a `SPACE_ONLY` option, or `--dataset_id` with `--keep_card`."""
    for option, meaning in SPACE_ONLY.items():
        if getattr(args, option) is not None:
            parser.error(f"--{option} goes with --space ({meaning})")
    if args.keep_card and args.dataset_id is not None:
        parser.error(
            "--dataset_id does not go with --keep_card: the dataset is named on the card "
            "rendered for REPO_ID, and --keep_card uploads DIR's card as it is"
        )


def check_dataset_id(
    parser: argparse.ArgumentParser, args: argparse.Namespace, release: Release, rendered: bool
) -> None:
    """Refuse `--dataset_id` where no Prix-LM model card is `rendered` for the upload to
    name it on: a dataset folder, or a model folder whose card is not a Prix-LM card."""
    if args.dataset_id is None or rendered:
        return
    what = (
        "a dataset folder (the option names a model's training dataset)"
        if release.repo_type == "dataset"
        else "a model folder whose card is not a Prix-LM card: it is uploaded as it is"
    )
    parser.error(f"--dataset_id goes on a Prix-LM model card: DIR {release.folder} is {what}")


__all__ = ["SPACE_ONLY", "check_dataset_id", "check_options"]
