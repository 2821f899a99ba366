"""Training facts and candidate labels longer than the model's positions: refused before any
training step (facts), or left out and counted (candidates), never a crash mid-run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

from prixlm.cli import UsageError
from prixlm.training import pretrain as pretrain_module
from prixlm.training.arguments import parse_training_arguments
from prixlm.training.pretrain import pretrain
from prixlm.training.tokenizer_training import train_tokenizer

TINY = [
    "--languages", "en,de", "--hidden_size", "32", "--num_hidden_layers", "2",
    "--num_attention_heads", "2", "--intermediate_size", "64", "--tokenizer_vocab_size", "120",
    "--learning_rate", "3e-3", "--warmup_steps", "0", "--per_device_train_batch_size", "8",
    "--report_to", "none", "--disable_tqdm", "true", "--seed", "7", "--use_cpu",
    "--dataloader_num_workers", "0",
]  # fmt: skip


def _run(dataset: Path, output: Path, *options: str):
    return parse_training_arguments(
        ["--dataset", str(dataset), "--output_dir", str(output), *TINY, *options]
    )


def _base_model_run(dataset: Path, output: Path, base_model: Path, *options: str):
    """`_run` continuing `base_model`: without the options of a model from scratch (refused
    with `--base_model`)."""
    scratch = {"--hidden_size", "--num_hidden_layers", "--num_attention_heads",
               "--intermediate_size", "--tokenizer_vocab_size"}  # fmt: skip
    kept = [x for i, x in enumerate(TINY) if x not in scratch and TINY[i - 1] not in scratch]
    return parse_training_arguments(
        ["--dataset", str(dataset), "--output_dir", str(output), *kept,
         "--base_model", str(base_model), *options]
    )  # fmt: skip


@pytest.fixture
def no_training(monkeypatch):
    """Training fails the test: the refusals come before any step."""

    def refuse(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(pretrain_module.PrixLMTrainer, "train", refuse)


@pytest.fixture(scope="module")
def xlmr_checkpoint(tmp_path_factory) -> Path:
    """A tiny XLM-R masked LM whose positions hold 64 tokens, with its own tokenizer."""
    folder = tmp_path_factory.mktemp("xlmr") / "xlmr64"
    texts = ["Germany", "Deutschland", "Japan", "euro", "Euro", "Yen", "currency", "x"] * 5
    tokenizer = train_tokenizer(texts, vocab_size=80)
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=66,
    )  # fmt: skip
    torch.manual_seed(0)
    XLMRobertaForMaskedLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_max_fact_length_0_with_a_fact_beyond_the_positions_is_a_usage_error(
    long_label_dataset_dir, tmp_path, no_training
):
    """`--max_fact_length 0` keeps every fact, and a model built here holds 510 tokens: a
    longer fact was a `ValueError` traceback at whichever step drew its batch."""
    run = _run(long_label_dataset_dir, tmp_path / "run", "--max_fact_length", "0")
    with pytest.raises(UsageError) as refused:
        pretrain(run)
    message = str(refused.value)
    assert message.startswith("the longest training fact has ")
    longest = int(message.split("has ")[1].split()[0])
    assert longest > 510 and "more than the 510 that a model built with" in message
    assert f"--max_fact_length {longest + 1} keeps every fact" in message
    assert not list((tmp_path / "run").glob("checkpoint-*"))


def test_a_max_fact_length_beyond_a_base_model_s_positions_is_refused(
    tiny_dataset_dir, xlmr_checkpoint, tmp_path, no_training
):
    run = _base_model_run(tiny_dataset_dir, tmp_path / "run", xlmr_checkpoint,
                          "--max_fact_length", "200")  # fmt: skip
    with pytest.raises(UsageError) as refused:
        pretrain(run)
    assert str(refused.value) == (
        f"--max_fact_length 200: the positions of --base_model {xlmr_checkpoint} hold 64 "
        "tokens, and facts of up to 199 tokens would be kept; pass --max_fact_length 65 or "
        "less (facts that long or longer are dropped)"
    )


def test_a_base_model_with_max_fact_length_0_refuses_facts_beyond_its_positions(
    long_label_dataset_dir, xlmr_checkpoint, tmp_path, no_training
):
    run = _base_model_run(long_label_dataset_dir, tmp_path / "run", xlmr_checkpoint,
                          "--max_fact_length", "0")  # fmt: skip
    with pytest.raises(UsageError, match=r"^the longest training fact has \d+ tokens, more "
                       r"than the 64 that the positions of --base_model .* hold: pass "
                       r"--max_fact_length 65 or less to drop the longer facts$"):  # fmt: skip
        pretrain(run)


def test_a_candidate_label_beyond_the_positions_is_left_out_of_the_curve_and_the_release(
    long_label_dataset_dir, tmp_path
):
    """One English label longer than the positions killed the run before step 1 (the
    link-prediction curve's `PositionBudgetError`), and without the curve it was written
    to `candidates.json`, where every English query of the release failed."""
    long_label = "Japanese yen" + " x" * 600  # the fixture's LONG_LABEL
    run = _run(long_label_dataset_dir, tmp_path / "run", "--max_steps", "2", "--save_steps",
               "2", "--lp_eval_queries", "4", "--lp_eval_beams", "2", "--lp_eval_split", "train")  # fmt: skip
    with pytest.warns(UserWarning, match=r"candidates\['en'\]: 1 of the 10 candidate labels"):
        release = pretrain(run)
    results = json.loads((release / "train_results.json").read_text())
    settings = results["checkpoint_link_prediction_settings"]
    assert settings["candidates_too_long"] == {"en": 1}
    assert [record["step"] for record in results["checkpoint_link_prediction"]] == [0, 2]
    candidates = json.loads((release / "candidates.json").read_text())
    assert long_label not in candidates["en"] and "Japanese yen" not in candidates["en"]
    assert len(candidates["en"]) == 9 and "Yen" in candidates["de"]


def test_train_py_names_a_query_and_candidate_the_positions_cannot_hold(
    tiny_dataset_dir, tmp_path, monkeypatch, capsys
):
    """A base model with few positions can hold each fact but not the curve's longest query
    beside its longest candidate: one `error:` line, exit 2 (was a traceback)."""
    import train
    from modeling_prixlm.decoding_steps import PositionBudgetError

    def too_long(run, callbacks=(), command=None):
        raise PositionBudgetError("query 'x' (30 tokens) with candidate 'y' needs 71 positions")

    monkeypatch.setattr(pretrain_module, "pretrain", too_long)
    with pytest.raises(SystemExit) as stopped:
        train.main(["--dataset", str(tiny_dataset_dir), "--output_dir", str(tmp_path / "r"), *TINY])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "error: query 'x' (30 tokens) with candidate 'y' needs 71 positions"
    )
