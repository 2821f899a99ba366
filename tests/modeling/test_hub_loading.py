"""The real user path: save, then load through the Auto classes in a fresh process."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
import torch
from fresh_process import last_json_line, run_fresh
from safetensors.torch import load_file, save_file

from modeling_prixlm.formatting import encode_triple

# Runs with the project's packages made unimportable: only the saved folder's code may serve.
CHILD = textwrap.dedent(
    """
    import sys
    for name in ("modeling_prixlm", "prixlm", "dataset_builders"):
        sys.modules[name] = None
    import json, torch
    from safetensors.torch import load_file, save_file
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoTokenizer
    folder = sys.argv[1]
    config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
    inputs = load_file(folder + "/inputs.safetensors")
    results, names = {}, {"config": type(config).__name__, "tokenizer": type(tokenizer).__name__}
    for auto in (AutoModel, AutoModelForCausalLM):
        model = auto.from_pretrained(folder, trust_remote_code=True).eval()
        names[auto.__name__] = type(model).__name__
        with torch.no_grad():
            results[auto.__name__] = model(inputs["input_ids"]).logits.contiguous()
    results["tokenized"] = torch.tensor(tokenizer("Japan currency", add_special_tokens=False)["input_ids"])
    save_file(results, folder + "/child_logits.safetensors")
    print(json.dumps(names))
    """
)


def test_auto_classes_load_saved_folder_in_fresh_offline_process(tiny_prixlm, tmp_path: Path):
    model, tokenizer = tiny_prixlm
    folder = tmp_path / "prixlm-tiny"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    fact = encode_triple(tokenizer, "Japan", "currency", "Japanese yen")
    input_ids = torch.tensor([fact.input_ids])
    save_file({"input_ids": input_ids}, str(folder / "inputs.safetensors"))
    with torch.no_grad():
        expected = model(input_ids).logits

    config = json.loads((folder / "config.json").read_text())
    assert config["auto_map"] == {
        "AutoConfig": "configuration_prixlm.PrixLMConfig",
        "AutoModel": "modeling_prixlm.PrixLMForCausalKB",
        "AutoModelForCausalLM": "modeling_prixlm.PrixLMForCausalKB",
    }
    assert (folder / "model.safetensors").is_file() and not (folder / "pytorch_model.bin").exists()

    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    names = last_json_line(run_fresh(CHILD, folder, cwd=workdir, hf_home=tmp_path / "hf_home"))
    assert names == {
        "config": "PrixLMConfig",
        "tokenizer": "XLMRobertaTokenizer",
        "AutoModel": "PrixLMForCausalKB",
        "AutoModelForCausalLM": "PrixLMForCausalKB",
    }
    child = load_file(str(folder / "child_logits.safetensors"))
    for auto in ("AutoModel", "AutoModelForCausalLM"):
        torch.testing.assert_close(child[auto], expected, rtol=0, atol=1e-6)
    assert (
        child["tokenized"].tolist()
        == tokenizer("Japan currency", add_special_tokens=False)["input_ids"]
    )


@pytest.mark.parametrize(
    ("version", "refused"),
    [
        ("4.57.6", True),
        ("5.0.0", True),
        ("5.9.1", True),
        ("5.10.0.dev0", False),
        ("5.10.1", False),
        ("5.25.0", False),
        ("6.0.0", False),
    ],  # fmt: skip
)
def test_the_model_code_refuses_a_transformers_that_loads_it_wrongly(version, refused):
    """transformers 5.0-5.2 left the LM head's bias at 0 on loading (other objects ranked
    first, no warning), below 5.10 a folder's modules imported through others were not
    copied: the configuration module, loaded first, names the version to install."""
    from modeling_prixlm.configuration_prixlm import _check_transformers_version

    if refused:
        with pytest.raises(ImportError, match=rf"transformers >= 5\.10; this environment has {re.escape(version)}"):  # fmt: skip
            _check_transformers_version(version)
    else:
        _check_transformers_version(version)
