"""A folder Mirror-tuned with mean pooling before its config recorded the pooling (no
`prixlm_pooling` in `config.json`) is read with first-token pooling; the docs name the two
ways back to the pooling it was tuned with, and both give its mean-pooled embeddings."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from tiny_models import TINY_FACTS

import prixlm.similarity.embedder as embedder_module
import prixlm.similarity.mirror as mirror
from prixlm.similarity.embedder import load_embedder

ROOT = Path(__file__).resolve().parents[2]
TEXTS = sorted({part for fact in TINY_FACTS for part in fact})
REMEDY = '`pooling="mean"`'
CONFIG_REMEDY = '`"prixlm_pooling": "mean"`'


def _config(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text(encoding="utf-8"))


def test_a_mean_tuned_folder_without_the_key_needs_the_documented_pooling(tiny_prixlm, tmp_path):
    model, tokenizer = tiny_prixlm
    model.save_pretrained(tmp_path / "kb")
    tokenizer.save_pretrained(tmp_path / "kb")
    tuned = mirror.mirror_tune(tmp_path / "kb", tmp_path / "mean", TEXTS, max_steps=1, pooling="mean")  # fmt: skip
    as_tuned = load_embedder(str(tuned)).embed(TEXTS)  # the recorded mean pooling
    config = _config(tuned)
    del config["prixlm_pooling"]  # as a folder tuned before the key was written
    (tuned / "config.json").write_text(json.dumps(config), encoding="utf-8")

    unrecorded = load_embedder(str(tuned))
    assert unrecorded.pooling == "first"
    assert (unrecorded.embed(TEXTS) - as_tuned).abs().max() > 1e-3
    passed = load_embedder(str(tuned), pooling="mean")
    torch.testing.assert_close(passed.embed(TEXTS), as_tuned, rtol=0, atol=0)

    (tuned / "config.json").write_text(json.dumps({**config, "prixlm_pooling": "mean"}))
    restored = load_embedder(str(tuned))
    assert restored.pooling == "mean"
    torch.testing.assert_close(restored.embed(TEXTS), as_tuned, rtol=0, atol=0)


def test_the_docs_tell_such_folders_how_to_get_their_pooling_back():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| embeddings of any"))
    assert "no `prixlm_pooling` in its `config.json`" in row
    assert REMEDY in row.split("before its config recorded")[1] and CONFIG_REMEDY in row
    for text in (embedder_module.__doc__, embedder_module.model_pooling.__doc__):
        assert "before" in text and REMEDY in text and CONFIG_REMEDY in text
