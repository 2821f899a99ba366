"""Small KG folders in the KEnS layout (entity lists, id triples, seed alignments), written
by a test."""

from __future__ import annotations

from pathlib import Path


def write_files(root: Path, files: dict[str, list[str]]) -> Path:
    """Write `files` (`{relative path: lines}`) under `root`, UTF-8, one LF a line."""
    for name, lines in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return root
