"""Publishing never uploads a file that a symbolic link takes from outside the folder.

A link in a release, dataset or Space folder to a file elsewhere (`~/.cache/huggingface/token`)
is refused, naming the link and its target, before any Hub call; a link to a file inside
the folder is sent as that file; a hidden link is left out like every hidden entry.
The Hub calls are recorded, not made (`hub_recorder.record_hub_calls`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hub_recorder import record_hub_calls
from space_server import SPACE_DIR

from prixlm.publish import NotAReleaseError, check_release, main, publish_folder
from prixlm.publish_space import check_space

CARD = "---\nconfigs:\n- config_name: en\n  data_files: en/train.parquet\n---\n# A tiny KB\n"


@pytest.fixture
def hub(monkeypatch):
    return record_hub_calls(monkeypatch)


def dataset_folder(folder: Path) -> Path:
    """A dataset folder as `release_kind` sees one: a card with `configs:` and its file."""
    (folder / "en").mkdir(parents=True)
    (folder / "README.md").write_text(CARD, encoding="utf-8")
    (folder / "en" / "train.parquet").write_bytes(b"rows")
    return folder


def secret_file(tmp_path: Path) -> Path:
    secret = tmp_path / "home" / "token"
    secret.parent.mkdir()
    secret.write_text("hf_secret\n")
    return secret


@pytest.mark.parametrize("link", ["candidates_extra.txt", "en/more.parquet"])
def test_a_link_to_a_file_outside_the_folder_is_refused_naming_it(link, tmp_path, hub, capsys):
    secret = secret_file(tmp_path)
    folder = dataset_folder(tmp_path / "kb")
    (folder / link).symlink_to(Path("..", *[".."] * link.count("/"), "home", "token"))
    expected = f"{link} is a symbolic link to {secret}, outside the folder"
    with pytest.raises(NotAReleaseError, match=expected) as error:
        check_release(folder)
    assert str(folder) in str(error.value)
    with pytest.raises(NotAReleaseError, match=expected):
        publish_folder(folder, "me/kb", refresh_card=False)
    with pytest.raises(SystemExit) as exit_:
        main([str(folder), "me/kb", "--dry_run"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert expected in err and "hf_secret" not in err
    assert hub.repos == hub.commits == []


def test_links_inside_the_folder_are_sent_and_hidden_ones_left_out(tmp_path, hub):
    secret_file(tmp_path)
    folder = dataset_folder(tmp_path / "kb")
    (folder / "en" / "alias.parquet").symlink_to("train.parquet")  # inside: sent
    (folder / ".netrc").symlink_to(tmp_path / "home" / "token")  # hidden: never sent
    (folder / "en2").symlink_to("en", target_is_directory=True)  # a folder inside: sent
    (folder / "en" / "up").symlink_to("..", target_is_directory=True)  # a loop: not walked
    files = check_release(folder).files
    assert files == ["README.md", "en/alias.parquet", "en/train.parquet",
                     "en2/alias.parquet", "en2/train.parquet"]  # fmt: skip
    publish_folder(folder, "me/kb", refresh_card=False)
    assert hub.sent() == files


def test_a_linked_folder_outside_is_refused_not_left_out(tmp_path, hub):
    """A config folder linked from another disk was left out of the upload without a word
    (its card still declared it)."""
    secret_file(tmp_path)
    folder = dataset_folder(tmp_path / "kb")
    (folder / "ja").symlink_to(tmp_path / "home", target_is_directory=True)
    with pytest.raises(NotAReleaseError, match="ja/token lies in a linked folder, at .*home/token"):
        check_release(folder)
    assert hub.commits == []


def test_a_hub_cache_snapshot_is_published_from_its_blobs(tmp_path, hub):
    """A `snapshot_download` folder: every file a link into its repo's `blobs/`."""
    repo = tmp_path / "hub" / "datasets--someone--kb"
    (repo / "blobs").mkdir(parents=True)
    snapshot = repo / "snapshots" / ("a" * 40)
    for name, content in {"README.md": CARD, "en/train.parquet": "rows"}.items():
        blob = repo / "blobs" / f"blob-{len(content)}"
        blob.write_text(content, encoding="utf-8")
        (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
        (snapshot / name).symlink_to(Path("../" * (name.count("/") + 2), "blobs", blob.name))
    assert check_release(snapshot).files == ["README.md", "en/train.parquet"]
    publish_folder(snapshot, "me/kb", refresh_card=False)
    assert hub.sent() == ["README.md", "en/train.parquet"]


def test_a_space_folder_with_a_link_outside_is_refused(tmp_path, hub, capsys):
    secret = secret_file(tmp_path)
    folder = tmp_path / "space"
    shutil.copytree(SPACE_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    assert check_space(folder).files  # as copied: fine
    (folder / "notes.txt").symlink_to(secret)
    with pytest.raises(NotAReleaseError, match=f"notes.txt is a symbolic link to {secret}"):
        check_space(folder)
    assert main([str(folder), "me/space", "--space", "--model_id", "me/m", "--dry_run"]) == 2
    assert f"notes.txt is a symbolic link to {secret}" in capsys.readouterr().err
    assert hub.commits == []
