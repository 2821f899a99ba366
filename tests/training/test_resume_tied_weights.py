"""A resume loads the checkpoint's weights: keys tied to a loaded one (the LM head's decoder
is the word embeddings; transformers 5 saves one of the two) are not reported missing; a
key that is really missing still is."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from safetensors.torch import load_file, save_file
from test_train_runs import _args

from prixlm.training.arguments import parse_training_arguments
from prixlm.training.pretrain import pretrain

STEPS = ["--max_steps", "4", "--save_steps", "2"]
WARNING = "There were missing keys in the checkpoint model loaded"


def _resume(dataset: Path, checkpoint: Path, output: Path) -> Path:
    """Resume `checkpoint` (copied into `output`) to the end of the run."""
    shutil.copytree(checkpoint, output / checkpoint.name)
    resume = ["--resume_from_checkpoint", str(output / checkpoint.name)]
    return pretrain(parse_training_arguments(_args(dataset, output, *STEPS, *resume)))


def test_a_resume_reports_only_really_missing_keys(tiny_dataset_dir, tmp_path, caplog):
    finished = tmp_path / "finished"
    pretrain(parse_training_arguments(_args(tiny_dataset_dir, finished, *STEPS)))
    checkpoint = finished / "checkpoint-2"
    saved = load_file(str(checkpoint / "model.safetensors"))
    # what transformers 5 leaves out of the file: the tied copies
    assert "lm_head.decoder.weight" not in saved and "lm_head.decoder.bias" not in saved
    caplog.clear()
    caplog.set_level(logging.WARNING, logger="transformers")

    release = _resume(tiny_dataset_dir, checkpoint, tmp_path / "whole")
    results = json.loads((release / "train_results.json").read_text("utf-8"))
    assert results["resumed_from_step"] == 2
    assert [r.getMessage() for r in caplog.records if WARNING in r.getMessage()] == []
    ours, theirs = (load_file(str(f / "model.safetensors")) for f in (release, finished / "model"))
    assert all(bool((ours[key] == theirs[key]).all()) for key in theirs)  # loaded whole

    cut = tmp_path / "cut" / checkpoint.name
    shutil.copytree(checkpoint, cut)
    del saved["lm_head.dense.weight"]  # removed by hand: really missing
    save_file(saved, str(cut / "model.safetensors"), metadata={"format": "pt"})
    caplog.clear()
    _resume(tiny_dataset_dir, cut, tmp_path / "partial")
    warned = [r.getMessage() for r in caplog.records if WARNING in r.getMessage()]
    assert warned == [f"{WARNING}: ['lm_head.dense.weight']."]


def test_a_tied_key_counts_as_missing_with_its_partner_or_once_untied(tiny_tokenizer):
    import torch
    from tiny_models import make_tiny_model

    from prixlm.training.tied_weights import untied_missing_keys

    model = make_tiny_model(tiny_tokenizer)  # its own: it is untied below
    head, embeddings = "lm_head.decoder.weight", "roberta.embeddings.word_embeddings.weight"
    assert untied_missing_keys(model, [head, "lm_head.decoder.bias"]) == []
    assert untied_missing_keys(model, [embeddings]) == []  # its copy, the decoder's, loaded
    both = [head, embeddings, "lm_head.dense.weight"]
    assert untied_missing_keys(model, both) == both  # neither copy was in the checkpoint
    model.lm_head.decoder.weight = torch.nn.Parameter(model.lm_head.decoder.weight.clone())
    assert untied_missing_keys(model, [head]) == [head]  # no longer the embeddings' tensor
