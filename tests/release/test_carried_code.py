"""A saved Prix-LM carries its model code and nothing else of the folder it was loaded from.

`save_pretrained` of a model loaded from a release folder copies the model code's modules
(`configuration_prixlm.HUB_CODE_FILES`): a script of the user's beside the weights (one
holding a key) was copied too, and published with the next upload.
"""

from __future__ import annotations

from pathlib import Path

import modeling_prixlm
from prixlm.release.folder import complete_release_folder, hub_code_files


def test_the_carried_modules_are_the_model_code_folders():
    from modeling_prixlm.configuration_prixlm import HUB_CODE_FILES

    folder = Path(modeling_prixlm.__file__).parent
    modules = sorted(p.name for p in folder.glob("*.py") if p.name != "__init__.py")
    assert sorted(HUB_CODE_FILES) == modules, "list a new module in HUB_CODE_FILES"
    assert sorted(HUB_CODE_FILES) == [p.name for p in hub_code_files()]  # what a release has


def test_save_pretrained_carries_the_model_code_only(tiny_prixlm, tmp_path):
    from transformers import AutoModelForCausalLM

    model, tokenizer = tiny_prixlm
    folder = tmp_path / "release"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    complete_release_folder(folder)
    (folder / "my_local_settings.py").write_text('API_KEY = "not for the Hub"\n')
    loaded = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True)
    loaded.save_pretrained(tmp_path / "again")
    saved = sorted(p.name for p in (tmp_path / "again").glob("*.py"))
    assert saved == [p.name for p in hub_code_files()]
    assert "custom_pipelines" in (tmp_path / "again" / "config.json").read_text()
