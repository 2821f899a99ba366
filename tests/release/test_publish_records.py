"""What the uploaded records (`train_results.json`, `evaluation_results.json`,
`training_args.json`) say of this machine: no absolute path, and the Hub copy's card names
the datasets the uploaded card names."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from hub_recorder import record_hub_calls
from huggingface_hub import ModelCard

from prixlm.publish import main, refresh_model_card
from prixlm.release.model_card import write_model_card
from prixlm.release.uploaded_records import local_name, without_local_paths

METRICS = {"hits_at_1": 0.5, "hits_at_3": 0.75, "hits_at_10": 1.0, "mrr": 0.6, "num_queries": 4}


def _report(dataset: Path, split: str) -> dict:
    """An `evaluate_lp --output` report of `dataset` (a local folder: its absolute path)."""
    return {
        "model": str(dataset.parent / "run" / "model"),
        "dataset": str(dataset),
        "dataset_folder": str(dataset),
        "dataset_argument": str(dataset),
        "split": split,
        "mode": "full",
        "num_beams": None,
        "protocol": "ours",
        "limit": None,
        "candidates": None,
        "candidates_sha256": None,
        "results": {"en": METRICS},
    }


@pytest.fixture
def home(tmp_path) -> Path:
    """A user's home folder, whose name no uploaded byte may hold."""
    return tmp_path / "home" / "alice-secret-user"


@pytest.fixture
def model_folder(released, home) -> Path:
    """The tiny release with a run's records of local folders: trained on `kb`, evaluated on
    `kb` (test) and on another folder `other-kb` (validation)."""
    folder = home / "outputs" / "run" / "model"
    shutil.copytree(released[2], folder)
    kb, other = home / "data" / "kb", home / "data" / "other-kb"
    kb.mkdir(parents=True)
    other.mkdir(parents=True)
    settings = {"dataset": str(kb), "dataset_folder": str(kb), "dataset_argument": "data/kb",
                "num_beams": 5, "queries": {"en": 4}, "split": "validation"}  # fmt: skip
    (folder / "train_results.json").write_text(
        json.dumps(
            {
                "checkpoint_link_prediction": [
                    {"step": 40, "lp_en/hits_at_1": 0.5, "lp_en/mrr": 0.6}
                ],
                "checkpoint_link_prediction_settings": settings,
                "train_facts": 20,
            }
        )
    )
    reports = [_report(kb, "test"), _report(other, "validation")]
    (folder / "evaluation_results.json").write_text(json.dumps(reports))
    args = json.loads((folder / "training_args.json").read_text())
    (folder / "training_args.json").write_text(
        json.dumps({**args, "output_dir": str(folder.parent)})
    )
    write_model_card(folder, repo_id="me/prixlm-tiny")
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def _uploaded(hub) -> dict[str, bytes]:
    sent = {}
    for op in hub.commits[-1]["operations"]:
        source = op.path_or_fileobj
        sent[op.path_in_repo] = source if isinstance(source, bytes) else Path(source).read_bytes()
    return sent


def _datasets(card: ModelCard) -> list[tuple[str, str, str]]:
    return sorted(
        {(r.dataset_split, r.dataset_name, r.dataset_type) for r in card.data.eval_results}
    )


def test_no_uploaded_file_names_a_local_folder_and_the_hub_copy_renders_the_same_card(
    model_folder, home, tmp_path, monkeypatch, capsys
):
    hub = record_hub_calls(monkeypatch)
    before = _files(model_folder)
    assert main([str(model_folder), "me/prixlm-tiny", "--dataset_id", "me/kb"]) == 0
    assert _files(model_folder) == before  # the folder is not written

    sent = _uploaded(hub)
    assert sorted(sent) == sorted(before)
    leaks = [name for name, data in sent.items() if home.name.encode() in data]
    assert leaks == []  # were: evaluation_results.json, train_results.json, training_args.json
    listed = capsys.readouterr().out  # what --dry_run shows too
    assert "  train_results.json (a copy without local paths)" in listed
    trained = json.loads(sent["train_results.json"])["checkpoint_link_prediction_settings"]
    kb, other = local_name(str(home / "data" / "kb")), local_name(str(home / "data" / "other-kb"))
    assert kb.startswith("<local ") and kb.endswith(">/kb") and kb != local_name("/srv/kb")
    assert (trained["dataset"], trained["dataset_folder"], trained["dataset_argument"]) == (
        kb,
        kb,
        "data/kb",  # relative, as typed: left as it is
    )
    test, validation = json.loads(sent["evaluation_results.json"])
    assert (test["dataset"], test["dataset_folder"], test["model"]) == (
        kb,
        kb,
        local_name(str(home / "data" / "run" / "model")),
    )
    assert (validation["dataset"], validation["dataset_folder"]) == (other, other)
    assert json.loads(sent["training_args.json"])["output_dir"] == local_name(
        str(model_folder.parent)
    )
    assert sent["model.safetensors"] == before["model.safetensors"]

    # the card a Hub user renders from the uploaded files names the datasets as uploaded
    uploaded = ModelCard(sent["README.md"].decode())
    assert _datasets(uploaded) == [
        ("test", "me/kb", "me/kb"),
        ("validation", "me/kb", "me/kb"),
        ("validation", "other-kb", "other-kb (local folder, not on the Hub)"),
    ]
    download = tmp_path / "snapshot"
    for name, data in sent.items():
        (download / name).parent.mkdir(parents=True, exist_ok=True)
        (download / name).write_bytes(data)
    monkeypatch.chdir(tmp_path)
    card, _ = refresh_model_card(download, "me/prixlm-tiny")
    assert _datasets(card) == _datasets(uploaded)


@pytest.mark.parametrize(
    "value, name",
    [
        ("/home/alice/kb", "kb"),
        ("~alice/kb/", "kb"),
        ("C:\\Users\\alice\\kb", "kb"),
        ("/alice", "alice"),
    ],
)
def test_absolute_paths_of_any_system_are_replaced(value, name):
    (replaced,) = without_local_paths({"x": [value]})["x"]
    assert (
        re.fullmatch(rf"<local [0-9a-f]{{8}}>/{name}", replaced)
        and "alice" not in replaced[: -len(name)]
    )
    assert replaced == local_name(value) != local_name(value.replace("alice", "bob"))


@pytest.mark.parametrize("value", ["data/kb", "me/kb", "outputs/demo/run", "~5%", ""])
def test_relative_paths_and_other_text_are_left_as_they_are(value):
    assert without_local_paths({"x": value, "y": 2, "z": None}) == {"x": value, "y": 2, "z": None}


def test_private_to_an_existing_public_repo_is_refused_before_any_upload(
    released, tmp_path, monkeypatch, capsys
):
    """`create_repo(private=True, exist_ok=True)` keeps an existing repo's visibility: the
    release went up public while the user asked for a private one."""
    hub = record_hub_calls(monkeypatch)
    folder = tmp_path / "prixlm-tiny"
    shutil.copytree(released[2], folder)
    write_model_card(folder, repo_id="me/prixlm-tiny")
    hub.existing_private = False
    with pytest.raises(SystemExit) as stopped:
        main([str(folder), "me/prixlm-tiny", "--private"])
    assert stopped.value.code == 2 and hub.commits == []
    error = capsys.readouterr().err
    assert "me/prixlm-tiny" in error and "exists and is public" in error
    hub.existing_private = True  # an existing private repo, and a new one, take the upload
    assert main([str(folder), "me/prixlm-tiny", "--private"]) == 0
    hub.existing_private = None
    assert main([str(folder), "me/prixlm-tiny2", "--private"]) == 0
    assert len(hub.commits) == 2
