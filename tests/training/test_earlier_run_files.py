"""What a run lends its release and card, whatever is around it: the training dataset as
training found it (not as the working directory of a later rendering finds it), only its
own link prediction curve (never an earlier run's left in the folder), only evaluations of
its own weights (not of the model written earlier to the same path); and a failed upload
says how to retry it without training again."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import pytest
from huggingface_hub import ModelCard
from test_train_runs import _args

from prixlm.cli import UsageError
from prixlm.hub.calls import PublishError
from prixlm.link_prediction.evaluate_lp import main as evaluate_lp_main
from prixlm.publish import card_warnings
from prixlm.release.card_results import dataset_card_metadata, training_data, weights_digest
from prixlm.release.model_card import main as model_card_main
from prixlm.release.model_card import render_model_card
from prixlm.training import pretrain as pretrain_module
from prixlm.training.arguments import parse_training_arguments
from prixlm.training.pretrain import pretrain
from prixlm.training.resume import CURVE_FILES, RELEASE_FILES, remove_earlier_run, resume_checkpoint

#: Run A: `--dataset dataset`, relative to the folder it was trained in (the bare name has
#: the form of a Hub id), with link prediction at every checkpoint.
STEPS = ["--max_steps", "4", "--save_steps", "2"]
LP = {"lp_eval_queries": "2", "lp_eval_beams": "2", "lp_eval_split": "train"}


def _run_a(run: Path) -> list[str]:
    return _args(Path("dataset"), run, *STEPS, **LP)


@pytest.fixture(scope="module")
def run_a(tiny_dataset_dir, tmp_path_factory) -> Path:
    """Run A's folder (checkpoints, release, curve), trained beside its dataset folder."""
    run = tmp_path_factory.mktemp("earlier") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tiny_dataset_dir.parent)
        pretrain(parse_training_arguments(_run_a(run)))
    return run


def test_the_card_names_the_training_dataset_wherever_it_is_rendered(
    run_a, tiny_dataset_dir, tmp_path, monkeypatch
):
    """`--dataset dataset` was stored as typed; rendered from another folder (publish), a
    bare or one-slash name that is no folder there was taken for a Hub id: the card linked
    huggingface.co/datasets/dataset, `--dataset_id` no longer replaced it and publish did
    not warn that the card names no Hub dataset."""
    settings = json.loads((run_a / "model" / "train_results.json").read_text())[
        "checkpoint_link_prediction_settings"
    ]
    folder = str(tiny_dataset_dir.resolve())
    assert settings["dataset"] == settings["dataset_folder"] == folder
    assert settings["dataset_argument"] == "dataset"
    monkeypatch.chdir(tmp_path)  # no `dataset` folder here
    card = render_model_card(run_a / "model")
    pretty_name = dataset_card_metadata(tiny_dataset_dir)["pretty_name"]
    assert f"Training data: {pretty_name} (a local dataset folder, not on the Hub)." in card.text
    assert "huggingface.co/datasets/dataset" not in card.text
    assert card.data.datasets is None
    assert {e.dataset_type for e in card.data.eval_results} == {
        "dataset (local folder, not on the Hub)"
    }
    assert "the card names no Hub dataset" in card_warnings(card)[0]
    published = render_model_card(run_a / "model", dataset_id="me/kb")
    assert "Training data: [`me/kb`](https://huggingface.co/datasets/me/kb)." in published.text
    assert published.data.datasets == ["me/kb"]
    assert {e.dataset_type for e in published.data.eval_results} == {"me/kb"}

    # rendered where the dataset folder is not (a published copy): the card training read
    metadata = dataset_card_metadata(tiny_dataset_dir)
    assert settings["dataset_card"] == {
        "pretty_name": pretty_name,
        "source_datasets": metadata["source_datasets"],
    }
    moved = tmp_path / "published"
    shutil.copytree(run_a / "model", moved)
    results = json.loads((moved / "train_results.json").read_text())
    gone = str(tmp_path / "gone" / "dataset")
    cldr_card = {"pretty_name": "CLDR KB", "source_datasets": ["extended|cldr_kb"]}
    recorded_settings = results["checkpoint_link_prediction_settings"]
    recorded_settings.update(dataset=gone, dataset_folder=gone, dataset_card=cldr_card)
    (moved / "train_results.json").write_text(json.dumps(results))
    elsewhere = render_model_card(moved)
    assert "Training data: CLDR KB (a local dataset folder, not on the Hub)." in elsewhere.text
    assert "a KB exported from Unicode CLDR" in elsewhere.text

    # a Hub id stays one where a folder of that name is in the working directory
    (tmp_path / "me" / "kb").mkdir(parents=True)
    recorded = {"dataset": "me/kb", "dataset_folder": None, "dataset_argument": "me/kb"}
    hub = training_data({"checkpoint_link_prediction_settings": recorded})
    assert hub["hub_id"] == "me/kb"
    # an older record (the dataset as typed, nothing else): as it was read then
    older = training_data({"checkpoint_link_prediction_settings": {"dataset": "other/kb"}})
    assert older["hub_id"] == "other/kb"


def test_an_earlier_runs_curve_is_not_the_new_runs(run_a, tiny_dataset_dir, tmp_path):
    """Run A's checkpoints and release removed, a new run without link prediction put run
    A's `lp_curve.png` in its release, and its card showed it as its own."""
    run = tmp_path / "run"
    shutil.copytree(run_a, run)
    for checkpoint in run.glob("checkpoint-*"):
        shutil.rmtree(checkpoint)
    shutil.rmtree(run / "model")
    new = _args(tiny_dataset_dir, run, "--max_steps", "3", seed="3")  # no link prediction
    curve = run / "lp_curve.png"
    with pytest.raises(UsageError) as raised:
        pretrain(parse_training_arguments(new))
    assert str(raised.value) == (
        f"--output_dir {run} holds an earlier run's link prediction curve ({curve}) and no "
        f"checkpoint to resume: start this run in another --output_dir, or remove {curve}"
    )
    # asked to go on (a start stopped before its first checkpoint): it starts, and its
    # release holds no curve it did not draw
    release = pretrain(parse_training_arguments([*new, "--resume_from_checkpoint", "true"]))
    assert not (release / "lp_curve.png").exists()
    card = (release / "README.md").read_text(encoding="utf-8")
    assert "lp_curve.png" not in card and "No evaluation was recorded" in card
    # an earlier run's files, its curve among them, are what remove_earlier_run clears
    remove_earlier_run(run)
    assert not list(run.glob("checkpoint-*"))
    assert not [name for name in (*RELEASE_FILES, *CURVE_FILES) if (run / name).exists()]
    assert resume_checkpoint(str(run), None) is None  # a new run may start there


def test_a_checkpoint_of_another_folder_is_not_continued_beside_a_run(
    run_a, tiny_dataset_dir, tmp_path
):
    """`--resume_from_checkpoint A/checkpoint-2 --output_dir B`, B holding another run: the
    continued run's checkpoints went beside B's (rotated with them by step) and its release
    replaced B's, exit 0. Into a new folder it continues."""
    other = tmp_path / "other"
    shutil.copytree(run_a, other)  # another run's folder: checkpoints, release, curve
    release = (other / "model" / "model.safetensors").read_bytes()
    checkpoint = run_a / "checkpoint-2"
    resumed = [*_args(tiny_dataset_dir, other, *STEPS, **LP),
               "--resume_from_checkpoint", str(checkpoint)]  # fmt: skip
    with pytest.raises(UsageError) as raised:
        pretrain(parse_training_arguments(resumed))
    assert str(raised.value) == (
        f"--resume_from_checkpoint {checkpoint}: a checkpoint of another folder, and "
        f"--output_dir {other} already holds a run's files (checkpoint-2, checkpoint-4, model, "
        "lp_curve.png, lp_curve.csv), which it would be mixed with and replace; continue in a new --output_dir, or resume that folder's own run with "
        "--resume_from_checkpoint true"
    )
    assert (other / "model" / "model.safetensors").read_bytes() == release
    assert sorted(p.name for p in other.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    # into a new folder: run A continued from its step 2, to A's weights
    new = tmp_path / "new"
    resumed[resumed.index(str(other))] = str(new)
    pretrain(parse_training_arguments(resumed))
    assert weights_digest(new / "model") == weights_digest(run_a / "model")


def test_a_report_of_the_model_that_was_at_the_same_path_is_refused(
    run_a, tiny_dataset_dir, tmp_path, capsys
):
    """A report of run A's model was put on the card of the run trained next into the same
    folder: only its path was compared. The report records the weights' digest now."""
    run = tmp_path / "run"
    shutil.copytree(run_a, run)
    model, report = run / "model", tmp_path / "report.json"
    evaluate = ["--model", str(model), "--dataset", str(tiny_dataset_dir), "--languages", "en",
                "--split", "train", "--num_beams", "2", "--limit", "2"]  # fmt: skip
    evaluate_lp_main([*evaluate, "--output", str(report)])
    earlier = weights_digest(model)
    assert json.loads(report.read_text())["model_weights_sha256"] == earlier
    model_card_main([str(model), "--evaluation", str(report)])  # its own model: taken

    remove_earlier_run(run)
    pretrain(parse_training_arguments(_args(tiny_dataset_dir, run, "--max_steps", "3", seed="3")))
    later = weights_digest(model)
    assert later != earlier
    capsys.readouterr()
    with pytest.raises(SystemExit):
        model_card_main([str(model), "--evaluation", str(report)])
    assert capsys.readouterr().err.strip() == (
        f"error: --evaluation {report}: evaluates other weights than the model in {model} "
        f"(the report's, of {model}: sha256 {earlier[:16]}; the folder's: sha256 "
        f"{later[:16]}); evaluate this folder (evaluate_lp --model FOLDER) to put results on "
        "its card"
    )
    assert "evaluation_results.json" not in {p.name for p in model.iterdir()}
    # a report written before digests were recorded: the path rule, as before
    older = {k: v for k, v in json.loads(report.read_text()).items() if k != "model_weights_sha256"}
    report.write_text(json.dumps(older), encoding="utf-8")
    model_card_main([str(model), "--evaluation", str(report)])


def test_a_relative_local_dataset_is_not_carded_as_a_hub_dataset(
    run_a, tiny_dataset_dir, tmp_path, monkeypatch
):
    """`evaluate_lp --dataset outputs/demo/dataset` (relative, as the README types it) was
    recorded as typed: the card listed the folder under `datasets:` as a Hub id."""
    model = tmp_path / "model"
    shutil.copytree(run_a / "model", model)
    monkeypatch.chdir(tiny_dataset_dir.parent)
    report = tmp_path / "report.json"
    evaluate_lp_main(["--model", str(model), "--dataset", tiny_dataset_dir.name, "--languages",
                      "en", "--split", "train", "--num_beams", "2", "--limit", "2", "--output",
                      str(report)])  # fmt: skip
    recorded = json.loads(report.read_text())
    assert recorded["dataset"] == recorded["dataset_folder"] == str(tiny_dataset_dir.resolve())
    assert recorded["dataset_argument"] == tiny_dataset_dir.name
    model_card_main([str(model), "--evaluation", str(report)])
    card = ModelCard.load(model / "README.md")
    assert tiny_dataset_dir.name not in (card.data.datasets or [])


def test_a_failed_upload_says_how_to_retry_it(
    run_a, tiny_dataset_dir, tmp_path, monkeypatch, hub_online
):
    """The upload at the end of a run failed; the same command again was refused with
    "start this run in another --output_dir, or remove that folder" (train it again),
    while `--resume_from_checkpoint true` uploads the finished run's release."""
    run = tmp_path / "my run #2"  # the commands to copy quote it, as a shell reads it
    shutil.copytree(run_a, run)
    monkeypatch.chdir(tiny_dataset_dir.parent)
    push = ["--push_to_hub", "true", "--hub_model_id", "me/tiny", "--hub_private_repo", "true"]
    release = run / "model"
    quoted = f"'{release}'"
    with pytest.raises(UsageError) as raised:
        pretrain(parse_training_arguments([*_run_a(run), *push]))
    assert str(raised.value) == (
        f"--output_dir {run} holds a finished run (its last checkpoint: checkpoint-4; its "
        f"release: {release}): to upload that release (a --push_to_hub that failed), run this "
        f"command again with --resume_from_checkpoint true, or python -m prixlm.publish "
        f"{quoted} REPO_ID; to train a new run, start it in another --output_dir, or remove "
        "that folder"
    )

    def publish_folder(folder, repo_id, **options):
        raise PublishError(f"publishing {folder} to {repo_id}: creating the model repo failed")

    monkeypatch.setattr(pretrain_module, "publish_folder", publish_folder)
    with pytest.raises(PublishError) as raised:  # the retry fails too: said again
        pretrain(parse_training_arguments([*_run_a(run), *push, "--resume_from_checkpoint", "true"]))  # fmt: skip
    assert str(raised.value) == (
        f"publishing {release} to me/tiny: creating the model repo failed; the release is "
        "written: retry the upload by running this command again with --resume_from_checkpoint "
        f"true, or with python -m prixlm.publish {quoted} me/tiny --private"
    )
    command = str(raised.value).split(", or with ")[1]
    assert shlex.split(command)[3:] == [str(release), "me/tiny", "--private"]


def test_a_dataset_rebuilt_during_the_run_is_not_what_its_release_takes(tmp_path, dumps_writer):
    """The dataset folder was read again after training, for the release's `relations.json`
    and the card's widget: rebuilt in place meanwhile (here without German, as a build of
    the next experiment would), the run ended at its release ("--languages de: ... has no
    config 'de'") and a resume was refused (other data); a rebuild with other facts lent
    the release its relations. They are read when the run starts now, as its candidates."""
    from transformers import TrainerCallback

    from prixlm.data.dbpedia.build import build_dataset
    from prixlm.release.folder import dataset_relations

    dumps, dataset = dumps_writer(tmp_path / "dumps"), tmp_path / "dataset"
    build_dataset(dumps, dataset, ["en", "de"], progress=False)
    relations = dataset_relations(dataset, ["en", "de"])
    assert relations["de"]  # German triples: what the rebuild takes away

    class RebuildWithoutGerman(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            build_dataset(dumps, dataset, ["en"], progress=False)

    run = _args(dataset, tmp_path / "run", "--max_steps", "3")
    release = pretrain(parse_training_arguments(run), [RebuildWithoutGerman()])
    assert not (dataset / "de").exists()  # rebuilt while the run trained
    assert json.loads((release / "relations.json").read_text("utf-8")) == relations
    widget = [example["text"] for example in ModelCard.load(release / "README.md").data.widget]
    assert any(text.endswith(" | de") for text in widget), widget
