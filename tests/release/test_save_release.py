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


def test_weights_that_are_not_finite_are_refused_before_anything_is_written(
    tiny_tokenizer, tmp_path
):
    """A run that diverged (NaN weights) was released, and its card published the 0.0 hits
    that beam search gave the NaN model as measured results."""
    import math

    import torch
    from tiny_models import make_tiny_model
    from transformers import TrainingArguments

    from prixlm.cli import UsageError
    from prixlm.release.finite_weights import check_finite_weights
    from prixlm.training.trainer import PrixLMTrainer

    model = make_tiny_model(tiny_tokenizer, dropout=0.0)
    check_finite_weights(model)  # finite: nothing to say
    with torch.no_grad():
        model.roberta.encoder.layer[1].output.dense.weight[3, :2] = math.nan
        model.roberta.encoder.layer[1].output.dense.weight[4, 0] = -math.inf
        model.lm_head.bias[5] = math.inf  # a later tensor
    args = TrainingArguments(output_dir=str(tmp_path / "run"), use_cpu=True, report_to="none")
    trainer = PrixLMTrainer(model=model, args=args)
    with pytest.raises(UsageError) as refusal:
        trainer.save_release(tmp_path / "model")
    assert str(refusal.value) == (
        "training diverged: the weights are not all finite "
        "('roberta.encoder.layer.1.output.dense.weight' holds 2 NaN and 1 infinite values of "
        "2048, and 1 more tensor is not finite); no release is written from them: lower "
        "--learning_rate or resume from an earlier checkpoint"
    )
    assert not (tmp_path / "model").exists() and not list(tmp_path.glob(".model*"))
