"""The repository holds every file of its code: an ignore rule never hides a source file."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CODE = ["prixlm", "modeling_prixlm", "dataset_builders", "evaluate_metrics", "tests", "bench"]

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout"
)


def _git(*args: str) -> list[str]:
    result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return result.stdout.splitlines()


def test_no_source_file_is_ignored():
    """A `.gitignore` rule meant for the top-level outputs folder once matched the package
    `prixlm/outputs/` too: a new module there was left out of commits without a word."""
    ignored = _git("ls-files", "--others", "--ignored", "--exclude-standard", "--", *CODE)
    sources = [path for path in ignored if "__pycache__" not in path and ".egg-info" not in path]
    assert sources == []
    assert _git("ls-files", "--cached", "--ignored", "--exclude-standard") == []


def test_every_package_folder_has_its_init():
    tracked = set(_git("ls-files", "--", "prixlm", "modeling_prixlm"))
    folders = {str(Path(path).parent) for path in tracked if path.endswith(".py")}
    assert sorted(f for f in folders if f"{f}/__init__.py" not in tracked) == []
