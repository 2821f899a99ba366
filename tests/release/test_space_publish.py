"""`python -m prixlm.publish space/ REPO --space --model_id M`: the Space folder goes to a Space repo.

The Hub calls are recorded, not made (`hub_recorder.record_hub_calls`, plus the Space
variable call).
"""

from __future__ import annotations

import shutil

import pytest
import yaml
from hub_recorder import record_hub_calls
from huggingface_hub import HfApi
from space_server import SPACE_DIR

from prixlm.publish import NotAReleaseError, main
from prixlm.publish_space import SPACE_MODEL_VARIABLE, check_space


@pytest.fixture
def hub(monkeypatch):
    calls = record_hub_calls(monkeypatch)
    calls.variables = []

    def add_space_variable(self, repo_id, key, value, **kwargs):
        calls.variables.append((repo_id, key, value))

    monkeypatch.setattr(HfApi, "add_space_variable", add_space_variable)
    return calls


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
    assert hub.sent() == ["README.md", "app.py", "batch_io.py", "requirements.txt"]
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
