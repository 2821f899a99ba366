"""Cards from results: the model card's model-index is the evaluation JSON, and the dataset
card round-trips through `DatasetCard.load` and loads without a config name."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fresh_process import last_json_line, run_fresh
from hub_recorder import build_tiny_dataset
from huggingface_hub import DatasetCard, ModelCard
from tiny_models import official_checkpoint

from prixlm.data.dbpedia.card import card_data, dataset_card
from prixlm.link_prediction.ranking import ranking_metrics
from prixlm.release.model_card import main as model_card_main

CHECKPOINTS = [  # train.py's train_results.json: LP at every checkpoint (MRR over K beams)
    {"step": 10, "lp_en/hits_at_1": 0.125, "lp_en/mrr": 0.25, "lp_de/hits_at_1": 0.0, "lp_de/mrr": 0.1},
    {"step": 20, "lp_en/hits_at_1": 0.375, "lp_en/mrr": 0.4375, "lp_de/hits_at_1": 0.25, "lp_de/mrr": 0.3},
]  # fmt: skip
CHECKPOINT_SETTINGS = {"dataset": "me/kb", "split": "validation", "queries_per_language": 8}


def _evaluate_lp_report() -> dict:
    """An `evaluate_lp --output` report: ranks through the real metrics, beam K=5 (no
    hits@10: a gold outside the 5 beams is a miss)."""
    return {
        "model": "me/prixlm-tiny",
        "dataset": "me/kb",
        "split": "test",
        "mode": "beam",
        "num_beams": 5,
        "limit": None,
        "candidates": None,
        "candidates_sha256": None,
        "results": {
            "en": {**ranking_metrics([1.0, 2.5, None, 4.0], (1, 3), 5), "num_candidates": 7},
            "all/de": {**ranking_metrics([1.0, 1.0, 3.0], (1, 3), 5), "num_candidates": 4},
        },
    }


def test_model_card_numbers_are_the_evaluation_json(released, tmp_path, capsys):
    folder = tmp_path / "prixlm-tiny"
    shutil.copytree(released[2], folder)
    train_results = {
        "languages": ["de", "en"],
        "train_loss": 2.5,
        "world_size": 1,
        "checkpoint_link_prediction": CHECKPOINTS,
        "checkpoint_link_prediction_settings": {**CHECKPOINT_SETTINGS, "num_beams": 10},
    }
    (folder / "train_results.json").write_text(json.dumps(train_results))
    report = _evaluate_lp_report()
    (tmp_path / "test.json").write_text(json.dumps(report))
    curve = tmp_path / "run" / "lp_curve.png"
    curve.parent.mkdir()
    curve.write_bytes(b"\x89PNG\r\n\x1a\n fig. 2")  # the PNG signature, then anything
    argv = [str(folder), "--evaluation", str(tmp_path / "test.json"), "--curve", str(curve)]
    model_card_main(argv + ["--base_model", "xlm-roberta-base", "--repo_id", "me/prixlm-tiny"])

    card = ModelCard.load(folder / "README.md")  # parses and checks the model-index
    got = {
        (e.dataset_type, e.dataset_config, (e.metric_args or {}).get("object_language"),
         e.dataset_split, e.metric_type): e.metric_value
        for e in card.data.eval_results
    }  # fmt: skip
    expected = {
        (
            "me/kb",
            language,
            None,
            "validation",
            "hits_at_1" if metric == "hits_at_1" else "mrr_at_10",
        ): (CHECKPOINTS[-1][f"lp_{language}/{metric}"])
        for language in ("en", "de")
        for metric in ("hits_at_1", "mrr")
    }
    for name, metrics in report["results"].items():
        config, _, language = name.partition("/")
        for metric in ("hits_at_1", "hits_at_3", "mrr_at_5"):
            expected["me/kb", config, language or None, "test", metric] = metrics[metric]
    assert got == expected
    assert {e.task_type for e in card.data.eval_results} == {"link-prediction"}
    assert card.data.model_name == "prixlm-tiny"
    assert card.data.language == ["de", "en"] and card.data.datasets == ["me/kb"]
    assert card.data.base_model == "xlm-roberta-base" and card.data.license == "apache-2.0"
    assert card.data.widget and all("text" in example for example in card.data.widget)
    # the body: the table in %, the curve copied and embedded, hyper-parameters, use, citation
    assert "| me/kb | all/de | test | beam (K=5) | 3 | 66.7 | 100.0 | – | 77.8 (MRR@5) |" in (
        card.text
    )
    assert "| me/kb | en | validation | beam (K=10), step 20 | 8 | 37.5 |" in card.text
    assert (folder / "lp_curve.png").read_bytes() == curve.read_bytes()
    assert "![hits@1 and MRR@K per checkpoint](lp_curve.png)" in card.text
    training_args = json.loads((folder / "training_args.json").read_text())
    assert f"| learning_rate | {training_args['learning_rate']} |" in card.text
    assert 'pipeline(model="me/prixlm-tiny", trust_remote_code=True)' in card.text
    assert "## Intended uses and limitations" in card.text and "zhou-etal-2022-prix" in card.text
    assert "{{" not in str(card) and "{%" not in str(card)

    (tmp_path / "bad.json").write_text('{"results": [1, 2]}')
    with pytest.raises(SystemExit):
        model_card_main([str(folder), "--evaluation", str(tmp_path / "bad.json")])
    assert f"--evaluation {tmp_path / 'bad.json'}: no 'results' object" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["config.json", "training_args.json", "train_results.json"])
def test_a_folder_file_that_is_not_a_json_object_is_one_error_line(
    released, tmp_path, capsys, name
):
    """A list saved as `config.json`, `training_args.json` or `train_results.json` was an
    `AttributeError` traceback (exit status 1)."""
    folder = tmp_path / "model"
    shutil.copytree(released[2], folder)
    (folder / name).write_text("[1]\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        model_card_main([str(folder)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err == f"error: {folder / name}: expected a JSON object, not list\n"
    assert not (folder / "README.md").exists()


def test_dataset_card_round_trips_and_loads_by_default_with_sharded_splits(tmp_path):
    """Several shards per split (the files listed per split in `configs:`): the YAML reads
    back as written, and `load_dataset(folder)` without a config name gives the `all` config."""
    from prixlm.data.dbpedia.build import build_dataset

    folder = build_tiny_dataset(tmp_path / "kb-sharded")
    rows, _ = build_dataset(tmp_path / "dumps", None, ["en", "de"])
    built = {
        c["config_name"]: c["data_files"]
        for c in DatasetCard.load(folder / "README.md").data.configs
    }
    sizes, files = {}, {}
    for config in ("en", "de", "links"):  # each split rewritten as two shards
        for entry in built[config]:
            paths = [entry["path"]] if isinstance(entry["path"], str) else entry["path"]
            table = pa.concat_tables([pq.read_table(folder / path) for path in paths])
            for path in paths:
                (folder / path).unlink()
            half = (table.num_rows + 1) // 2
            shards = [table.slice(0, half), table.slice(half)]
            for index, shard in enumerate(s for s in shards if s.num_rows):
                name = f"{config}/{entry['split']}-{index:05d}-of-{len(shards):05d}.parquet"
                pq.write_table(shard, folder / name)
                sizes[name] = (shard.num_rows, shard.nbytes)
                files.setdefault(config, {}).setdefault(entry["split"], []).append(name)
    files["all"] = {
        split: [p for c in ("en", "de", "links") for p in files[c].get(split, [])]
        for split in ("train", "validation", "test")
        if any(split in files[c] for c in ("en", "de"))
    }
    text = dataset_card(rows, sizes, files=files)
    (folder / "README.md").write_text(text, encoding="utf-8")

    card = DatasetCard.load(folder / "README.md")
    assert (
        card.data.to_dict()
        == card_data(rows, sizes, "cc-by-sa-3.0", {}, files, split=rows.settings).to_dict()
    )
    assert str(card) == text  # written by DatasetCard: reads back unchanged
    data = card.data
    assert data.task_categories == ["text-generation", "graph-ml"]
    assert data.size_categories == ["n<1K"] and data.source_datasets == ["extended|dbpedia"]
    assert data.license == "cc-by-sa-3.0" and data.language == ["de", "en"]
    configs = {c["config_name"]: c for c in data.configs}
    assert [name for name, c in configs.items() if c.get("default")] == ["all"]
    train_shards = next(f["path"] for f in configs["en"]["data_files"] if f["split"] == "train")
    assert train_shards == files["en"]["train"] and len(train_shards) == 2
    num_examples = {
        (info["config_name"], split["name"]): split["num_examples"]
        for info in data.dataset_info
        for split in info["splits"]
    }
    all_train = sum(len(t["train"]) for t in rows.triples.values()) + len(rows.links)
    assert num_examples["en", "train"] == len(rows.triples["en"]["train"])
    assert num_examples["all", "train"] == all_train
    for language, stats in rows.stats.items():  # statistics per language in the body
        assert f"| {language} | {stats.entities:,} | {stats.triples:,} |" in card.text

    script = (
        "import json, sys\nfrom datasets import load_dataset\n"
        "default = load_dataset(sys.argv[1])\n"
        "en = load_dataset(sys.argv[1], 'en')\n"
        "print(json.dumps([{s: default[s].num_rows for s in default}, en['train'].num_rows]))\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_CACHE": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-c", script, str(folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    default, en_train = json.loads(done.stdout.strip().splitlines()[-1])
    assert default["train"] == all_train and en_train == len(rows.triples["en"]["train"])


def test_a_licence_given_to_the_build_is_in_the_cards_body_too(tmp_path):
    """`--license` set the YAML's licence while the body still stated the source's."""
    from prixlm.data.dbpedia.build import build_dataset

    build_tiny_dataset(tmp_path / "kb")
    rows, _ = build_dataset(tmp_path / "dumps", None, ["en", "de"])
    default = dataset_card(rows, {})
    assert "Licence: DBpedia data: CC BY-SA 3.0 and GNU FDL" in default
    given = DatasetCard(dataset_card(rows, {}, license_id="cc-by-4.0"))
    assert given.data.license == "cc-by-4.0"
    assert "Licence: cc-by-4.0, as given to the build (the source's: DBpedia data" in given.text


def test_a_one_language_dataset_is_carded_monolingual(tmp_path):
    from prixlm.data.dbpedia.build import build_dataset

    build_tiny_dataset(tmp_path / "kb")
    for languages, kind in ((["en"], "monolingual"), (["en", "de"], "multilingual")):
        rows, _ = build_dataset(tmp_path / "dumps", None, languages)
        assert DatasetCard(dataset_card(rows, {})).data.multilinguality == kind


def test_converted_official_checkpoint_gets_a_card(tiny_tokenizer, tmp_path):
    """`convert_official` writes the card: the official model as base model, its languages."""
    from prixlm.release.convert_official import OFFICIAL_REPO, convert_official

    source = official_checkpoint(tiny_tokenizer, tmp_path / "official")
    destination = convert_official(source, tmp_path / "prixlm-official")
    card = ModelCard.load(destination / "README.md")
    assert card.data.base_model == OFFICIAL_REPO and card.data.model_name == "prixlm-official"
    assert card.data.language == ["de", "en", "fr", "ja"]  # the tiny tokenizer's [xx] tokens
    assert card.data.eval_results is None and "No evaluation was recorded" in card.text
    assert f'pipeline(model="{destination}", trust_remote_code=True,\n' in card.text
    # the card's attention sentence is the config's (it described the paper's for every mode)
    assert "attention is causal (left to right) over the whole\nfact" in card.text
    assert "`config.object_attention`: `causal`" in card.text
    assert "bidirectional over the prefix" not in card.text
    # converted, not trained here: no "Continued from", no word of the CLDR demo data
    assert (
        f"Converted from [`{OFFICIAL_REPO}`](https://huggingface.co/{OFFICIAL_REPO})." in card.text
    )
    assert "Continued from" not in card.text and "CLDR" not in card.text
    paper = convert_official(source, tmp_path / "paper", object_attention="prefix_bidirectional")
    assert "bidirectional over the prefix" in ModelCard.load(paper / "README.md").text


def test_a_report_under_another_protocol_says_so():
    """`evaluate_lp --protocol kens,...` reports kens as `results`: the card names it."""
    from prixlm.release.card_results import eval_results, results_table

    report = {**_evaluate_lp_report(), "mode": "full", "num_beams": None, "protocol": "kens"}
    assert {e.metric_config for e in eval_results([report])} == {
        "full, protocol kens, all 4 queries",
        "full, protocol kens, all 3 queries",
    }
    assert "| me/kb | en | test | full, protocol kens | 4 |" in results_table([report])
    plain = {**report, "protocol": "ours"}
    assert {e.metric_config for e in eval_results([plain])} == {
        "full, all 4 queries",
        "full, all 3 queries",
    }


def test_the_same_local_evaluation_is_kept_once(released, tmp_path):
    """A report of a local folder recorded `dataset` as typed (`outputs/demo/dataset`);
    evaluate_lp records it by its absolute path now: the same evaluation again replaces
    the earlier report instead of standing beside it on the card."""
    from prixlm.release.model_card import stored_evaluations

    folder = tmp_path / "model"
    shutil.copytree(released[2], folder)
    local = str(tmp_path / "outputs" / "demo" / "dataset")
    earlier = {**_evaluate_lp_report(), "dataset": "outputs/demo/dataset", "dataset_folder": local}
    now = {**earlier, "dataset": local, "dataset_argument": "outputs/demo/dataset"}
    for name, report in (("earlier", earlier), ("now", now)):
        (tmp_path / f"{name}.json").write_text(json.dumps(report))
        model_card_main([str(folder), "--evaluation", str(tmp_path / f"{name}.json")])
    assert [r["dataset"] for r in stored_evaluations(folder)] == [local]


def test_kept_reports_and_their_datasets(released, tmp_path, capsys):
    """A report under another protocol is kept beside the first (it replaced it); a report
    on another Hub dataset stays under that dataset with --dataset_id; a report the card
    cannot show is refused before anything is kept; the checkpoint rows give the queries
    actually evaluated."""
    from prixlm.release.card_results import eval_results
    from prixlm.release.model_card import checkpoint_report, stored_evaluations

    folder = tmp_path / "model"
    shutil.copytree(released[2], folder)
    ours = _evaluate_lp_report()
    kens = {**ours, "mode": "full", "num_beams": None, "protocol": "kens"}
    other = {**ours, "dataset": "acme/dbp5l-kg"}
    for name, report in (("ours", ours), ("kens", kens), ("other", other)):
        (tmp_path / f"{name}.json").write_text(json.dumps(report))
    for name in ("ours", "kens", "other"):
        model_card_main([str(folder), "--evaluation", str(tmp_path / f"{name}.json")])
    kept = stored_evaluations(folder)
    assert [(r["dataset"], r.get("protocol", "ours")) for r in kept] == [
        ("me/kb", "ours"), ("me/kb", "kens"), ("acme/dbp5l-kg", "ours")
    ]  # fmt: skip
    shown = {(e.dataset_type, e.metric_config) for e in eval_results(kept, "me/kb")}
    assert ("acme/dbp5l-kg", "beam K=5, all 4 queries") in shown
    assert ("me/kb", "full, protocol kens, all 4 queries") in shown
    assert not {d for d, _ in shown} - {"me/kb", "acme/dbp5l-kg"}
    before = (folder / "evaluation_results.json").read_bytes()
    (tmp_path / "flat.json").write_text(json.dumps({"results": {"de": 0.5}}))
    with pytest.raises(SystemExit):
        model_card_main([str(folder), "--evaluation", str(tmp_path / "flat.json")])
    assert "results['de'] is not an object of metric values" in capsys.readouterr().err
    assert (folder / "evaluation_results.json").read_bytes() == before
    model_card_main([str(folder)])  # the folder still renders
    # 8 queries asked per language, the German split had 3
    train_results = {
        "checkpoint_link_prediction": CHECKPOINTS,
        "checkpoint_link_prediction_settings": {**CHECKPOINT_SETTINGS, "queries": {"en": 8, "de": 3}},
    }  # fmt: skip
    results = checkpoint_report(train_results)["results"]
    assert (results["en"]["num_queries"], results["de"]["num_queries"]) == (8, 3)


def test_a_report_on_the_first_queries_says_so():
    """`evaluate_lp --limit 20` and the full test run gave two model-index entries with the
    same names and different values; the limited one now says what it measured."""
    from prixlm.release.card_reports import _report_key
    from prixlm.release.card_results import eval_results

    full = _evaluate_lp_report()
    limited = {**full, "limit": 3}  # en has 4 test queries, de 3
    assert {e.metric_config for e in eval_results([limited])} == {"beam K=5, first 3 queries"}
    # a limit above a split's queries measured all of them: said so, not "first 20"
    beyond = {e.metric_config for e in eval_results([{**full, "limit": 20}])}
    assert beyond == {"beam K=5, all 4 queries", "beam K=5, all 3 queries"}
    assert {e.metric_config for e in eval_results([full])} == {
        "beam K=5, all 4 queries",
        "beam K=5, all 3 queries",
    }
    assert _report_key(limited) != _report_key(full)  # kept side by side


def test_a_local_base_model_is_left_out_of_the_card(released, tmp_path, monkeypatch):
    """`train.py --base_model /a/folder` wrote `base_model: /a/folder` (no Hub id: the Hub
    refuses such metadata) and a link to https://huggingface.co//a/folder."""
    from prixlm.release.model_card import render_model_card

    local = tmp_path / "tiny_xlmr"
    local.mkdir()
    monkeypatch.chdir(tmp_path)
    for given in (str(local), "tiny_xlmr"):  # absolute, and relative to a folder that exists
        card = render_model_card(released[2], base_model=given)
        assert card.data.base_model is None and "huggingface.co//" not in card.text
        assert f"huggingface.co/{given}" not in card.text
    card = render_model_card(released[2], base_model="FacebookAI/xlm-roberta-base")
    assert card.data.base_model == "FacebookAI/xlm-roberta-base"
    assert "https://huggingface.co/FacebookAI/xlm-roberta-base" in card.text


def _use_snippets(card_text: str) -> list[str]:
    """The Python code blocks of the card's "Use" section, as written."""
    use = card_text.split("\n## Use\n", 1)[1].split("\n## ", 1)[0]
    return [block.split("\n", 1)[1].split("```")[0] for block in use.split("```python")[1:]]


def test_the_card_of_a_folder_without_candidates_runs_as_written(tiny_tokenizer, tmp_path):
    """A converted folder stores no candidates (no `candidates.json`): its card said the
    pipeline ranks "the stored candidate entities" and its example failed ("the candidates
    cover none"). The example now gives `candidates=`, and runs as written, in a fresh
    offline process without the project's packages."""
    from prixlm.release.convert_official import convert_official
    from prixlm.release.model_card import EXAMPLE_CANDIDATES

    source = official_checkpoint(tiny_tokenizer, tmp_path / "official")
    folder = convert_official(
        source, tmp_path / "converted", object_attention="prefix_bidirectional"
    )
    assert not (folder / "candidates.json").exists()
    text = ModelCard.load(folder / "README.md").text
    assert "stored candidate" not in text and "the pipeline needs them" in text
    pipeline_snippet, generate_snippet = _use_snippets(text)
    assert "candidates={" in pipeline_snippet and 'kb("Germany | currency")' in pipeline_snippet

    script = (
        "import sys\nfor name in ('modeling_prixlm', 'prixlm'):\n    sys.modules[name] = None\n"
    )
    check = "\nimport json\nprint(json.dumps(kb('Germany | currency')))\n"
    answers = last_json_line(
        run_fresh(script + pipeline_snippet + generate_snippet + check, cwd=tmp_path)
    )
    assert answers and {item["object"] for item in answers} <= set(EXAMPLE_CANDIDATES)


def test_a_report_of_two_protocols_puts_both_on_the_card(released, tmp_path):
    """`evaluate_lp --protocol ours,kens` writes kens' figures in `results_by_protocol`
    only: the card showed the first protocol's alone."""
    from prixlm.release.card_results import eval_results
    from prixlm.release.model_card import stored_evaluations

    folder = tmp_path / "model"
    shutil.copytree(released[2], folder)
    ours = {**_evaluate_lp_report(), "mode": "full", "num_beams": None, "protocol": "ours"}
    kens = {"en": {**ranking_metrics([1.0, 1.0, 2.0, 9.0], (1, 3), None), "num_candidates": 7}}
    report = {**ours, "results_by_protocol": {"ours": ours["results"], "kens": kens}}
    (tmp_path / "both.json").write_text(json.dumps(report), encoding="utf-8")
    model_card_main([str(folder), "--evaluation", str(tmp_path / "both.json")])
    kept = stored_evaluations(folder)
    assert [(r["protocol"], r["results"]) for r in kept] == [
        ("ours", ours["results"]), ("kens", kens)
    ]  # fmt: skip
    shown = {(e.metric_config, e.metric_type, e.metric_value) for e in eval_results(kept, "me/kb")}
    assert ("full, protocol kens, all 4 queries", "hits_at_1", kens["en"]["hits_at_1"]) in shown
    assert kens["en"]["hits_at_1"] != ours["results"]["en"]["hits_at_1"]
