"""A tiny Prix-LM trained with `PrixLMTrainer` and released with its candidates."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import datasets
import pytest
from release_kb import CANDIDATES, LINKS, RELATIONS
from space_server import running_space, space_log, temp_folder
from tiny_models import TINY_FACTS, make_tiny_model

from modeling_prixlm.formatting import encode_link, encode_triple
from prixlm.release.folder import complete_release_folder
from prixlm.release.model_card import write_model_card
from prixlm.training.collator import PrixLMCollator
from prixlm.training.trainer import PrixLMTrainer


def _training_rows(tokenizer) -> datasets.Dataset:
    facts = [encode_triple(tokenizer, *fact) for fact in TINY_FACTS]
    facts += [encode_link(tokenizer, *link) for link in LINKS]
    return datasets.Dataset.from_list(
        [{"input_ids": f.input_ids, "labels": f.labels} for f in facts]
    )


@pytest.fixture(scope="session")
def release_trainer(tiny_tokenizer, tmp_path_factory) -> PrixLMTrainer:
    """A `PrixLMTrainer` after 40 steps on the tiny facts (its output_dir in a temp folder)."""
    from transformers import TrainingArguments

    root = tmp_path_factory.mktemp("release")
    model = make_tiny_model(tiny_tokenizer, seed=3, dropout=0.0)
    args = TrainingArguments(
        output_dir=str(root / "run"),
        max_steps=40,
        learning_rate=5e-3,
        per_device_train_batch_size=8,
        report_to="none",
        save_strategy="no",
        use_cpu=True,
        disable_tqdm=True,
        remove_unused_columns=False,
        seed=3,
    )
    trainer = PrixLMTrainer(
        model=model,
        args=args,
        train_dataset=_training_rows(tiny_tokenizer),
        data_collator=PrixLMCollator(tiny_tokenizer.pad_token_id),
        processing_class=tiny_tokenizer,
    )
    trainer.train()
    return trainer


@pytest.fixture(scope="session")
def released(release_trainer, tiny_tokenizer):
    """(model, tokenizer, release folder): `save_release` with `CANDIDATES` and `RELATIONS` (the folder is
    completed before it is published)."""
    root = Path(release_trainer.args.output_dir).parent
    folder = release_trainer.save_release(
        root / "model",
        finalize=lambda staging: complete_release_folder(staging, CANDIDATES, relations=RELATIONS),
    )
    return release_trainer.model.eval(), tiny_tokenizer, folder


#: The Space tests' model card widget (the app's examples and relations).
SPACE_WIDGET = ["Germany | currency", "France | official language", "Deutschland | Währung | de"]


@pytest.fixture(scope="session")
def space_model(released, tmp_path_factory) -> Path:
    """The release folder the Space tests serve: a copy of the tiny release with its model
    card, or the folder named by `PRIXLM_SPACE_TEST_MODEL` (e.g. `outputs/demo/run/model`)."""
    chosen = os.environ.get("PRIXLM_SPACE_TEST_MODEL")
    if chosen:
        return Path(chosen)  # relative to the repository root, where the app then runs
    folder = tmp_path_factory.mktemp("space") / "prixlm-tiny"
    shutil.copytree(released[2], folder)
    write_model_card(folder, repo_id="me/prixlm-tiny", widget=SPACE_WIDGET)
    return folder


@pytest.fixture(scope="session")
def space_pipeline(space_model):
    """`ask(query, top_k)`: the folder's own pipeline in this process, as the app runs it."""
    from transformers import pipeline

    pipe = pipeline(model=str(space_model), trust_remote_code=True)

    def ask(query, top_k=5):
        return pipe(query, top_k=top_k, num_beams=50)

    return ask


@pytest.fixture(scope="session")
def space_url(space_model, tmp_path_factory):
    """The URL of `space/app.py` serving `space_model` (one app for every Space test)."""
    workdir = tmp_path_factory.mktemp("space_run")
    root = Path(__file__).resolve().parents[2]
    cwd = root if os.environ.get("PRIXLM_SPACE_TEST_MODEL") else None
    with running_space(space_model, workdir, cwd=cwd) as url:
        yield url
    assert "Traceback" not in space_log(workdir), space_log(workdir)[-3000:]
    # stopped (SIGTERM), the app removed its batch outputs
    assert list(temp_folder(workdir).iterdir()) == []
