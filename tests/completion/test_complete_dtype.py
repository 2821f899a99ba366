"""`--dtype` of `prixlm.complete` and `prixlm.completion.measure` reaches the model they
load (`auto`: as saved; `bfloat16` casts a float32 model on load), and completion on half
precision weights warns as link prediction does."""

from __future__ import annotations

import pytest
import torch
from completion_kb import run_complete

import prixlm.complete
import prixlm.model_loading
from prixlm.completion import measure


@pytest.fixture
def loaded_dtypes(monkeypatch) -> list[torch.dtype]:
    """The dtype of each model the commands load, in order."""
    dtypes, load = [], prixlm.model_loading.load_prixlm

    def recording(*args, **kwargs):
        model, tokenizer = load(*args, **kwargs)
        dtypes.append(next(model.parameters()).dtype)
        return model, tokenizer

    monkeypatch.setattr(prixlm.model_loading, "load_prixlm", recording)
    return dtypes


def test_complete_and_measure_load_the_model_in_the_dtype_asked(
    completion_kb, tmp_path, loaded_dtypes
):
    dataset, model = completion_kb
    run_complete(dataset, model, tmp_path / "a.nt", "--threshold", "0.3")
    with pytest.warns(UserWarning, match="the model's weights are bfloat16"):
        run_complete(dataset, model, tmp_path / "b.nt", "--dtype", "bfloat16")
    measure_argv = ["--model", str(model), "--dataset", str(dataset), "--target_language", "de",
                    "--num_beams", "2", "--max_per_pair", "1"]  # fmt: skip
    measure.main([*measure_argv, "--output", str(tmp_path / "auto.json")])
    with pytest.warns(UserWarning, match="the model's weights are bfloat16"):
        measure.main([*measure_argv, "--dtype", "bfloat16", "--output", str(tmp_path / "b.json")])
    assert loaded_dtypes == [torch.float32, torch.bfloat16, torch.float32, torch.bfloat16]
