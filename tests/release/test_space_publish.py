"""`python -m prixlm.publish space/ REPO --space --model_id M`: the Space folder goes to a Space repo.

The Hub calls are recorded, not made (`hub_recorder.record_hub_calls`, plus the Space
variable calls).
"""

from __future__ import annotations

import shutil

import httpx2
import pytest
import yaml
from hub_recorder import record_hub_calls
from huggingface_hub import HfApi, SpaceVariable
from space_server import SPACE_DIR

from prixlm.hub.calls import PublishError
from prixlm.publish import NotAReleaseError, main
from prixlm.publish_space import (
    SPACE_MODEL_VARIABLE,
    SPACE_REVISION_VARIABLE,
    check_space,
    publish_space,
)

#: The files of the Space folder that publishing sends (the app, its modules, card, needs).
SPACE_FILES = ["README.md", "app.py", "batch_io.py", "candidates.py", "languages.py",
               "requirements.txt"]  # fmt: skip


@pytest.fixture
def hub(monkeypatch):
    """The recorded calls; `held` is the Space's variables, `variables` the calls that
    change them (`(repo, key, value)`, value None: deleted) and `commits_before` the
    number of commits made before each such call."""
    calls = record_hub_calls(monkeypatch)
    calls.variables, calls.commits_before, calls.held, calls.created_with = [], [], {}, []
    recorded_create_repo = HfApi.create_repo

    def create_repo(self, repo_id, **kwargs):
        calls.created_with.append(kwargs.get("space_variables"))
        return recorded_create_repo(self, repo_id, **kwargs)

    def add_space_variable(self, repo_id, key, value, **kwargs):
        calls.variables.append((repo_id, key, value))
        calls.commits_before.append(len(calls.commits))
        calls.held[key] = value

    def delete_space_variable(self, repo_id, key, **kwargs):
        calls.variables.append((repo_id, key, None))
        calls.commits_before.append(len(calls.commits))
        calls.held.pop(key)

    def get_space_variables(self, repo_id, **kwargs):
        return {k: SpaceVariable(k, {"value": v}) for k, v in calls.held.items()}

    monkeypatch.setattr(HfApi, "create_repo", create_repo)
    monkeypatch.setattr(HfApi, "add_space_variable", add_space_variable)
    monkeypatch.setattr(HfApi, "delete_space_variable", delete_space_variable)
    monkeypatch.setattr(HfApi, "get_space_variables", get_space_variables)
    return calls


@pytest.fixture
def space_folder(tmp_path):
    folder = tmp_path / "space"
    shutil.copytree(SPACE_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def _card(operations) -> dict:
    card = next(op for op in operations if op.path_in_repo == "README.md")
    return yaml.safe_load(card.path_or_fileobj.decode("utf-8").split("---")[1])


def test_publish_space_sends_the_space_serving_the_model(hub, tmp_path, capsys):
    folder = tmp_path / "space"
    shutil.copytree(SPACE_DIR, folder)
    (folder / "__pycache__").mkdir(exist_ok=True)
    (folder / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"junk")

    code = main(
        [str(folder), "me/prixlm-space", "--space", "--model_id", "me/prixlm-demo",
         "--dataset_id", "me/prixlm-cldr-kb", "--private"]
    )  # fmt: skip

    assert code == 0
    assert hub.repos == [
        {"repo_id": "me/prixlm-space", "repo_type": "space", "private": True, "exist_ok": True}
    ]
    assert hub.variables == [("me/prixlm-space", "PRIXLM_MODEL", "me/prixlm-demo")]
    commit = hub.commits[0]
    assert commit["repo_type"] == "space"
    assert hub.sent() == SPACE_FILES
    card = _card(commit["operations"])
    assert card["sdk"] == "gradio" and card["app_file"] == "app.py"
    assert card["models"] == ["me/prixlm-demo"]
    assert card["datasets"] == ["me/prixlm-cldr-kb"]
    assert "https://huggingface.co/me/prixlm-space/commit/0" in capsys.readouterr().out


def test_without_a_dataset_id_the_card_names_no_dataset(hub, tmp_path):
    """The folder's card names the dataset of its example model; another model's Space
    kept it."""
    folder = tmp_path / "space"
    shutil.copytree(SPACE_DIR, folder)
    assert main([str(folder), "acme/kb-demo", "--space", "--model_id", "acme/prixlm-base"]) == 0
    card = _card(hub.commits[0]["operations"])
    assert card["models"] == ["acme/prixlm-base"] and "datasets" not in card


def test_space_variable_is_the_apps():
    app_source = (SPACE_DIR / "app.py").read_text(encoding="utf-8")
    assert f'MODEL_ENV = "{SPACE_MODEL_VARIABLE}"' in app_source
    card = yaml.safe_load((SPACE_DIR / "README.md").read_text(encoding="utf-8").split("---")[1])
    gradio_pin = next(
        line for line in (SPACE_DIR.parents[0] / "pyproject.toml").read_text().splitlines()
        if line.startswith("space = ")
    )  # fmt: skip
    assert f'"gradio=={card["sdk_version"]}"' in gradio_pin  # the tested gradio is the Space's


def test_not_a_space_folder_is_refused(tmp_path, hub, capsys):
    folder = tmp_path / "space"
    shutil.copytree(SPACE_DIR, folder)
    (folder / "requirements.txt").unlink()
    with pytest.raises(NotAReleaseError, match="no requirements.txt"):
        check_space(folder)
    card = folder / "README.md"
    card.write_text(card.read_text().replace("sdk: gradio", "sdk: docker"))
    assert main([str(folder), "me/x", "--space", "--model_id", "me/m"]) == 2
    assert "sdk is 'docker', not 'gradio'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(folder), "me/x", "--space"])  # no --model_id
    assert hub.commits == []


def test_the_space_serves_the_published_revision_of_the_model(hub, space_folder, capsys):
    """`--revision` was refused and the variable was a bare repo id: the Space served main
    whatever revision of the model was published. `--model_revision` sets the variable the
    app loads the revision from; publishing again without it removes the variable."""
    argv = [str(space_folder), "me/prixlm-space", "--space", "--model_id", "me/prixlm-demo"]
    assert main([*argv, "--model_revision", "v1"]) == 0
    assert "serves me/prixlm-demo at v1" in capsys.readouterr().out
    assert hub.created_with == [
        [{"key": SPACE_MODEL_VARIABLE, "value": "me/prixlm-demo"},
         {"key": SPACE_REVISION_VARIABLE, "value": "v1"}]
    ]  # fmt: skip
    assert hub.held == {SPACE_MODEL_VARIABLE: "me/prixlm-demo", SPACE_REVISION_VARIABLE: "v1"}
    assert hub.commits[0]["revision"] is None  # the Space itself: its main branch
    assert "me/prixlm-demo at v1" in hub.commits[0]["commit_message"]

    hub.variables.clear()
    assert main([*argv, "--model_revision", "v1"]) == 0  # nothing changes: no restart
    assert hub.variables == []
    assert main(argv) == 0  # back to main
    assert hub.variables == [("me/prixlm-space", SPACE_REVISION_VARIABLE, None)]
    assert hub.held == {SPACE_MODEL_VARIABLE: "me/prixlm-demo"}

    with pytest.raises(SystemExit):
        main([*argv, "--revision", "v1"])  # the Space's own branch: refused, pointing here
    assert "--model_revision" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # a model's own branch is --revision
        main([str(space_folder), "me/prixlm-demo", "--model_revision", "v1"])


def test_publishing_again_deletes_the_files_the_space_no_longer_has(hub, space_folder):
    """The Space kept an earlier app's module beside the new app (the commit deleted
    nothing); the Space now mirrors its folder, as a model repo does."""
    hub.remote = [".gitattributes", "README.md", "app.py", "old_helpers.py", "requirements.txt"]
    publish_space(space_folder, "me/prixlm-space", "me/prixlm-demo")
    assert hub.deleted() == ["old_helpers.py"]  # .gitattributes: the Hub's
    assert hub.sent() == SPACE_FILES


def test_a_failed_upload_leaves_the_space_serving_what_it_served(hub, space_folder, monkeypatch):
    """The variable was set before the commit: a failed commit restarted the old app on the
    new model. It is set once the files are committed."""
    hub.held = {SPACE_MODEL_VARIABLE: "me/old-model"}
    recorded_commit = HfApi.create_commit

    def fail(self, *args, **kwargs):
        raise httpx2.ConnectError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(HfApi, "create_commit", fail)
    with pytest.raises(PublishError, match=f"uploading {len(SPACE_FILES)} files failed"):
        publish_space(space_folder, "me/prixlm-space", "me/new-model", model_revision="v2")
    assert hub.variables == [] and hub.held == {SPACE_MODEL_VARIABLE: "me/old-model"}

    monkeypatch.setattr(HfApi, "create_commit", recorded_commit)  # the Hub works again
    publish_space(space_folder, "me/prixlm-space", "me/new-model", model_revision="v2")
    assert hub.commits_before == [1, 1]  # both variables after the commit
    assert hub.held == {SPACE_MODEL_VARIABLE: "me/new-model", SPACE_REVISION_VARIABLE: "v2"}
