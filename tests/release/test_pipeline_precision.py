"""The release's pipeline on half-precision weights: it ranks, and says that its rankings are
not the float32 weights' (loaded with `dtype=`, or from a folder re-saved in bf16, which
transformers then loads in bf16 by default)."""

from __future__ import annotations

import shutil
import warnings

import pytest
import torch
from transformers import AutoModelForCausalLM, pipeline

QUERIES = ["Germany | currency", "Japan | official language", "Deutschland | Währung | de"]


def _pipeline(folder, **kwargs):
    """The folder's pipeline and the warnings its construction gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pipe = pipeline(model=str(folder), trust_remote_code=True, **kwargs)
    return pipe, caught


def _answers(pipe):
    return [pipe(query, top_k=10, num_beams=10) for query in QUERIES]


def _precision_warnings(caught):
    return [w for w in caught if "rankings differ from those of the float32" in str(w.message)]


def test_float32_weights_give_no_precision_warning(released):
    pipe, caught = _pipeline(released[2])
    assert next(pipe.model.parameters()).dtype == torch.float32
    assert _precision_warnings(caught) == []


@pytest.mark.parametrize(
    "kwargs",
    [{"dtype": torch.bfloat16}, {"model_kwargs": {"dtype": torch.float16}}],
    ids=["dtype_bf16", "model_kwargs_fp16"],
)
def test_half_precision_weights_rank_with_a_warning_at_the_callers_line(released, kwargs):
    exact, _ = _pipeline(released[2])
    half, caught = _pipeline(released[2], **kwargs)
    dtype = next(half.model.parameters()).dtype
    assert dtype in (torch.bfloat16, torch.float16)
    (warning,) = _precision_warnings(caught)
    assert warning.category is UserWarning and warning.filename == __file__
    name = str(dtype).removeprefix("torch.")
    assert f"weights are {name}" in str(warning.message)
    assert "dtype=torch.float32" in str(warning.message)
    expected, got = _answers(exact), _answers(half)
    # it still ranks every candidate, with scores rounded: what the warning is about
    deltas = []
    for fp32, rounded in zip(expected, got, strict=True):
        scores = {a["object"]: a["score"] for a in fp32}
        assert sorted(a["object"] for a in rounded) == sorted(scores)
        deltas += [abs(a["score"] - scores[a["object"]]) for a in rounded]
    assert 1e-4 < max(deltas) < 0.5


def test_a_folder_resaved_in_bf16_loads_in_bf16_and_warns(released, tmp_path):
    """`save_pretrained` after a bf16 load writes `dtype: bfloat16`: every later default load
    (transformers' `dtype="auto"`) is bf16, without the user asking for it."""
    folder = released[2]
    model = AutoModelForCausalLM.from_pretrained(
        str(folder), trust_remote_code=True, dtype=torch.bfloat16
    )
    resaved = tmp_path / "resaved"
    model.save_pretrained(resaved)
    for name in ("tokenizer.json", "tokenizer_config.json", "candidates.json", "relations.json"):
        shutil.copyfile(folder / name, resaved / name)
    pipe, caught = _pipeline(resaved)  # no dtype given
    assert next(pipe.model.parameters()).dtype == torch.bfloat16
    (warning,) = _precision_warnings(caught)
    assert "weights are bfloat16" in str(warning.message)
