"""Loading a release needs no Hub kernels, and a failure that is not the weights' does not
blame them.

transformers 5.25 loads every model with `use_kernels` on unless told otherwise, and then
refuses to load it on a machine without the `kernels` package (the GPU machines' image): every
trained release failed to load there, reported as "cannot load its weights".
"""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from modeling_prixlm.formatting import encode_triple_prompt
from prixlm import model_loading
from prixlm.cli import UsageError
from prixlm.model_loading import load_prixlm

KERNELS_MISSING = (
    "Kernels are not available. Please install a compatible version (0.19.1 <= version < "
    "0.20.0), e.g. `pip install kernels==0.19.1`"
)


@pytest.fixture()
def release(tiny_prixlm, tmp_path):
    """A tiny Prix-LM saved as a release folder, and the logits it gives for one input."""
    model, tokenizer = tiny_prixlm
    folder = tmp_path / "model"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    inputs = {"input_ids": torch.tensor([encode_triple_prompt(tokenizer, "Germany", "currency")])}
    with torch.no_grad():
        logits = model(**inputs).logits
    return folder, inputs, logits


def test_a_release_loads_on_a_machine_without_the_kernels_package(release, monkeypatch):
    """As on the GPU machines: no `kernels` package, USE_HUB_KERNELS unset."""
    import transformers.modeling_utils

    folder, inputs, logits = release
    monkeypatch.delenv("USE_HUB_KERNELS", raising=False)
    monkeypatch.setattr(transformers.modeling_utils, "is_kernels_available", lambda: False)
    loaded, _ = load_prixlm(folder, "cpu")
    assert loaded.use_kernels is False
    with torch.no_grad():
        again = loaded(**inputs).logits
    torch.testing.assert_close(again, logits, rtol=0, atol=0)


def test_a_load_failure_not_about_the_weights_names_its_own_cause(release, monkeypatch):
    folder, _, _ = release

    def fails(*args, **kwargs):
        raise ValueError(KERNELS_MISSING)

    monkeypatch.setattr(model_loading, "_from_own_code", fails)
    with pytest.raises(UsageError) as caught:
        load_prixlm(folder, "cpu")
    assert str(caught.value) == f"--model {folder}: cannot load it ({KERNELS_MISSING})"


def test_weights_that_do_not_fit_the_config_are_still_the_weights(release, tmp_path):
    """The shapes of the saved tensors and of the config differ (intermediate_size)."""
    folder, _, _ = release
    other = tmp_path / "narrower"
    shutil.copytree(folder, other)
    config = json.loads((other / "config.json").read_text(encoding="utf-8"))
    config["intermediate_size"] = 48
    (other / "config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        load_prixlm(other, "cpu")
    assert str(caught.value).startswith(f"--model {other}: cannot load its weights (")
    (other / "model.safetensors").unlink()
    with pytest.raises(UsageError) as caught:
        load_prixlm(other, "cpu")
    assert str(caught.value).startswith(f"--model {other}: cannot load its weights (Error no file")


def test_xlmr_starting_points_load_without_the_kernels_package(tmp_path, monkeypatch):
    """`train.py --base_model` (`from_xlm_roberta`) and the encoder embedder load an XLM-R
    folder on a machine without `kernels` too: no Hub kernels are asked for."""
    import transformers.modeling_utils
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

    from modeling_prixlm.modeling_prixlm import PrixLMForCausalKB
    from prixlm.similarity.embedder import EncoderEmbedder
    from prixlm.training.tokenizer_training import train_tokenizer

    tokenizer = train_tokenizer(["Japan", "currency", "yen", "Germany", "euro"] * 5, 60)
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=40, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    XLMRobertaForMaskedLM(config).save_pretrained(tmp_path / "xlmr")
    tokenizer.save_pretrained(tmp_path / "xlmr")
    monkeypatch.delenv("USE_HUB_KERNELS", raising=False)
    monkeypatch.setattr(transformers.modeling_utils, "is_kernels_available", lambda: False)
    model, _ = PrixLMForCausalKB.from_xlm_roberta(str(tmp_path / "xlmr"), ["en"])
    embedder = EncoderEmbedder.from_pretrained(str(tmp_path / "xlmr"))
    assert model.config.vocab_size == len(tokenizer) + 5
    assert embedder.model.use_kernels is False
