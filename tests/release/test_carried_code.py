"""A saved Prix-LM carries its model code and stored files, nothing else of its folder.

`save_pretrained` of a model loaded from a release folder copies the model code's modules
(`configuration_prixlm.HUB_CODE_FILES`): a script of the user's beside the weights (one
holding a key) was copied too, and published with the next upload. It copies the release's
`candidates.json` and `relations.json` too: without them the saved folder's pipeline had
no candidates and refused every query.
"""

from __future__ import annotations

import json
from pathlib import Path

from fresh_process import last_json_line, run_fresh

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


#: In a fresh process: the folder's pipeline answers (argv[1]), as JSON.
ANSWERS = """
import json, sys
from transformers import pipeline
pipe = pipeline(model=sys.argv[1], trust_remote_code=True)
queries = ["Germany | currency", "Deutschland | W\u00e4hrung | de",
           {"subject": "Germany", "language": "en", "target_language": "de"}]
print(json.dumps({"answers": pipe(queries, top_k=3, num_beams=10), "relations": pipe.relations}))
"""
#: In a fresh process: AutoModel and AutoTokenizer from argv[1], saved to argv[2].
SAVED_AGAIN = """
import sys
from transformers import AutoModel, AutoTokenizer
AutoModel.from_pretrained(sys.argv[1], trust_remote_code=True).save_pretrained(sys.argv[2])
AutoTokenizer.from_pretrained(sys.argv[1], trust_remote_code=True).save_pretrained(sys.argv[2])
"""


def test_a_release_saved_again_answers_as_the_release(released, tmp_path):
    """Loaded through AutoModel and saved with `save_pretrained` (as after fine-tuning, or
    to make a copy), the folder's pipeline gives the release's answers: it was a
    `ValueError` (no candidates) for every query."""
    _, _, folder = released
    again = tmp_path / "again"
    run_fresh(SAVED_AGAIN, folder, again, cwd=tmp_path)
    for name in ("candidates.json", "relations.json"):
        assert json.loads((again / name).read_text()) == json.loads((folder / name).read_text())
    expected = last_json_line(run_fresh(ANSWERS, folder, cwd=tmp_path))
    assert expected["answers"][0][0]["object"]  # the release answers
    assert last_json_line(run_fresh(ANSWERS, again, cwd=tmp_path)) == expected
