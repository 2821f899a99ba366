"""The package's ranking API on half-precision weights warns as the Hub pipeline does (their
rankings are not the float32 weights'), once per call at the caller's line, not per batch;
float32 weights give no warning. Without it a model loaded with `dtype=torch.bfloat16` gave
other metrics than the release's, silently (the exact full ranking, `score_candidates` and a
`PrixLMScorer`'s `evaluate_scorer`, did so after the beam search API warned)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from test_evaluate_lp import save_model_and_dataset, tiny_rows
from transformers import AutoTokenizer

import prixlm
from prixlm import PrixLMForCausalKB, PrixLMScorer, evaluate_scorer
from prixlm.link_prediction.evaluation import (
    EvaluationSettings,
    evaluate_dataset,
    evaluate_link_prediction,
)

MESSAGE = r"rankings differ from those of the float32 weights"
CALLS = ["predict_objects", "beam", "full", "dataset", "score_candidates", "scorer"]


@pytest.fixture(scope="module")
def saved(tiny_prixlm, tmp_path_factory) -> Path:
    """A saved tiny model folder (`model`) and its dataset folder (`data`, config `en`)."""
    return save_model_and_dataset(tiny_prixlm, tmp_path_factory.mktemp("half_precision"))[0]


def labels() -> list[str]:
    rows = tiny_rows()
    return sorted({r["subject"] for r in rows} | {r["object"] for r in rows})


def calls(model, tokenizer, saved: Path) -> dict:
    """Each API call, batch size 1 (several batches per call)."""
    rows = tiny_rows()[10:]
    settings = EvaluationSettings(mode="beam", num_beams=3, batch_size=1, progress=False)
    return {
        "predict_objects": lambda: prixlm.predict_objects(
            model, tokenizer, rows, labels(), num_beams=3, batch_size=1
        ),
        "beam": lambda: evaluate_link_prediction(
            model, tokenizer, rows, labels(), "beam", 3, batch_size=1
        ),
        "full": lambda: evaluate_link_prediction(
            model, tokenizer, rows, labels(), "full", batch_size=1
        ),
        "dataset": lambda: evaluate_dataset(
            model, tokenizer, "m", str(saved / "data"), ["en"], settings
        ),
        "score_candidates": lambda: prixlm.score_candidates(
            model, tokenizer, rows, labels(), batch_size=1, max_rows=1
        ).numel(),
        "scorer": lambda: evaluate_scorer(
            PrixLMScorer(model, tokenizer, batch_size=1, max_rows=1), rows, labels(), batch_size=1
        ),
    }


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_weights_warn_once_per_call(saved, call, dtype) -> None:
    model = PrixLMForCausalKB.from_pretrained(saved / "model", dtype=dtype)
    tokenizer = AutoTokenizer.from_pretrained(saved / "model")
    assert next(model.parameters()).dtype == dtype
    with pytest.warns(UserWarning, match=MESSAGE) as caught:
        result = calls(model, tokenizer, saved)[call]()
    assert result  # it still ranks
    precision = [w for w in caught if "rankings differ" in str(w.message)]
    assert len(precision) == 1  # not one per batch, nor per nested call
    assert precision[0].filename == __file__  # at the caller's line
    name = str(dtype).removeprefix("torch.")
    assert f"the model's weights are {name}" in str(precision[0].message)


@pytest.mark.parametrize("call", CALLS)
def test_float32_weights_do_not_warn(saved, call) -> None:
    model = PrixLMForCausalKB.from_pretrained(saved / "model")
    tokenizer = AutoTokenizer.from_pretrained(saved / "model")
    assert next(model.parameters()).dtype == torch.float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert calls(model, tokenizer, saved)[call]()
