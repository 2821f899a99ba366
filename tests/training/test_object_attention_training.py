"""The mask a model is trained with: the paper's (prefix bidirectional, object causal) or causal,
never `bidirectional`, where every object token sees itself and the tokens after it (the model
learns to copy the answer and cannot generate it). `bidirectional` is an inference mode for the
converted official checkpoint (docs: OFFICIAL_RELEASE.md); `train.py` trained with it. A release continued
trains with its own mask by default."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tiny_models import official_checkpoint

from prixlm.cli import UsageError
from prixlm.training.arguments import ModelArguments, parse_training_arguments

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "--languages", "en,de", "--hidden_size", "16", "--num_hidden_layers", "1",
    "--num_attention_heads", "2", "--intermediate_size", "32", "--tokenizer_vocab_size", "120",
    "--max_steps", "1", "--warmup_steps", "0", "--per_device_train_batch_size", "8",
    "--gradient_accumulation_steps", "1",
    "--lp_eval_queries", "0", "--report_to", "none", "--disable_tqdm", "true",
]  # fmt: skip


def test_train_py_refuses_bidirectional_object_attention(tiny_dataset_dir, tmp_path):
    """The command line: a usage error naming the option and why, before any work (no run
    folder); it trained a model that copies its answers."""
    run = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "train.py", "--dataset", str(tiny_dataset_dir), "--output_dir", str(run),
         *TINY, "--object_attention", "bidirectional"],
        cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"},
        capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("train.py: error: --object_attention bidirectional: not for training")
    assert "copy the answer" in last and "prefix_bidirectional" in last
    assert "Traceback" not in done.stderr and not run.exists()


@pytest.mark.parametrize("mode", ["prefix_bidirectional", "causal"])
def test_the_training_masks_are_accepted(mode):
    run = parse_training_arguments(["--dataset", "d", "--object_attention", mode])
    assert run.model.object_attention == mode


def test_the_default_is_the_papers_mask():
    assert parse_training_arguments(["--dataset", "d"]).model.object_attention == (
        "prefix_bidirectional"
    )


def test_a_training_run_built_in_code_refuses_bidirectional_too():
    """`TrainingRun(ModelArguments(...), ...)` then `pretrain(run)`: no parser on that path."""
    with pytest.raises(UsageError, match="--object_attention bidirectional: not for training"):
        ModelArguments(object_attention="bidirectional")


def test_a_release_converted_for_bidirectional_inference_needs_a_training_mask(
    tiny_tokenizer, tmp_path, capsys
):
    """The converted official checkpoint (`object_attention: bidirectional` in its config) as
    `--base_model`: without `--object_attention`, a usage error before any work saying what
    to pass (its config's mode is no mask to train with); with it, continued with that mask."""
    from prixlm.release.convert_official import convert_official
    from prixlm.training.pretrain import build_model_and_tokenizer

    official = official_checkpoint(tiny_tokenizer, tmp_path / "official")
    converted = convert_official(official, tmp_path / "converted", object_attention="bidirectional")
    assert json.loads((converted / "config.json").read_text())["object_attention"] == (
        "bidirectional"
    )
    with pytest.raises(SystemExit) as exit_info:
        parse_training_arguments(["--dataset", "d", "--base_model", str(converted)])
    assert exit_info.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.endswith(
        f"error: --base_model {converted}: a Prix-LM release whose config says object_attention "
        "'bidirectional', an inference mode (the official decode.py's), not a mask to train "
        "with: pass --object_attention prefix_bidirectional (the paper's) or causal to "
        "continue it with that mask"
    )
    for mode in ("prefix_bidirectional", "causal"):
        argv = ["--dataset", "d", "--base_model", str(converted), "--object_attention", mode]
        run = parse_training_arguments(argv)
        model, _ = build_model_and_tokenizer(run.model, run.data, ["de", "en"], seed=0)
        assert (run.model.object_attention, model.config.object_attention) == (mode, mode)
        assert model.generation_config.use_cache and model.config.use_cache


def test_a_release_trains_with_its_own_mask_unless_told_otherwise(tiny_tokenizer, tmp_path):
    """A release trained `causal` (here the official checkpoint converted with its default)
    continues `causal`; `--object_attention` given replaces it."""
    from prixlm.release.convert_official import convert_official

    official = official_checkpoint(tiny_tokenizer, tmp_path / "official")
    converted = convert_official(official, tmp_path / "converted")
    base = ["--dataset", "d", "--base_model", str(converted)]
    assert parse_training_arguments(base).model.object_attention == "causal"
    given = parse_training_arguments([*base, "--object_attention=prefix_bidirectional"])
    assert given.model.object_attention == "prefix_bidirectional"


@pytest.mark.parametrize(
    ("option", "mode"),
    [([], "prefix_bidirectional"), (["--object_attention", "causal"], "causal")],
)
def test_continuing_the_official_release_trains_with_the_options_mask(
    tiny_tokenizer, tmp_path, option, mode
):
    """The release as published ran bidirectionally in `decode.py` (its config has no
    `is_decoder`): continued with train.py, the model is built with `--object_attention`'s
    mask, never full attention."""
    from prixlm.training.pretrain import build_model_and_tokenizer

    official = official_checkpoint(tiny_tokenizer, tmp_path / "official")
    run = parse_training_arguments(["--dataset", "d", "--base_model", str(official), *option])
    model, _ = build_model_and_tokenizer(run.model, run.data, ["de", "en"], seed=0)
    assert model.config.object_attention == mode
    assert model.generation_config.use_cache  # no bidirectional inference mode either
