"""`--dtype` of the ranking command lines (evaluate_lp, complete, measure): a model saved in
bf16 loads as saved (`auto`, transformers' default) and the command says which option ranks
in float32; `--dtype float32` casts it on load, and its report records float32 and ranks as
the float32 copy of the same weights does. Without it the only way to rank such a release
in float32 was to convert the folder by hand (the warning's advice, `dtype=torch.float32`,
named a Python argument no command took)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file
from test_evaluate_lp import save_model_and_dataset

from prixlm.link_prediction.evaluate_lp import main

NOTE = "note: the model was saved in bfloat16 and is ranked in it; --dtype float32 ranks in float32"


@pytest.fixture(scope="module")
def folders(tiny_prixlm, tmp_path_factory):
    """`(root, bf16 model folder, float32 model folder of the same rounded weights)`."""
    root = save_model_and_dataset(tiny_prixlm, tmp_path_factory.mktemp("dtype"))[0]
    weights = load_file(root / "model" / "model.safetensors")
    for name, dtype in (("bf16", torch.bfloat16), ("rounded", torch.float32)):
        folder = root / name
        shutil.copytree(root / "model", folder)
        rounded = {k: v.to(torch.bfloat16).to(dtype) for k, v in weights.items()}
        save_file(rounded, folder / "model.safetensors", metadata={"format": "pt"})
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        config["dtype"] = str(dtype).removeprefix("torch.")
        (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return root, root / "bf16", root / "rounded"


def evaluate(root, model, *options) -> dict:
    argv = ["--model", str(model), "--dataset", str(root / "data"), "--languages", "en",
            "--mode", "full", *options]  # fmt: skip
    return main(argv)


def test_a_bf16_release_ranks_as_saved_and_says_how_to_rank_in_float32(folders, capsys):
    root, bf16, rounded = folders
    with pytest.warns(UserWarning, match="rankings differ from those of the float32"):
        saved = evaluate(root, bf16)
    assert saved["dtype"] == "bfloat16"
    assert NOTE in capsys.readouterr().err.splitlines()

    cast = evaluate(root, bf16, "--dtype", "float32")
    assert cast["dtype"] == "float32"
    assert NOTE not in capsys.readouterr().err
    reference = evaluate(root, rounded)  # the same weights saved in float32
    assert reference["dtype"] == "float32"
    assert cast["results"] == reference["results"]


def test_dtype_bfloat16_casts_a_float32_model_and_warns(folders, capsys):
    root, _, rounded = folders
    with pytest.warns(UserWarning, match="the model's weights are bfloat16"):
        report = evaluate(root, rounded, "--dtype", "bfloat16")
    assert report["dtype"] == "bfloat16"
    assert "note: the model was saved in" not in capsys.readouterr().err  # asked for: no note


def test_dtype_takes_only_torch_float_types(folders, capsys):
    root, bf16, _ = folders
    with pytest.raises(SystemExit) as exit_info:
        evaluate(root, bf16, "--dtype", "fp32")
    assert exit_info.value.code == 2
    assert "--dtype: invalid choice: 'fp32'" in capsys.readouterr().err
