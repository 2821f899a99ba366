"""Two release folders with different model code, loaded in one process, each run its own."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import torch
from tiny_models import make_tiny_model

from modeling_prixlm.formatting import encode_triple
from prixlm.model_loading import load_model, load_prixlm


@pytest.fixture(scope="module")
def tiny_release(tiny_tokenizer, tmp_path_factory) -> Path:
    """A saved tiny Prix-LM: weights, config with `auto_map`, its code and tokenizer."""
    folder = tmp_path_factory.mktemp("two_releases") / "release"
    make_tiny_model(tiny_tokenizer).save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    assert (folder / "modeling_prixlm.py").is_file()
    return folder


def _copy(release: Path, destination: Path, marker: str | None) -> Path:
    """A copy of `release` (keep the folder name: transformers names the code modules after
    it, and two runs' release folders are both called `model`) whose `modeling_prixlm.py` ends with `MARKER = marker` (if given)."""
    shutil.copytree(release, destination)
    if marker is not None:
        code = destination / "modeling_prixlm.py"
        code.write_text(f'{code.read_text(encoding="utf-8")}\nMARKER = "{marker}"\n', "utf-8")
    return destination


def _marker(model: torch.nn.Module) -> str | None:
    """The `MARKER` of the module that defines the model's class (None without one)."""
    return getattr(sys.modules[type(model).__module__], "MARKER", None)


@pytest.mark.parametrize("marked_first", [False, True], ids=["plain-first", "marked-first"])
def test_each_release_folder_loads_its_own_model_code(
    tiny_release, tiny_tokenizer, tmp_path, marked_first
):
    """The config code and folder name of both are the same (one config class); the second
    folder's model code must still be its own, not the class registered by the first load."""
    marker = f"changed-{tmp_path.name}"  # a new module for every run of this test
    plain = _copy(tiny_release, tmp_path / "one" / "model", None)
    marked = _copy(tiny_release, tmp_path / "two" / "model", marker)
    order = [marked, plain] if marked_first else [plain, marked]
    loaded = {folder: load_prixlm(folder, "cpu")[0] for folder in order}
    assert _marker(loaded[marked]) == marker
    assert _marker(loaded[plain]) is None
    assert type(loaded[marked]) is not type(loaded[plain])
    # both are working models with the same weights
    input_ids = torch.tensor(
        [encode_triple(tiny_tokenizer, "Germany", "currency", "euro").input_ids]
    )
    with torch.no_grad():
        logits = [loaded[folder](input_ids=input_ids).logits for folder in (plain, marked)]
    torch.testing.assert_close(logits[0], logits[1])


def test_load_model_reports_the_prixlm_kind_with_its_own_code(tiny_release, tmp_path):
    marker = f"kind-{tmp_path.name}"
    plain = _copy(tiny_release, tmp_path / "one" / "model", None)
    marked = _copy(tiny_release, tmp_path / "two" / "model", marker)
    first, _, first_kind = load_model(plain, "cpu")
    second, _, second_kind = load_model(marked, "cpu")
    assert (first_kind, second_kind) == ("prixlm", "prixlm")
    assert (_marker(first), _marker(second)) == (None, marker)
    assert not first.training and not second.training
