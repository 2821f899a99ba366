"""`python -m prixlm.publish` when the Hub call fails or the repo id is wrong, and what it does
to the folder: nothing, whether the upload succeeds or fails.

Offline: Hub calls are either recorded (`hub_recorder.record_hub_calls`), made to raise the
Hub's own exceptions, or refused by huggingface_hub's offline mode.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import httpx2
import huggingface_hub.constants
import pytest
from hub_recorder import build_tiny_dataset, record_hub_calls
from huggingface_hub import HfApi, ModelCard
from huggingface_hub.errors import (
    BadRequestError,
    HfHubHTTPError,
    LocalTokenNotFoundError,
    RepositoryNotFoundError,
)
from test_publish import uploaded_card

from prixlm.cli import UsageError
from prixlm.hub.calls import PublishError
from prixlm.publish import DATASET_PLACEHOLDER, main, publish_folder
from prixlm.release.model_card import write_model_card
from prixlm.training.resume import dataset_fingerprint

SPACE_DIR = Path(__file__).resolve().parents[2] / "space"


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of `folder` (hidden ones included) and its bytes."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file()
    }


def _error_line(capsys) -> str:
    """The one line on stderr (warnings aside), which must be an `error:` line."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("warning: ")]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def _exit_code(argv: list[str]) -> int | str | None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    return exit_info.value.code


def _response(status: int, url: str = "https://huggingface.co/api/x") -> httpx2.Response:
    return httpx2.Response(status, request=httpx2.Request("POST", url))


@pytest.fixture(scope="module")
def built_dataset(tmp_path_factory) -> Path:
    """A dataset folder as the build writes it: its card's usage loads the placeholder."""
    folder = build_tiny_dataset(tmp_path_factory.mktemp("publish-failures") / "ds2")
    assert f'load_dataset("{DATASET_PLACEHOLDER}"' in (folder / "README.md").read_text()
    return folder


@pytest.fixture
def dataset_folder(built_dataset, tmp_path) -> Path:
    """A copy of the built dataset folder for one test."""
    return Path(shutil.copytree(built_dataset, tmp_path / "ds2"))


@pytest.fixture
def model_folder(released, tmp_path) -> Path:
    """A copy of the tiny release whose card was written for a local run (a local path)."""
    folder = tmp_path / "prixlm-tiny"
    shutil.copytree(released[2], folder)
    write_model_card(folder, model_name="run", repo_id=str(folder))
    return folder


@pytest.mark.parametrize("kind", ["dataset", "model"])
def test_offline_is_one_error_line_and_the_folder_is_unchanged(
    kind, dataset_folder, model_folder, monkeypatch, capsys
):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    folder = dataset_folder if kind == "dataset" else model_folder
    before, fingerprint = _snapshot(folder), dataset_fingerprint(folder)

    assert _exit_code([str(folder), "me/kb"]) == 2

    line = _error_line(capsys)
    assert line.startswith(f"error: publishing {folder} to me/kb: creating the {kind} repo failed")
    assert "OfflineModeIsEnabled" in line and "HF_HUB_OFFLINE" in line
    assert _snapshot(folder) == before and dataset_fingerprint(folder) == fingerprint


def test_offline_space_is_one_error_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    folder = tmp_path / "space"
    shutil.copytree(SPACE_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    assert _exit_code([str(folder), "me/sp", "--space", "--model_id", "me/m"]) == 2
    line = _error_line(capsys)
    assert f"publishing the Space {folder} to me/sp: creating the Space repo failed" in line
    assert "OfflineModeIsEnabled" in line


#: (the HfApi method that fails, what it raises, the step the error line names)
FAILURES = [
    ("create_repo", LocalTokenNotFoundError("Token is required (`token=True`), but no token found."),
     "creating the dataset repo failed: LocalTokenNotFoundError: Token is required"),
    ("create_branch", RepositoryNotFoundError("404 Client Error.\n\nRepository Not Found",
                                              response=_response(404)),
     "creating the branch 'v1' failed: RepositoryNotFoundError: 404 Client Error. Repository Not Found"),
    ("list_repo_files", httpx2.ConnectError("[Errno -3] Temporary failure in name resolution"),
     "listing the files the repo holds failed: ConnectError: [Errno -3]"),
    ("create_commit", HfHubHTTPError("401 Client Error: Unauthorized\nInvalid credentials",
                                     response=_response(401)),
     "uploading 6 files failed: HfHubHTTPError: 401 Client Error: Unauthorized Invalid credentials"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "raised", "message"), FAILURES)
def test_a_failed_hub_call_names_the_step_and_leaves_the_folder(
    method, raised, message, dataset_folder, monkeypatch, capsys
):
    hub = record_hub_calls(monkeypatch)

    def fail(self, *args, **kwargs):
        raise raised

    monkeypatch.setattr(HfApi, method, fail)
    before = _snapshot(dataset_folder)

    assert _exit_code([str(dataset_folder), "me/kb", "--revision", "v1"]) == 2

    line = _error_line(capsys)
    assert line.startswith(f"error: publishing {dataset_folder} to me/kb: ") and message in line
    assert _snapshot(dataset_folder) == before and hub.commits == []
    # the library call (`train.py --push_to_hub`): a UsageError whose cause is the Hub's error
    with pytest.raises(PublishError, match=re.escape(message)) as error:
        publish_folder(dataset_folder, "me/kb", revision="v1")
    assert error.value.__cause__ is raised


def test_a_card_the_hub_refuses_is_one_error_line(dataset_folder, monkeypatch, capsys):
    """The real `create_commit` checks README.md's metadata on the Hub first: a ValueError
    from a 400 (`_validate_yaml`'s own request is the one stand-in)."""
    real_create_commit = HfApi.create_commit
    record_hub_calls(monkeypatch)
    monkeypatch.setattr(HfApi, "create_commit", real_create_commit)

    def refuse(self, content, **kwargs):
        try:
            raise BadRequestError("400 Bad Request", response=_response(400))
        except BadRequestError as error:
            raise ValueError("Invalid metadata in README.md.\n- configs: bad") from error

    monkeypatch.setattr(HfApi, "_validate_yaml", refuse)
    assert _exit_code([str(dataset_folder), "me/kb"]) == 2
    line = _error_line(capsys)
    assert (
        "uploading 6 files failed: ValueError: Invalid metadata in README.md. - configs: bad"
        in line
    )


def test_a_bug_keeps_its_traceback(dataset_folder, monkeypatch):
    record_hub_calls(monkeypatch)

    def broken(self, *args, **kwargs):
        raise KeyError("not a Hub failure")

    monkeypatch.setattr(HfApi, "create_commit", broken)
    with pytest.raises(KeyError):
        main([str(dataset_folder), "me/kb"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["{ds}", "bad//id"], "REPO_ID 'bad//id': not a Hub repo id"),
        (["{ds}", "bad//id", "--dry_run"], "REPO_ID 'bad//id': not a Hub repo id"),
        (["{ds}", "me/kb", "--dataset_id", "me/k..b", "--dry_run"], "--dataset_id 'me/k..b'"),
        (["{ds}", "me/x--y", "--space", "--model_id", "me/m", "--dry_run"], "REPO_ID 'me/x--y'"),
        (["{ds}", "me/sp", "--space", "--model_id", "a/b/c", "--dry_run"], "--model_id 'a/b/c'"),
    ],
)
def test_an_invalid_repo_id_is_an_argument_error_before_any_work(
    argv, message, dataset_folder, monkeypatch, capsys
):
    hub = record_hub_calls(monkeypatch)
    before = _snapshot(dataset_folder)
    assert _exit_code([item.format(ds=dataset_folder) for item in argv]) == 2
    assert message in _error_line(capsys)
    assert capsys.readouterr().out == ""  # no file list: nothing was checked or rendered
    assert hub.repos == hub.commits == [] and _snapshot(dataset_folder) == before
    with pytest.raises(UsageError, match="repo_id 'bad//id'"):
        publish_folder(dataset_folder, "bad//id")


def test_the_uploaded_dataset_card_loads_the_repo_and_the_folder_is_untouched(
    dataset_folder, monkeypatch
):
    hub = record_hub_calls(monkeypatch)
    before, fingerprint = _snapshot(dataset_folder), dataset_fingerprint(dataset_folder)

    assert main([str(dataset_folder), "me/kb"]) == 0

    card = uploaded_card(hub)
    assert 'load_dataset("me/kb", "de")' in card and DATASET_PLACEHOLDER not in card
    assert card == before["README.md"].decode().replace(DATASET_PLACEHOLDER, "me/kb")
    assert (
        _snapshot(dataset_folder) == before and dataset_fingerprint(dataset_folder) == fingerprint
    )
    # every other file goes straight from the folder (no copy)
    sources = {op.path_in_repo: op.path_or_fileobj for op in hub.commits[0]["operations"]}
    assert sources.pop("README.md") == card.encode()
    assert sources == {name: str(dataset_folder / name) for name in sources}


def test_the_uploaded_model_card_names_the_repo_and_the_folder_is_untouched(
    model_folder, monkeypatch
):
    hub = record_hub_calls(monkeypatch)
    before = _snapshot(model_folder)

    url = publish_folder(model_folder, "me/prixlm-demo", dataset_id="me/kb")  # the library call

    assert url.endswith("/commit/0") and _snapshot(model_folder) == before
    card = ModelCard(uploaded_card(hub))
    assert card.data.model_name == "prixlm-demo" and card.data.datasets == ["me/kb"]
    assert 'pipeline(model="me/prixlm-demo", trust_remote_code=True)' in card.text
    assert str(model_folder) not in card.content
    # --keep_card: the folder's own card, as it is
    assert main([str(model_folder), "me/prixlm-demo", "--keep_card"]) == 0
    assert uploaded_card(hub).encode() == before["README.md"]
    assert _snapshot(model_folder) == before
