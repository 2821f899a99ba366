"""A Hugging Face Hub cache built by a test: a folder as a cached repo, offline."""

from __future__ import annotations

import shutil
from pathlib import Path

#: The commit every repo built here is cached at (`refs/main`).
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def hub_repo(
    hf_home: Path, repo_id: str, folder: Path, drop: tuple[str, ...] = (), kind: str = "model"
) -> Path:
    """`folder` as the Hub cache's `repo_id` (`kind`: model or dataset) at main (`COMMIT`),
    without the files `drop`, in huggingface_hub's layout under `hf_home`; returns the
    repo's cache folder (its snapshot: `<it>/snapshots/COMMIT`)."""
    root = hf_home / "hub" / f"{kind}s--{repo_id.replace('/', '--')}"
    snapshot = root / "snapshots" / COMMIT
    shutil.copytree(folder, snapshot)
    for name in drop:
        (snapshot / name).unlink()
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(COMMIT)
    return root
