"""What the model card says about a release folder: the hyper-parameters as trained, the
queries and K behind each model-index value, the dataset (no invented Hub id), whose report
it shows, what the scores sum, and which training data or conversion it describes.

The folders hold only the JSON the card reads (no weights): rendering needs nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from card_folders import card_folder
from huggingface_hub import ModelCard

from prixlm.publish import card_warnings
from prixlm.release.card_results import eval_results, hyperparameters, results_table
from prixlm.release.model_card import checkpoint_report, render_model_card, write_model_card
from prixlm.release.model_card import main as model_card_main

PRETTY_NAME = "Prix-LM multilingual KB facts and links"


def _dataset(path: Path, source: str = "dbpedia") -> Path:
    """A local dataset folder whose card has the builder's `pretty_name` and source."""
    path.mkdir(parents=True)
    card = f"---\npretty_name: {PRETTY_NAME}\nsource_datasets:\n- extended|{source}\n---\n# KB\n"
    (path / "README.md").write_text(card, encoding="utf-8")
    return path


def _report(model: str, dataset: str = "me/kb") -> dict:
    """An `evaluate_lp --output` report of `model`: beam K=50, every test query."""
    metrics = {"hits_at_1": 0.25, "hits_at_3": 0.5, "hits_at_10": 0.75, "mrr_at_50": 0.4}
    return {"model": model, "dataset": dataset, "split": "test", "mode": "beam",
            "num_beams": 50, "limit": None, "candidates": None, "candidates_sha256": None,
            "results": {"en": {**metrics, "num_queries": 275}}}  # fmt: skip


def _rows(card_text: str) -> dict[str, str]:
    """The card's hyper-parameter table as {name: value}."""
    start = card_text.index("| hyper-parameter | value |")
    table = card_text[start:].split("\n\n")[0].splitlines()[2:]
    return {line.split(" | ")[0][2:]: line.split(" | ")[1].removesuffix(" |") for line in table}


def test_zero_valued_hyperparameters_are_shown():
    """`not in (None, -1, False)` dropped every 0 (`0 == False`): seed 0, no weight decay,
    no warm-up vanished from the table. Only None, False and an unset max_steps are left out."""
    rows = dict(
        hyperparameters(
            {"seed": 0, "weight_decay": 0.0, "warmup_steps": 0, "learning_rate": 1e-3,
             "max_steps": -1, "fp16": False, "adam_beta1": None, "bf16": True},
            {}, {},
        )
    )  # fmt: skip
    assert rows == {
        "learning_rate": 1e-3,
        "warmup_steps": 0,
        "weight_decay": 0.0,
        "seed": 0,
        "bf16": True,
    }


def test_a_run_stopped_by_max_steps_shows_the_epochs_it_trained(tmp_path):
    """`max_steps` > 0 overrides `num_train_epochs` (the demo: 5.0 on the card, 3.1 epochs
    trained); a fractional `warmup_steps` is a share of the steps, not 0.06 steps."""
    training_args = {"num_train_epochs": 5.0, "max_steps": 1000, "warmup_steps": 0.06, "seed": 0}
    rows = hyperparameters(training_args, {"epoch": 3.115264797507788}, {})
    assert rows[:3] == [
        ("max_steps", 1000),
        ("epochs trained", 3.12),
        ("warmup_steps", "6% of steps"),
    ]
    assert "num_train_epochs" not in dict(rows)
    by_epochs = dict(hyperparameters({**training_args, "max_steps": -1, "warmup_steps": 0.065}, {"epoch": 5.0}, {}))  # fmt: skip
    assert by_epochs["num_train_epochs"] == 5.0 and "epochs trained" not in by_epochs
    assert by_epochs["warmup_steps"] == "6.5% of steps"
    assert dict(hyperparameters({"warmup_steps": 100}, {}, {}))["warmup_steps"] == 100

    folder = card_folder(tmp_path / "model", training_args=training_args, train_results={"epoch": 3.115264797507788})  # fmt: skip
    table = _rows(render_model_card(folder).text)
    assert table["max_steps"] == "1000" and table["epochs trained"] == "3.12"
    assert table["warmup_steps"] == "6% of steps" and table["seed"] == "0"
    assert "num_train_epochs" not in table


def test_model_index_names_the_queries_and_k_behind_each_value():
    """Validation values came from a random sample of `lp_eval_queries` queries with K=10,
    test values from every query with K=50; the metric config said only `beam`."""
    train_results = {
        "checkpoint_link_prediction": [
            {"step": 5, "lp_en/hits_at_1": 0.2, "lp_en/mrr": 0.25, "lp_de/hits_at_1": 0.5, "lp_de/mrr": 0.5}
        ],
        "checkpoint_link_prediction_settings": {
            "dataset": "me/kb", "split": "validation", "num_beams": 10,
            "queries_per_language": 60, "queries": {"en": 60, "de": 3},
        },
    }  # fmt: skip
    checkpoint = checkpoint_report(train_results)
    configs = {
        (e.dataset_config, e.dataset_split, e.metric_type): e.metric_config
        for e in eval_results([checkpoint, _report("me/prixlm")])
    }
    assert configs == {
        ("en", "validation", "hits_at_1"): "beam K=10, 60 sampled queries",
        ("en", "validation", "mrr_at_10"): "beam K=10, 60 sampled queries",
        # 60 asked, the split had 3: all of them
        ("de", "validation", "hits_at_1"): "beam K=10, all 3 queries",
        ("de", "validation", "mrr_at_10"): "beam K=10, all 3 queries",
        **{("en", "test", m): "beam K=50, all 275 queries"
           for m in ("hits_at_1", "hits_at_3", "hits_at_10", "mrr_at_50")},
    }  # fmt: skip
    # a run that recorded only the number asked
    del train_results["checkpoint_link_prediction_settings"]["queries"]
    older = {e.metric_config for e in eval_results([checkpoint_report(train_results)])}
    assert older == {"beam K=10, 60 sampled queries"}


def test_a_local_dataset_is_named_by_its_card_not_as_a_hub_id(tmp_path, monkeypatch):
    """A local dataset folder's last path part (`dataset`) was the model-index `type` and
    `name`, a link to huggingface.co/datasets/dataset. Its card's pretty_name names it now,
    and the type says it is no Hub dataset; a Hub id or `--dataset_id` stays as it was."""
    monkeypatch.chdir(tmp_path)
    _dataset(tmp_path / "outputs" / "demo" / "dataset")
    report = {**_report("me/prixlm", dataset="outputs/demo/dataset")}
    folder = card_folder(tmp_path / "model")
    write_model_card(folder, evaluations=[report])
    card = ModelCard.load(folder / "README.md")  # a valid model-index
    assert {(e.dataset_type, e.dataset_name) for e in card.data.eval_results} == {
        ("dataset (local folder, not on the Hub)", PRETTY_NAME)
    }
    assert card.data.datasets is None
    assert f"| {PRETTY_NAME} | en | test | beam (K=50) | 275 |" in card.text
    assert "no Hub dataset: pass --dataset_id" in card_warnings(card)[0]  # publish says so

    no_card = {**report, "dataset": str(tmp_path / "kb-without-card")}
    (tmp_path / "kb-without-card").mkdir()
    assert {(e.dataset_type, e.dataset_name) for e in eval_results([no_card])} == {
        ("kb-without-card (local folder, not on the Hub)", "kb-without-card")
    }
    named = eval_results([report], dataset_id="me/prixlm-kb")
    assert {(e.dataset_type, e.dataset_name) for e in named} == {("me/prixlm-kb", "me/prixlm-kb")}
    assert {e.dataset_type for e in eval_results([_report("me/prixlm")])} == {"me/kb"}
    assert "| me/kb | en |" in results_table([_report("me/prixlm")])


def test_a_report_of_another_model_is_refused(tmp_path, monkeypatch, capsys):
    """`--evaluation` took any report: another model's results went on this card. A report
    whose model is another existing folder is refused, naming both; this folder (however
    written), a Hub id or a path that is not here is accepted."""
    monkeypatch.chdir(tmp_path)
    folder = card_folder(tmp_path / "run" / "model")
    other = card_folder(tmp_path / "other-run" / "model")
    (tmp_path / "other.json").write_text(json.dumps(_report(str(other))), encoding="utf-8")
    with pytest.raises(SystemExit):
        model_card_main([str(folder), "--evaluation", str(tmp_path / "other.json")])
    error = capsys.readouterr().err
    assert f"--evaluation {tmp_path / 'other.json'}: evaluates the model in {other}" in error
    assert f"not the one in {folder}" in error
    assert not (folder / "README.md").exists() and not (folder / "evaluation_results.json").exists()
    with pytest.raises(
        ValueError, match=r"evaluations\[0\]: evaluates the model in other-run/model"
    ):
        write_model_card(folder, evaluations=[_report("other-run/model")])

    for model in ("run/model", str(folder), "run/../run/model/", "me/prixlm", "/gone/model"):
        write_model_card(folder, evaluations=[{**_report(model), "split": model}])
    kept = json.loads((folder / "evaluation_results.json").read_text(encoding="utf-8"))
    assert [report["model"] for report in kept] == [
        "run/model", str(folder), "run/../run/model/", "me/prixlm", "/gone/model"
    ]  # fmt: skip
    # a report made on a copy of this release folder (the same weights) is this model's
    (folder / "model.safetensors").write_bytes(b"weights")
    copy = card_folder(tmp_path / "copy" / "model")
    (copy / "model.safetensors").write_bytes(b"weights")
    write_model_card(folder, evaluations=[{**_report(str(copy)), "split": "copied"}])
    (copy / "model.safetensors").write_bytes(b"other!!")  # same size, other weights
    with pytest.raises(ValueError, match="evaluates the model in"):
        write_model_card(folder, evaluations=[{**_report(str(copy)), "split": "other"}])


def test_the_card_says_scores_include_the_closing_eos(tmp_path):
    """A score sums the log-probabilities of the object's tokens and `[EOS]` (the pipeline's
    and `predict_objects`' definition); the card named the object tokens only."""
    text = render_model_card(card_folder(tmp_path / "model")).text
    assert (
        "Scores are sums of log-probabilities of the object's tokens and the closing `[EOS]`:"
        in text
    )
    assert "log-probabilities of the object tokens:" not in text


def test_training_data_and_conversion_are_described_as_recorded(tmp_path, monkeypatch):
    """The CLDR demo paragraph was on every card (a DBpedia run's, a converted checkpoint's),
    and a converted checkpoint said "Continued from". The paragraph now follows the training
    data that train_results.json records; weights without a training record are converted."""
    monkeypatch.chdir(tmp_path)
    _dataset(tmp_path / "cldr", source="cldr_kb")
    _dataset(tmp_path / "dbpedia", source="dbpedia")
    args = {"learning_rate": 1e-3}

    def card(name: str, dataset: str | None = None, **options: str) -> str:
        settings = {"checkpoint_link_prediction_settings": {"dataset": dataset}} if dataset else {}
        files = {"training_args": args, "train_results": settings} if dataset else {}
        return render_model_card(card_folder(tmp_path / name, **files), **options).text

    cldr = card("cldr-run", "cldr")
    assert "The training data is a KB exported from Unicode CLDR" in cldr
    assert f"Training data: {PRETTY_NAME} (a local dataset folder, not on the Hub)." in cldr
    dbpedia = card("dbpedia-run", "dbpedia", base_model="FacebookAI/xlm-roberta-base")
    assert "CLDR" not in dbpedia and f"Training data: {PRETTY_NAME} (a local" in dbpedia
    assert "Continued from [`FacebookAI/xlm-roberta-base`]" in dbpedia
    assert "Converted from" not in dbpedia
    hub = card("hub-run", "me/prixlm-cldr-kb")
    assert (
        "Training data: [`me/prixlm-cldr-kb`](https://huggingface.co/datasets/me/prixlm-cldr-kb)."
        in hub
    )
    assert "exported from Unicode CLDR" in hub
    # published with --dataset_id: the body names the Hub copy the YAML names, not the folder
    published = card("published-run", "cldr", dataset_id="me/prixlm-cldr-kb")
    assert (
        "Training data: [`me/prixlm-cldr-kb`](https://huggingface.co/datasets/me/prixlm-cldr-kb)."
        in published
    )
    assert "local dataset folder" not in published and "exported from Unicode CLDR" in published
    # converted weights (no training record): --dataset_id names where they were evaluated
    assert "Training data:" not in card("converted-2", base_model="x/y", dataset_id="me/eval")
    converted = card("converted", base_model="wzhouad/prix-lm")
    assert (
        "Converted from [`wzhouad/prix-lm`](https://huggingface.co/wzhouad/prix-lm)." in converted
    )
    assert "Continued from" not in converted and "CLDR" not in converted
    assert "Training data:" not in converted and "hold everything" not in converted
    assert "This checkpoint's size (`config.json`; it was not trained here):" in converted
    assert "(`training_args.json` and `train_results.json` hold everything):" in dbpedia


def test_the_cards_datasets_are_decided_by_the_record_not_the_working_directory(
    tmp_path, monkeypatch
):
    """A report (or a run's checkpoint settings) that records `dataset_folder` is a Hub id
    or a local folder whatever folders the card's working directory holds."""
    from prixlm.release.model_card import checkpoint_report, hub_dataset_ids

    monkeypatch.chdir(tmp_path)
    (tmp_path / "me" / "kb").mkdir(parents=True)  # a folder named like the Hub id
    hub = {"dataset": "me/kb", "dataset_folder": None}
    local = {"dataset": str(tmp_path / "data"), "dataset_folder": str(tmp_path / "data")}
    assert hub_dataset_ids([hub, local], None) == ["me/kb"]
    assert hub_dataset_ids([{"dataset": "me/kb"}], None) == []  # an older record: as before
    settings = {"dataset": "me/kb", "dataset_folder": None, "num_beams": 5}
    report = checkpoint_report({
        "checkpoint_link_prediction": [{"step": 4, "lp_en/hits_at_1": 0.5, "lp_en/mrr": 0.6}],
        "checkpoint_link_prediction_settings": settings,
    })  # fmt: skip
    assert report["dataset_folder"] is None
    assert hub_dataset_ids([report], None) == ["me/kb"]
