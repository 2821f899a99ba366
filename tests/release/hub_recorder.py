"""Offline stand-ins for the Hub calls of an upload, and the tiny KB built as a dataset folder.

`record_hub_calls(monkeypatch)` patches `HfApi.create_repo`, `repo_info`, `create_branch` and
`create_commit` (the Hub has no dry run), routes `upload_folder` to its single-commit path
(`create_commit`; with `hf_xet` installed it would otherwise stream through its own
pipeline) and skips the server-side YAML check. Everything else in `upload_folder` (the file
listing and the ignore patterns) runs for real.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import huggingface_hub.hf_api as hf_api
from huggingface_hub import HfApi

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class HubCalls:
    repos: list[dict[str, Any]] = field(default_factory=list)
    branches: list[dict[str, Any]] = field(default_factory=list)
    commits: list[dict[str, Any]] = field(default_factory=list)
    #: the files the repo already holds (`list_repo_files`)
    remote: list[str] = field(default_factory=lambda: [".gitattributes"])
    #: the visibility of a repo that exists already (None: created by the upload)
    existing_private: bool | None = None

    def deleted(self, index: int = -1) -> list[str]:
        """The paths commit `index` deletes, sorted."""
        return sorted(
            op.path_in_repo
            for op in self.commits[index]["operations"]
            if type(op).__name__ == "CommitOperationDelete"
        )

    def sent(self, index: int = -1) -> list[str]:
        """The paths commit `index` adds, sorted."""
        return sorted(
            op.path_in_repo
            for op in self.commits[index]["operations"]
            if type(op).__name__ != "CommitOperationDelete"
        )


def record_hub_calls(monkeypatch) -> HubCalls:
    calls = HubCalls()

    def create_repo(self, repo_id, *, repo_type=None, private=None, exist_ok=False, **kwargs):
        calls.repos.append(
            {"repo_id": repo_id, "repo_type": repo_type, "private": private, "exist_ok": exist_ok}
        )
        prefix = "" if repo_type in (None, "model") else f"{repo_type}s/"
        return hf_api.RepoUrl(f"https://huggingface.co/{prefix}{repo_id}")

    def create_branch(self, repo_id, *, branch, repo_type=None, exist_ok=False, **kwargs):
        calls.branches.append({"repo_id": repo_id, "branch": branch, "repo_type": repo_type})

    def create_commit(self, repo_id, operations, *, commit_message, repo_type=None, **kwargs):
        calls.commits.append(
            {
                "repo_id": repo_id,
                "repo_type": repo_type,
                "operations": list(operations),
                "commit_message": commit_message,
                "revision": kwargs.get("revision"),
            }
        )
        return hf_api.CommitInfo(
            commit_url=f"https://huggingface.co/{repo_id}/commit/0",
            commit_message=commit_message,
            commit_description="",
            oid="0" * 40,
        )

    def repo_info(self, repo_id, *, repo_type=None, **kwargs):
        created = calls.repos[-1]["private"] if calls.repos else None
        private = calls.existing_private if calls.existing_private is not None else created
        return SimpleNamespace(id=repo_id, private=bool(private))

    monkeypatch.setattr(HfApi, "create_repo", create_repo)
    monkeypatch.setattr(HfApi, "repo_info", repo_info)
    monkeypatch.setattr(HfApi, "create_branch", create_branch)
    monkeypatch.setattr(HfApi, "create_commit", create_commit)
    monkeypatch.setattr(HfApi, "list_repo_files", lambda self, *a, **k: list(calls.remote))
    monkeypatch.setattr(HfApi, "_validate_yaml", lambda self, content, **kwargs: None)
    monkeypatch.setattr(hf_api, "is_xet_available", lambda: False)
    return calls


def build_tiny_dataset(folder: Path) -> Path:
    """The two-language tiny KB of `tests/training/conftest.py`, built at `folder`."""
    spec = importlib.util.spec_from_file_location(
        "training_tiny_kb", ROOT / "tests" / "training" / "conftest.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build_dataset(module.write_tiny_dumps(folder.parent / "dumps"), folder, ["en", "de"])
    return folder
