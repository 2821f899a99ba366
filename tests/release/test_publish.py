"""`python -m prixlm.publish` and `train.py --push_to_hub`: exactly the release folder goes up.

The Hub calls are recorded, not made (`hub_recorder.record_hub_calls`); `upload_folder`'s own
file selection runs for real.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from hub_recorder import build_tiny_dataset, record_hub_calls
from huggingface_hub import ModelCard

from prixlm.publish import NotAReleaseError, check_release, main, publish_folder
from prixlm.release.model_card import write_model_card
from prixlm.release.uploaded_records import local_name

#: Never uploaded: staging and caches, checkpoints, optimizer/scheduler/RNG state, pickles.
JUNK = [
    ".cache/huggingface/upload/x.lock",
    ".model.partial/model.safetensors",
    "sub/.staging/optimizer.pt",
    "__pycache__/modeling_prixlm.cpython-311.pyc",
    "old/checkpoint-4/optimizer.pt",  # (top-level checkpoints: a run's output_dir, refused)
    "old/checkpoint-4/model.safetensors",
    "scheduler.pt",
    "rng_state.pth",
    "training_args.bin",
    "pytorch_model.bin",
    "notes.pkl",
]


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def uploaded_card(hub, index: int = -1) -> str:
    """The README.md that commit `index` uploads (bytes rendered for the repo, or a path)."""
    card = next(op for op in hub.commits[index]["operations"] if op.path_in_repo == "README.md")
    source = card.path_or_fileobj
    return source.decode("utf-8") if isinstance(source, bytes) else Path(source).read_text("utf-8")


def _add_junk(folder: Path) -> None:
    for name in JUNK:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"junk")


@pytest.fixture
def hub(monkeypatch):
    return record_hub_calls(monkeypatch)


@pytest.fixture
def model_folder(released, tmp_path) -> Path:
    """A copy of the tiny release folder with its card (the session fixture stays as it is)."""
    folder = tmp_path / "prixlm-tiny"
    shutil.copytree(released[2], folder)
    write_model_card(folder, repo_id="me/prixlm-tiny")
    return folder


def test_publish_model_folder_sends_exactly_the_release_files(model_folder, hub):
    release_files = _files(model_folder)
    # the files a Hub user needs, all of them in the release (B's folder may add more)
    for name in [
        "README.md",
        "config.json",
        "model.safetensors",
        "generation_config.json",
        "configuration_prixlm.py",
        "modeling_prixlm.py",
        "encoder_prixlm.py",
        "tokenizer_config.json",
        "training_args.json",
    ]:
        assert name in release_files
    _add_junk(model_folder)

    url = publish_folder(model_folder, "me/prixlm-tiny", private=True, commit_message="v1")

    assert hub.repos == [
        {"repo_id": "me/prixlm-tiny", "repo_type": "model", "private": True, "exist_ok": True}
    ]
    assert len(hub.commits) == 1 and hub.commits[0]["repo_type"] == "model"
    assert hub.commits[0]["commit_message"] == "v1"
    assert hub.sent() == release_files  # every release file, none of the JUNK
    assert hub.deleted() == []
    assert url.endswith("/commit/0")


def test_publishing_again_deletes_what_the_earlier_release_had_and_this_one_lacks(
    model_folder, hub
):
    """The repo kept an earlier release's files (a candidates.json this release dropped):
    its pipeline ranked the old entity list with the new model."""
    (model_folder / "candidates.json").unlink()  # e.g. over max_candidates_per_language now
    hub.remote = [".gitattributes", "candidates.json", "old_module.py", "config.json"]
    publish_folder(model_folder, "me/prixlm-tiny")
    assert hub.deleted() == ["candidates.json", "old_module.py"]  # config.json: replaced
    assert "config.json" in hub.sent()


def test_publish_dataset_folder_sends_the_card_and_its_parquet_files(tmp_path, hub):
    folder = build_tiny_dataset(tmp_path / "kb-to-publish")
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    _add_junk(folder)
    header = yaml.safe_load((folder / "README.md").read_text().split("---\n")[1])
    listed = {
        path
        for config in header["configs"]
        for files in config["data_files"]
        for path in ([files["path"]] if isinstance(files["path"], str) else files["path"])
    }
    # the tiny KB: en and de triples (train/validation/test where not empty) and the links
    assert {"en/train.parquet", "de/train.parquet", "links/train.parquet"} <= listed

    assert main([str(folder), "me/prixlm-kb", "--revision", "v1"]) == 0

    assert hub.repos[0]["repo_type"] == "dataset" and hub.repos[0]["repo_id"] == "me/prixlm-kb"
    assert hub.branches == [{"repo_id": "me/prixlm-kb", "branch": "v1", "repo_type": "dataset"}]
    assert hub.commits[0]["revision"] == "v1"
    assert hub.sent() == sorted(listed | {"README.md"})


def test_incomplete_folders_are_refused_with_the_reason(model_folder, tmp_path, hub, capsys):
    run = tmp_path / "run"
    (run / "checkpoint-4").mkdir(parents=True)
    shutil.copytree(model_folder, run / "model")
    partial = tmp_path / ".prixlm-tiny.partial"
    shutil.copytree(model_folder, partial)
    no_card = tmp_path / "no-card"
    shutil.copytree(model_folder, no_card)
    (no_card / "README.md").unlink()
    no_weights = tmp_path / "no-weights"
    shutil.copytree(model_folder, no_weights)
    (no_weights / "model.safetensors").unlink()
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "README.md").write_text("# notes\n")
    cleaned = tmp_path / "cleaned-run"  # its checkpoints removed: the release folder is named
    shutil.copytree(model_folder, cleaned / "model")

    cases = {
        run: "training run's output_dir",
        cleaned: rf"training run's output_dir \(model inside\); publish its release folder {cleaned / 'model'}",
        partial: "staging folder",
        no_card: "no README.md",
        no_weights: "no model.safetensors",
        plain: "neither a model folder",
        tmp_path / "missing": "no such folder",
    }
    for folder, reason in cases.items():
        with pytest.raises(NotAReleaseError, match=reason) as error:
            check_release(folder)
        assert str(folder) in str(error.value)
    with pytest.raises(SystemExit) as exit_:
        main([str(run), "me/x"])
    assert exit_.value.code == 2
    assert f"{run}: a training run's output_dir" in capsys.readouterr().err
    assert check_release(run / "model").repo_type == "model"  # its release folder is fine
    assert hub.repos == hub.commits == []


def test_train_push_to_hub_uploads_only_the_finished_release(tmp_path, hub, hub_online):
    """A tiny run with checkpoints (optimizer state inside): the Trainer never pushes; one
    commit sends the release folder, whose card carries the run's results."""
    import train

    dataset = build_tiny_dataset(tmp_path / "kb-for-push")
    run = tmp_path / "run"
    settings = {
        "--languages": "en,de", "--hidden_size": "32", "--num_hidden_layers": "2",
        "--num_attention_heads": "2", "--intermediate_size": "64", "--tokenizer_vocab_size": "120",
        "--learning_rate": "3e-3", "--per_device_train_batch_size": "8",
        "--gradient_accumulation_steps": "1", "--lp_eval_queries": "2", "--lp_eval_beams": "2",
        "--lp_eval_split": "train", "--report_to": "none", "--disable_tqdm": "true",
        "--max_steps": "4", "--save_steps": "2", "--logging_steps": "2", "--seed": "7",
        "--hub_model_id": "me/prixlm-run", "--hub_private_repo": "true",
    }  # fmt: skip
    argv = ["--dataset", str(dataset), "--output_dir", str(run), "--push_to_hub", "true"]
    release = train.main(argv + [item for pair in settings.items() for item in pair])

    assert any((run / name / "optimizer.pt").is_file() for name in ("checkpoint-2", "checkpoint-4"))
    assert hub.repos == [
        {"repo_id": "me/prixlm-run", "repo_type": "model", "private": True, "exist_ok": True}
    ]
    assert len(hub.commits) == 1  # ours; the Trainer made none
    sent = hub.sent()
    assert sent == _files(release)
    assert {"README.md", "lp_curve.png", "train_results.json", "model.safetensors"} <= set(sent)
    assert not [
        name
        for name in sent
        if name.endswith((".bin", ".pt", ".pth", ".pkl")) or "checkpoint" in name or "/." in name
    ]
    # the card: model-index = the last checkpoint's link prediction in train_results.json
    results = json.loads((release / "train_results.json").read_text())
    last = results["checkpoint_link_prediction"][-1]
    card = ModelCard.load(release / "README.md")
    got = {
        (e.dataset_config, e.dataset_split, e.metric_type): e.metric_value
        for e in card.data.eval_results
    }
    assert got == {
        (language, "train", name if name == "hits_at_1" else "mrr_at_2"): last[
            f"lp_{language}/{name}"
        ]
        for language in ("en", "de")
        for name in ("hits_at_1", "mrr")
    }
    assert card.data.language == results["languages"] == ["de", "en"]
    assert card.data.model_name == "prixlm-run"  # the repo's name, not the staging folder's
    assert ".partial" not in card.content
    assert card.data.datasets is None  # a local dataset folder is no Hub id
    # named by its card's pretty_name, with a type that is no Hub id (it was "kb-for-push")
    assert {e.dataset_name for e in card.data.eval_results} == {
        "Prix-LM multilingual KB facts and links"
    }
    assert {e.dataset_type for e in card.data.eval_results} == {
        "kb-for-push (local folder, not on the Hub)"
    }
    assert "![hits@1 and MRR@K per checkpoint](lp_curve.png)" in card.text
    assert 'pipeline(model="me/prixlm-run", trust_remote_code=True)' in card.text


def test_publish_renders_the_card_for_the_repo_with_the_test_results(model_folder, hub, capsys):
    """A card written for a local run (titled after the run folder, a local path in the usage,
    a local dataset) is uploaded rendered for the repo; a dry run says what is missing and how
    to add it; neither writes into the folder."""
    from prixlm.link_prediction.ranking import ranking_metrics
    from prixlm.release.model_card import main as model_card_main

    folder = model_folder
    write_model_card(folder, model_name="run", repo_id=str(folder))
    before = (folder / "README.md").read_text(encoding="utf-8")
    assert main([str(folder), "me/prixlm-demo", "--dry_run"]) == 0
    out, err = capsys.readouterr()
    assert "card: # prixlm-demo; datasets: None; pipeline_tag: other" in out
    assert "usage: pipeline(model='me/prixlm-demo')" in out
    assert "no Hub dataset: pass --dataset_id ORG/NAME" in err
    assert "no test-split results" in err and "prixlm.release.model_card DIR --evaluation" in err
    assert (folder / "README.md").read_text(encoding="utf-8") == before and hub.commits == []

    report = {"dataset": "outputs/demo/dataset", "split": "test", "mode": "beam",
              "num_beams": 5, "results": {"en": ranking_metrics([1.0, 3.0, None], cutoff=5)}}  # fmt: skip
    (folder.parent / "test.json").write_text(json.dumps(report), encoding="utf-8")
    model_card_main([str(folder), "--evaluation", str(folder.parent / "test.json")])
    before = (folder / "README.md").read_text(encoding="utf-8")
    assert main([str(folder), "me/prixlm-demo", "--dataset_id", "me/kb"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert (folder / "README.md").read_text(encoding="utf-8") == before  # the local run's card
    card = ModelCard(uploaded_card(hub))
    assert card.data.model_name == "prixlm-demo" and card.text.lstrip().startswith("# prixlm-demo")
    assert card.data.datasets == ["me/kb"] and card.data.pipeline_tag == "other"
    tests = {
        e.metric_type: e.metric_value for e in card.data.eval_results if e.dataset_split == "test"
    }
    assert tests["hits_at_1"] == pytest.approx(1 / 3) and tests["mrr_at_5"] == pytest.approx(4 / 9)
    assert 'pipeline(model="me/prixlm-demo", trust_remote_code=True)' in card.text
    assert str(folder) not in card.content
    assert {"README.md", "evaluation_results.json"} <= set(hub.sent())


def test_a_revision_card_loads_that_revision(model_folder, hub, capsys):
    """The card committed to branch v1 loaded `me/prixlm-tiny` (main) in every snippet: a
    published revision was never what its users loaded. Main's card names no revision."""
    publish_folder(model_folder, "me/prixlm-tiny", revision="v1")
    assert hub.commits[-1]["revision"] == "v1"
    card = uploaded_card(hub)
    assert 'pipeline(model="me/prixlm-tiny", revision="v1", trust_remote_code=True)' in card
    assert 'from_pretrained("me/prixlm-tiny", revision="v1", trust_remote_code=True)' in card
    assert '"formatting.encode_triple_prompt", "me/prixlm-tiny", revision="v1")' in card
    assert 'snapshot_download("me/prixlm-tiny", revision="v1")' in card
    assert '"me/prixlm-tiny", trust_remote_code' not in card  # no snippet loads main
    assert "--model me/prixlm-tiny" not in card

    for revision in (None, "main"):
        publish_folder(model_folder, "me/prixlm-tiny", revision=revision)
        assert "revision" not in uploaded_card(hub)
    assert main([str(model_folder), "me/prixlm-tiny", "--revision", "v1", "--dry_run"]) == 0
    assert "usage: pipeline(model='me/prixlm-tiny', revision='v1')" in capsys.readouterr().out


def test_a_revision_dataset_card_loads_that_revision(tmp_path, hub):
    folder = build_tiny_dataset(tmp_path / "kb")
    assert main([str(folder), "me/prixlm-kb", "--revision", "v1"]) == 0
    card = uploaded_card(hub)
    assert 'load_dataset("me/prixlm-kb", revision="v1")' in card
    assert 'load_dataset("me/prixlm-kb", "en", revision="v1")' in card
    assert 'load_dataset("me/prixlm-kb", "links", revision="v1")' in card
    assert card.count("load_dataset(") == card.count('revision="v1")')
    assert main([str(folder), "me/prixlm-kb"]) == 0
    assert 'load_dataset("me/prixlm-kb", "en")' in uploaded_card(hub)
    assert "revision" not in uploaded_card(hub)


def test_a_dataset_card_goes_up_without_this_machines_paths(tmp_path, hub):
    """The card records the build's command with its paths as typed: an absolute
    `--dump_dir` published this machine's folders and its user's name. The uploaded card
    names it as the uploaded records do; the folder's own card is left as it is."""
    from prixlm.data.dbpedia.build import main as build_main

    dumps = build_tiny_dataset(tmp_path / "first").parent / "dumps"
    folder = tmp_path / "my kb"
    argv = ["--dump_dir", str(dumps), "--output_dir", str(folder), "--languages", "en,de"]
    assert build_main([*argv, "--no_progress"]) == 0
    written = (folder / "README.md").read_text(encoding="utf-8")
    assert f"--dump_dir {dumps}" in written
    assert main([str(folder), "me/prixlm-kb"]) == 0
    card = uploaded_card(hub)
    assert str(tmp_path) not in card
    assert f"--dump_dir '{local_name(str(dumps))}' --languages en,de" in card
    assert (folder / "README.md").read_text(encoding="utf-8") == written
