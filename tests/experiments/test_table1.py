"""`make table1`'s code path at toy size: two languages, tiny KB, a few steps, one process."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

pytest.importorskip("pykeen")
sys.path.insert(0, str(Path(__file__).parent))

from tiny_kb import TABLE1_DOCS_KEPT as COMPLETION  # noqa: E402
from tiny_kb import write_tiny_dumps  # noqa: E402

from prixlm.experiments import table1  # noqa: E402
from prixlm.experiments.table1_data import pivot_links_copy  # noqa: E402
from prixlm.experiments.table1_docs import METRIC_NAMES, averages, percent  # noqa: E402

METHODS = {"TransE", "RotatE", "RotatE (union graph)", "Prix-LM (Single)", "Prix-LM (All)"}


def test_paired_differences_agree_with_the_table(table1_toy_run):
    """All minus Single, TransE and RotatE on the same test queries (the records keep their
    per-query ranks): the difference is that of the table's averages, the interval holds
    it, the docs show it; records without ranks give no pair."""
    root, _, _ = table1_toy_run
    saved = json.loads((root / "table1.json").read_text("utf-8"))
    assert set(saved["paired"]) == {"Prix-LM (All) - Prix-LM (Single)",
                                    "Prix-LM (All) - TransE", "Prix-LM (All) - RotatE"}  # fmt: skip
    for name, by_protocol in saved["paired"].items():
        first, second = name.split(" - ")
        assert set(by_protocol) == {"ours"}
        for metric, result in by_protocol["ours"].items():
            average = {m: sum(saved["methods"][m][lang][metric] for lang in ("en", "de")) / 2
                       for m in (first, second)}  # fmt: skip
            assert result["difference"] == pytest.approx(average[first] - average[second])
            assert result["low"] - 1e-12 <= result["difference"] <= result["high"] + 1e-12
    assert "| Prix-LM (All) - RotatE | ours | " in (root / "docs" / "results.md").read_text()
    records = table1.load_records(root / "work" / "jobs")
    for cell in records["kge-TransE-en"]["test"].values():
        cell.pop("ranks")  # a record made before ranks were kept
    table = table1.assemble(saved["profile"], records, saved["kb"], 0.0, "")
    assert set(table["paired"]) == {"Prix-LM (All) - Prix-LM (Single)", "Prix-LM (All) - RotatE"}


def test_json_schema(table1_toy_run):
    root, _, table = table1_toy_run
    saved = json.loads((root / "table1.json").read_text("utf-8"))
    assert saved["languages"] == ["en", "de"]
    assert set(saved["methods"]) == METHODS
    for cells in saved["methods"].values():
        assert set(cells) == {"en", "de"}
        for metrics in cells.values():
            assert set(metrics) == {"hits_at_1", "hits_at_3", "hits_at_10", "mrr"}
            assert all(0.0 <= v <= 1.0 for v in metrics.values())
            assert metrics["hits_at_1"] <= metrics["hits_at_3"] <= metrics["hits_at_10"]
            assert metrics["mrr"] > 0  # full ranking: every gold has a finite rank
    assert saved["kb"]["en"]["entities"] == 30 and saved["kb"]["en"]["test"] > 0
    assert saved["methods"] == table["methods"]
    assert set(saved["job_seconds"]) == set(saved["jobs_finished"])
    union = saved["details"]["RotatE (union graph)"]  # whether its search was cut, as per language
    assert union["grid_truncated"] is False and union["epoch_points"] == [1]
    total = sum(saved["job_seconds"].values())
    text = (root / "docs" / "results.md").read_text("utf-8")
    assert f"jobs {total:,.0f} s in all, wall time {saved['wall_seconds']} s" in text


def test_docs_numbers_are_the_json_numbers(table1_toy_run):
    root, _, _ = table1_toy_run
    table = json.loads((root / "table1.json").read_text("utf-8"))
    text = (root / "docs" / "results.md").read_text("utf-8")
    means = averages(table)
    for key, title in METRIC_NAMES.items():
        block = text.split(f"**{title}** (test, %)")[1].split("\n\n")[1]
        for method in METHODS:
            line = next(line for line in block.splitlines() if line.startswith(f"| {method} |"))
            cells = [c.strip() for c in line.strip("|").split("|")][1:]
            expected = [percent(table["methods"][method][lang][key]) for lang in ("en", "de")]
            assert cells == expected + [percent(means[method][key])]
    assert (root / "docs" / "table1.png").read_bytes()[:4] == b"\x89PNG"


def test_completion_block_and_intro_kept(table1_toy_run):
    root, _, _ = table1_toy_run
    text = (root / "docs" / "results.md").read_text("utf-8")
    assert text.startswith("# Results\n\nintro\n")
    assert COMPLETION in text
    assert text.count("<!-- table1:start -->") == 1


def test_resume_skips_finished_jobs(table1_toy_run, capsys, monkeypatch):
    root, argv, table = table1_toy_run
    records = sorted((root / "work" / "jobs").glob("*.json"))
    assert len(records) == 9  # 2 x (TransE, RotatE, Single) + union + 2 All variants
    before = {p: p.stat().st_mtime_ns for p in records}
    again = table1.main(argv)
    assert "9 of 9 jobs already done" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in records} == before
    assert again["methods"] == table["methods"]
    monkeypatch.chdir(root)  # the same folder named relative to the working directory
    relative = [
        *argv[: argv.index("--work_dir") + 1],
        "work",
        *argv[argv.index("--work_dir") + 2 :],
    ]
    assert table1.main(relative)["methods"] == table["methods"]
    assert "9 of 9 jobs already done" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in records} == before
    # without --results/--docs/--chart a toy run writes into its work folder: the defaults
    # were results/table1.json, docs/results.md and docs/table1.png of the working directory
    (root / "results").mkdir()
    unnamed = [a for i, a in enumerate(relative) if not ({a, relative[i - 1]} & {"--results", "--docs", "--chart"})]  # fmt: skip
    assert table1.main(unnamed)["methods"] == table["methods"]
    written = {"table1.json", "results.md", "table1.png", "table1_all_curve.png"}
    assert written <= {p.name for p in (root / "work").iterdir()}
    assert not any((root / "results").iterdir())
    # another seed or other languages: refused (the kept jobs would be reported under them)
    for extra, named in ((["--seed", "1"], "seed 1 (the folder's: 0)"),
                         (["--languages", "en"], "languages ['en'] (the folder's: ['en', 'de'])")):  # fmt: skip
        with pytest.raises(SystemExit) as exit_info:
            table1.main([*argv, *extra])
        assert exit_info.value.code == 2
        assert named in capsys.readouterr().err
    assert {p: p.stat().st_mtime_ns for p in records} == before


def test_a_job_made_with_other_arguments_runs_again(table1_toy_run, capsys):
    """A record was reused whatever its job's arguments (another time limit, grid or epoch
    points of the profile), and the table stated the new ones over the old numbers."""
    root, argv, table = table1_toy_run
    records = sorted((root / "work" / "jobs").glob("*.json"))
    plans = {p.stem: json.loads(p.read_text("utf-8"))["plan"] for p in records}
    assert plans["single-lr1e3-en"]["run_dir"] == "<work_dir>/runs/single-lr1e3-en"
    try:
        longer = table1.main([*argv, "--single_time_limit", "1000"])
        assert "7 of 9 jobs already done" in capsys.readouterr().out  # the two Singles ran
        for language in ("en", "de"):
            record = json.loads(
                (root / "work" / "jobs" / f"single-lr1e3-{language}.json").read_text()
            )
            assert record["plan"]["time_limit"] == 1000 and record["time_budget_s"] == 1000
        assert longer["profile"]["single_time_limit"] == 1000
    finally:
        table1.main(argv)  # the Singles as the fixture made them
    assert "7 of 9 jobs already done" in capsys.readouterr().out


def test_prixlm_selection_uses_validation_only(table1_toy_run):
    root, _, _ = table1_toy_run
    records = table1.load_records(root / "work" / "jobs")
    fake = dict(records)
    good = json.loads(json.dumps(records["all-lr1e3"]))
    for lang in good["validation"]:
        good["validation"][lang]["mrr"] = 1.0
        good["test"][lang]["mrr"] = 0.0  # worse on test: must still be chosen
    fake["all-better"] = good
    variant, selected = table1._select(fake, "all-", ["en", "de"])
    assert variant == "better" and selected["test"]["en"]["mrr"] == 0.0


def test_bad_arguments_are_named(tmp_path, capsys):
    for argv, message in (
        (["--profile", "huge"], "error: --profile 'huge'"),
        (["--profile", "toy", "--languages", ","], "error: --languages: no language given"),
        (
            ["--profile", "toy", "--languages", "en,xx"],
            "error: --languages: unknown CLDR locale(s) ['xx']",
        ),
    ):
        with pytest.raises(SystemExit) as exit_info:
            table1.main([*argv, "--work_dir", str(tmp_path / "work")])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err


def test_languages_without_the_profiles_pivot_are_refused_before_any_data(
    tmp_path, capsys, monkeypatch
):
    """All trains on the links through the profile's pivot: without it among --languages
    its job failed after every other job (hours); now one line before any data is built."""

    def no_data(*args, **kwargs):
        raise AssertionError("the data were prepared")

    monkeypatch.setattr(table1, "prepare_data", no_data)
    with pytest.raises(SystemExit) as exit_info:
        table1.main(["--profile", "quick", "--languages", "de,ja", "--work_dir", str(tmp_path)])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.endswith(
        "error: --languages de,ja: the quick profile's All trains on the links with one end "
        "in 'en', its pivot language, which is not among them: add en\n"
    )


def test_markdown_has_one_row_per_method_and_percent_format(table1_toy_run):
    root, _, _ = table1_toy_run
    text = (root / "docs" / "results.md").read_text("utf-8")
    rows = re.findall(r"^\| (TransE|RotatE|Prix-LM \(All\)) \|", text, flags=re.M)
    assert len(rows) == 3 * len(METRIC_NAMES)


def test_pivot_links_copy_keeps_splits_and_filters_links(table1_toy_run):
    from prixlm.data.loading import load_kb

    root, _, _ = table1_toy_run
    main, pivot = root / "work" / "data", root / "work" / "data_links_en"
    links = load_kb(pivot, "links", split="train").to_list()
    assert links and all("en" in (r["subject_language"], r["object_language"]) for r in links)
    for language in ("en", "de"):
        for split in ("train", "validation", "test"):
            assert (
                load_kb(pivot, language, split=split).to_list()
                == load_kb(main, language, split=split).to_list()
            )


def test_pivot_links_copy_reads_every_shard_of_the_links(tmp_path):
    import pyarrow.parquet as pq

    from prixlm.data.dbpedia.build import main as build
    from prixlm.data.loading import load_kb, local_data_files

    dataset = tmp_path / "data"
    dumps = ["--dump_dir", str(write_tiny_dumps(tmp_path / "dumps"))]
    assert (
        build([*dumps, "--output_dir", str(dataset), "--no_progress", "--max_shard_rows", "16"])
        == 0
    )
    shards = local_data_files(dataset, "links")["train"]
    assert len(shards) > 1  # 60 link rows in shards of at most 16
    total = load_kb(dataset, "links", split="train").num_rows
    pivot_links_copy(dataset, tmp_path / "pivot_en", "en")
    pivot_links_copy(dataset, tmp_path / "pivot_xx", "xx")
    # every link of this KB has an English end; none has an `xx` one: filtered shard by shard
    assert load_kb(tmp_path / "pivot_en", "links", split="train").num_rows == total == 60
    xx_shards = local_data_files(tmp_path / "pivot_xx", "links")["train"]
    assert len(xx_shards) == len(shards)
    assert sum(pq.read_metadata(shard).num_rows for shard in xx_shards) == 0


def test_kge_job_reports_every_protocol_over_given_candidates(table1_toy_run):
    """`protocols`: one record holds ours (selection, `test`) and kens (`by_protocol`);
    `candidates_file` adds an entity no triple names (it gets an embedding and is ranked)."""
    from prixlm.experiments import jobs
    from prixlm.link_prediction.evaluation import candidate_labels

    root = table1_toy_run[0]
    dataset = str(root / "work" / "data")
    labels = candidate_labels(jobs.load_language(dataset, "en"), "en")
    entities = root / "entities.json"
    entities.write_text(json.dumps({"en": [*labels, "Atlantis"]}), "utf-8")
    common = {"dataset_dir": dataset, "languages": ["en"], "eval_limit": 8,
              "grid": [{"model": "TransE", "embedding_dim": 8}], "epoch_points": [1]}  # fmt: skip
    plain = jobs.kge_job(**common)
    both = jobs.kge_job(**common, protocols=("ours", "kens"), candidates_file=str(entities))
    assert both["entities"] == plain["entities"] + 1
    assert both["protocol"] == "ours" and set(both["by_protocol"]) == {"ours", "kens"}
    assert both["test"] == both["by_protocol"]["ours"]["test"]
    kens = both["by_protocol"]["kens"]["test"]["en"]
    assert set(kens) == {
        "hits_at_1",
        "hits_at_3",
        "hits_at_10",
        "mrr",
        "num_queries",
        "num_missing",
        "ranks",
    }
    assert kens["num_queries"] == 8 == len(kens["ranks"]["filtered"]) and 0 < kens["mrr"] <= 1
    assert plain["by_protocol"]["ours"]["test"] == plain["test"]


def test_all_records_its_validation_curve_and_docs_plot_it(table1_toy_run):
    """All's validation loss every 5 steps (toy profile) in the job record and the JSON; the
    docs section lists the points of the selected variant and the PNG is written beside the
    chart."""
    root, _, table = table1_toy_run
    record = table1.load_records(root / "work" / "jobs")["all-lr1e3"]
    curve = record["curve"]
    assert curve["metric"] == "loss" and curve["every"] == 5
    steps = [point["step"] for point in curve["points"]]
    assert steps == [5, 10, 15, 20] == steps[:-1] + [record["steps"]]
    assert all(set(p) == {"step", "mean", "en", "de"} for p in curve["points"])
    first, last = curve["points"][0], curve["points"][-1]
    assert last["mean"] < first["mean"]  # it learns: the validation loss goes down
    assert first["mean"] == pytest.approx((first["en"] + first["de"]) / 2)
    assert curve["stopped_by"] in ("flat curve", "step limit (max_steps)")
    saved = json.loads((root / "table1.json").read_text("utf-8"))
    selected = saved["details"]["Prix-LM (All)"]["selected_variant"]
    assert saved["details"]["Prix-LM (All)"]["variants"][f"all-{selected}"]["curve"]["points"]
    text = (root / "docs" / "results.md").read_text("utf-8")
    assert "### Prix-LM (All): validation curve" in text
    assert "](table1_all_curve.png)" in text
    shown = saved["details"]["Prix-LM (All)"]["variants"][f"all-{selected}"]["curve"]["points"]
    assert f"| {shown[-1]['step']} | {shown[-1]['mean']:.3f} |" in text
    assert (root / "docs" / "table1_all_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_kge_search_records_configurations_and_time(table1_toy_run):
    root, _, _ = table1_toy_run
    record = table1.load_records(root / "work" / "jobs")["kge-RotatE-en"]
    assert record["grid_points"] == 1 and [p["epochs"] for p in record["grid"]] == [1, 2]
    assert all("validation_hits_at_1" in p and p["seconds"] >= 0 for p in record["grid"])
    assert record["seconds"] > 0 and not record["grid_truncated"]


def test_curve_evaluators_agree_with_the_release_and_the_ranking(table1_toy_run):
    """The curve's last loss is the release folder's validation loss (the same weights), and
    the MRR curve ranks like `evaluate_scorer` on the same validation rows."""
    from prixlm.experiments.curve import curve_callback
    from prixlm.experiments.jobs import load_language
    from prixlm.link_prediction.evaluation import candidate_labels
    from prixlm.link_prediction.scorer import PrixLMScorer, evaluate_scorer
    from prixlm.model_loading import load_prixlm

    root, _, _ = table1_toy_run
    record = table1.load_records(root / "work" / "jobs")["all-lr1e3"]
    model, tokenizer = load_prixlm(record["release"], "cpu")
    data = str(root / "work" / "data")
    loss = curve_callback(data, ["en", "de"], "loss", 5, 0, 2, 0.0, max_length=64)
    assert loss.evaluate(model, tokenizer)["mean"] == pytest.approx(
        record["curve"]["points"][-1]["mean"], rel=1e-4
    )
    mrr = curve_callback(data, ["en", "de"], "mrr", 5, 4, 2, 0.0).evaluate(model, tokenizer)
    for language in ("en", "de"):
        splits = load_language(data, language)
        expected = evaluate_scorer(
            PrixLMScorer(model, tokenizer, 8, 512),
            splits["validation"][:4],
            candidate_labels(splits, language),
        )["mrr"]
        assert mrr[language] == pytest.approx(expected)
    assert mrr["mean"] == pytest.approx((mrr["en"] + mrr["de"]) / 2)
    with pytest.raises(ValueError, match="curve_metric='hits'"):
        curve_callback(data, ["en"], "hits", 5, 4, 2, 0.0)
