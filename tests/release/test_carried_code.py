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
from types import SimpleNamespace

import pytest
from fresh_process import last_json_line, run_fresh
from hub_cache import hub_repo

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


def _saved_release(model, tokenizer, folder: Path) -> Path:
    """A release folder of the tiny model with its own candidates and relations."""
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    complete_release_folder(folder, {"en": ["euro", "German"]}, relations={"en": ["currency"]})
    return folder


def test_a_folder_s_own_candidates_are_kept_when_the_model_is_saved_into_it_again(
    tiny_prixlm, tmp_path
):
    """A copy given candidates of its own (`complete_release_folder`), then saved into again
    (after more training): its candidates and relations stay, with a warning that they
    differ from the release's. The release's replaced them, silently."""
    from transformers import AutoModelForCausalLM

    release = _saved_release(*tiny_prixlm, tmp_path / "release")
    loaded = AutoModelForCausalLM.from_pretrained(release, trust_remote_code=True)
    copy = tmp_path / "copy"
    loaded.save_pretrained(copy)
    tiny_prixlm[1].save_pretrained(copy)
    names = ("candidates.json", "relations.json")
    assert [(copy / n).read_bytes() for n in names] == [(release / n).read_bytes() for n in names]
    complete_release_folder(copy, {"en": ["Japanese yen"]}, relations={"en": ["capital"]})
    own = [(copy / name).read_bytes() for name in names]
    assert json.loads(own[0]) == {"en": ["Japanese yen"]}
    with pytest.warns(UserWarning, match=r"\.json kept: it differs") as caught:
        loaded.save_pretrained(copy)
    assert [(copy / name).read_bytes() for name in names] == own
    kept = sorted(str(w.message).split(" kept")[0].rsplit("/", 1)[-1] for w in caught)
    assert kept == sorted(names)


class RecordingHubApi:
    """The Hub as `save_pretrained(push_to_hub=True)` calls it: the files of each commit."""

    def __init__(self) -> None:
        self.commits: list[list[str]] = []

    def create_repo(self, repo_id: str, **kwargs: object) -> SimpleNamespace:
        return SimpleNamespace(repo_id=f"me/{repo_id}")

    def create_commit(self, repo_id: str, operations: list, **kwargs: object) -> None:
        self.commits.append(sorted(op.path_in_repo for op in operations))


def test_push_to_hub_uploads_the_carried_code_and_stored_files(tiny_prixlm, tmp_path, monkeypatch):
    """`save_pretrained(..., push_to_hub=True)` uploads the files written since it started:
    the carried code (`pipeline_prixlm.py`, ...) and the release's candidates and relations
    were written before, and did not go up (the repo declared a pipeline it lacked)."""
    from transformers import AutoModelForCausalLM
    from transformers.utils import hub as transformers_hub

    release = _saved_release(*tiny_prixlm, tmp_path / "release")
    loaded = AutoModelForCausalLM.from_pretrained(release, trust_remote_code=True)
    api = RecordingHubApi()
    monkeypatch.setattr(transformers_hub, "_hf_api", api)
    loaded.save_pretrained(tmp_path / "pushed", push_to_hub=True)
    (uploaded,) = api.commits
    assert uploaded == sorted(p.name for p in (tmp_path / "pushed").iterdir())
    assert {"pipeline_prixlm.py", "handler.py", "candidates.json", "relations.json"} <= set(
        uploaded
    )
    # a later plain save of the same model: nothing is left to change what it uploads
    assert not loaded.__dict__.get("_carried_files")


#: In a fresh process: the Hub repo `me/prixlm-tiny` (cached) loaded with AutoModel only
#: (no pipeline built from it first), saved to argv[1].
HUB_SAVED_AGAIN = """
import sys
from transformers import AutoModelForCausalLM, AutoTokenizer
AutoModelForCausalLM.from_pretrained("me/prixlm-tiny", trust_remote_code=True).save_pretrained(
    sys.argv[1]
)
AutoTokenizer.from_pretrained("me/prixlm-tiny").save_pretrained(sys.argv[1])
"""


def test_a_hub_release_saved_again_answers_as_the_release(released, tmp_path):
    """A release loaded from the Hub with `AutoModel` alone: its code folder holds only the
    modules the model imports, so the saved copy had no pipeline code, its config no
    pipeline, and no candidates or relations. The repo's own files are carried now."""
    _, _, folder = released
    hf_home = tmp_path / "hf_home"
    hub_repo(hf_home, "me/prixlm-tiny", folder)
    again = tmp_path / "again"
    run_fresh(HUB_SAVED_AGAIN, again, cwd=tmp_path, hf_home=hf_home)
    assert sorted(p.name for p in again.glob("*.py")) == [p.name for p in hub_code_files()]
    for name in ("candidates.json", "relations.json"):
        assert json.loads((again / name).read_text()) == json.loads((folder / name).read_text())
    expected = last_json_line(run_fresh(ANSWERS, folder, cwd=tmp_path))
    assert last_json_line(run_fresh(ANSWERS, again, cwd=tmp_path)) == expected


#: In a fresh process: the Hub repo `me/prixlm-tiny` (cached) saved to the folder of that name.
HUB_SAVED_AS_ITS_ID = """
from transformers import AutoModelForCausalLM
model = AutoModelForCausalLM.from_pretrained("me/prixlm-tiny", trust_remote_code=True)
model.save_pretrained(model.name_or_path)
"""


def test_a_hub_release_saved_into_a_folder_named_as_its_repo_id_keeps_its_candidates(
    released, tmp_path
):
    """`save_pretrained("me/prixlm-tiny")` (a folder named as the repo id the model was
    loaded from, `model.name_or_path`): the code written into it first made the repo id a
    folder, read as the release, so the copy declared the pipeline with no candidates or
    relations (every query refused)."""
    _, _, folder = released
    hf_home = tmp_path / "hf_home"
    hub_repo(hf_home, "me/prixlm-tiny", folder)
    run_fresh(HUB_SAVED_AS_ITS_ID, cwd=tmp_path, hf_home=hf_home)
    again = tmp_path / "me" / "prixlm-tiny"
    assert "custom_pipelines" in json.loads((again / "config.json").read_text())
    for name in ("candidates.json", "relations.json"):
        assert json.loads((again / name).read_text()) == json.loads((folder / name).read_text())


def test_a_hub_release_saved_offline_names_the_code_its_cache_lacks(released, tmp_path):
    """Offline, a Hub cache with the pipeline's code but not `handler.py` (a pipeline built
    from the repo fetches only the modules it imports): the copy was saved without the
    endpoint's handler, and nothing said so."""
    _, _, folder = released
    hf_home = tmp_path / "hf_home"
    hub_repo(hf_home, "me/prixlm-tiny", folder, drop=("handler.py",))
    again = tmp_path / "again"
    done = run_fresh(HUB_SAVED_AGAIN, again, cwd=tmp_path, hf_home=hf_home)
    assert not (again / "handler.py").exists()
    assert (again / "pipeline_prixlm.py").is_file()
    warned = [line for line in done.stderr.splitlines() if "UserWarning" in line]
    assert len(warned) == 1
    assert "handler.py of the model's code not saved with the model: HF_HUB_OFFLINE" in warned[0]
