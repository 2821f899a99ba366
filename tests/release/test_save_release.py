"""`save_release(finalize=...)`: the last step (the model card) runs before the folder appears."""

from __future__ import annotations

from pathlib import Path

import pytest

from prixlm.release.folder import complete_release_folder


def test_finalize_runs_on_the_staging_folder_before_it_is_published(release_trainer, tmp_path):
    destination = tmp_path / "model"
    seen: list[tuple[str, bool, bool]] = []

    def finalize(folder: Path) -> None:
        seen.append((folder.name, destination.exists(), (folder / "candidates.json").is_file()))
        (folder / "README.md").write_text("# card\n", encoding="utf-8")

    def complete_then_card(folder: Path) -> None:
        complete_release_folder(folder, {"en": ["euro"]})
        finalize(folder)

    release_trainer.save_release(destination, finalize=complete_then_card)
    # ran once, in `.model.partial`, when the destination did not exist yet and the folder
    # was already self-contained (candidates written)
    assert seen == [(".model.partial", False, True)]
    assert (destination / "README.md").read_text(encoding="utf-8") == "# card\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_failing_finalize_leaves_no_folder_that_looks_complete(release_trainer, tmp_path):
    destination = tmp_path / "model"

    def finalize(folder: Path) -> None:
        raise RuntimeError("card failed")

    with pytest.raises(RuntimeError, match="card failed"):
        release_trainer.save_release(destination, finalize=finalize)
    assert not destination.exists()
