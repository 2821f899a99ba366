"""`make dbp5l`'s outputs at toy size: the JSON (every method, protocol and paired
comparison), the docs block and chart rendered from it, `--no_run` from finished jobs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("pykeen")

from prixlm.experiments import dbp5l  # noqa: E402
from prixlm.experiments.dbp5l_docs import read_block, render  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
METHODS = {"TransE", "RotatE", "Prix-LM (Single)", "Prix-LM (All)", "Prix-LM (All, no links)",
           "TransE (all test queries)", "RotatE (all test queries)"}  # fmt: skip


def test_json_has_every_method_under_every_protocol(dbp5l_toy_run):
    root, _, table = dbp5l_toy_run
    saved = json.loads((root / "dbp5l.json").read_text("utf-8"))
    assert saved["languages"] == ["en", "ja"] and saved["protocol"] == "ours"
    # raw: what SS-AGA's released run logs (unfiltered); kens' hits@10 is the raw one, and
    # its train filter can only raise hits@1 and MRR (the same tie rule: by candidate order)
    assert set(saved["methods_by_protocol"]) == {"ours", "kens", "raw"}
    kens, raw = saved["methods_by_protocol"]["kens"], saved["methods_by_protocol"]["raw"]
    assert set(kens) == set(raw) == METHODS
    for method, cells in raw.items():
        for language, metrics in cells.items():
            ranked = kens[method][language]
            assert metrics["hits_at_10"] == ranked["hits_at_10"], (method, language)
            assert metrics["hits_at_1"] <= ranked["hits_at_1"] and metrics["mrr"] <= ranked["mrr"]
    assert saved["methods"] == saved["methods_by_protocol"]["ours"]
    for methods in saved["methods_by_protocol"].values():
        assert set(methods) == METHODS
        for cells in methods.values():
            assert set(cells) == {"en", "ja"}
            for metrics in cells.values():
                assert set(metrics) == {"hits_at_1", "hits_at_10", "mrr"}
                assert 0.0 <= metrics["hits_at_1"] <= metrics["hits_at_10"] <= 1.0
                assert metrics["mrr"] > 0
    sampled = {"en": 3, "ja": 3}  # 3 (eval_limit) of the 4 test lines
    assert saved["test_queries"]["RotatE"] == saved["test_queries"]["Prix-LM (All)"] == sampled
    assert saved["test_queries"]["RotatE (all test queries)"] == {"en": 4, "ja": 4}
    assert "Prix-LM (All, no links): en 3, ja 3; TransE (all test queries)" in render(saved)
    full = saved["methods_by_protocol"]["ours"]["RotatE (all test queries)"]
    assert set(full) == {"en", "ja"}
    assert saved["details"]["RotatE"]["en"]["test_queries"] == 3
    assert saved["published"]["KEnS (TransE)"]["source"] == "KEnS, Table 2, protocol kens"
    assert saved["seed"] == 0 and saved["command"].startswith("python -m prixlm.experiments.dbp5l")
    # the candidates: every entity of the KG's list, Bern too (no fact names it)
    assert {lang: saved["kb"][lang]["entities"] for lang in ("en", "ja")} == {"en": 21, "ja": 21}
    assert saved["methods"] == table["methods"]


def test_paired_differences_agree_with_the_tables(dbp5l_toy_run):
    """All minus Single (and minus All without links) on the same sampled queries: the
    difference is that of the tables' averages; the interval holds it; the docs show it."""
    root, _, _ = dbp5l_toy_run
    saved = json.loads((root / "dbp5l.json").read_text("utf-8"))
    assert set(saved["paired"]) == {"Prix-LM (All) - Prix-LM (Single)",
                                    "Prix-LM (All) - Prix-LM (All, no links)"}  # fmt: skip
    for name, by_protocol in saved["paired"].items():
        first, second = name.split(" - ")
        for protocol, metrics in by_protocol.items():
            methods = saved["methods_by_protocol"][protocol]
            for metric, result in metrics.items():
                average = {m: sum(methods[m][lang][metric] for lang in ("en", "ja")) / 2
                           for m in (first, second)}  # fmt: skip
                assert result["difference"] == pytest.approx(average[first] - average[second])
                assert result["low"] - 1e-12 <= result["difference"] <= result["high"] + 1e-12
    assert "| Prix-LM (All) - Prix-LM (Single) | kens | " in (root / "results.md").read_text()
    # the JSON keeps the ranks it paired: a reader redoes the intervals from the file alone
    from prixlm.experiments import paired

    ranks = saved["paired_ranks"]
    assert set(ranks) == {"Prix-LM (All)", "Prix-LM (Single)", "Prix-LM (All, no links)"}
    again = paired.paired_comparisons(ranks, dbp5l.PAIRS, ["en", "ja"], dbp5l.PROTOCOLS, 0)
    assert again == saved["paired"]
    digests = {ranks[m]["en"]["ours"]["ranks"]["queries_sha256"] for m in ranks}
    assert len(digests) == 1  # one sample of en's test queries for the three


def test_paired_difference_refuses_rankings_of_other_queries():
    """Equal counts were taken as the same queries: two samples were paired by position."""
    from prixlm.experiments.paired import paired_difference

    def cell(ranks, digest):
        return {"en": {"ours": {"ranks": {"filtered": ranks, "raw": ranks,
                                          "queries_sha256": digest}}}}  # fmt: skip

    same = paired_difference(cell([1.0, 3.0], "a"), cell([2.0, 3.0], "a"), ["en"], "ours")
    assert same["hits_at_1"]["difference"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="en: the two methods ranked other queries"):
        paired_difference(cell([1.0, 3.0], "a"), cell([2.0, 3.0], "b"), ["en"], "ours")


def test_docs_block_is_the_rendering_of_the_json(dbp5l_toy_run):
    root, _, _ = dbp5l_toy_run
    table = json.loads((root / "dbp5l.json").read_text("utf-8"))
    text = (root / "results.md").read_text("utf-8")
    assert text.startswith("# Results\n\nkept text\n")
    block = read_block(text)
    assert block == render(table, (root / "dbp5l.json").as_posix())
    assert "| KEnS (TransE) | published | 10.0 | 20.0 | 15.0 |" in block
    assert "- KEnS (TransE) (primary): KEnS, Table 2, protocol kens." in block
    assert "from scratch" in block
    assert "\n- made on a test machine\n" in block
    assert table["notes"] == ["made on a test machine"]
    assert (
        set(table["job_seconds"]) == set(table["jobs_finished"])
        and len(table["jobs_finished"]) == 8
    )


def test_search_chart_is_written_and_linked(dbp5l_toy_run):
    """The PNG of the KGE searches exists and the docs link it by its path from the docs."""
    from prixlm.experiments.dbp5l_chart import search_lines

    root, _, table = dbp5l_toy_run
    assert (root / "search.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert table["chart"] == "search.png"
    assert "![KGE searches: validation MRR against epochs](search.png)" in (
        root / "results.md"
    ).read_text("utf-8")
    grid = table["details"]["RotatE"]["en"]["grid"]
    lines = search_lines(grid)
    assert len(lines) == 2 and [len(v) for _, v in lines] == [2, 2]  # 2 points x 2 epoch points
    assert [p["learning_rate"] for p, _ in lines] == [0.03, 0.003]
    assert lines[0][1] == [(g["epochs"], g["validation_mrr"]) for g in grid[:2]]


def test_records_made_before_a_protocol_was_reported_render_without_it(dbp5l_toy_run, tmp_path):
    """KGE records of a run made before `raw` was reported: `--no_run` (the committed JSON's
    own command) stopped with KeyError 'raw'; the methods without it are left out of that
    protocol's table and pairs, the others shown as before."""
    root, argv, table = dbp5l_toy_run
    jobs = root / "work" / "jobs"
    kept = {path: path.read_text("utf-8") for path in jobs.glob("kge-*.json")}
    try:
        for path, text in kept.items():
            record = json.loads(text)
            for split in ("test", "test_full"):
                for cells in (record.get(split) or {}).values():
                    cells.pop("raw", None)
            path.write_text(json.dumps(record), "utf-8")
        out = ["--results", str(tmp_path / "d.json"), "--docs", str(tmp_path / "d.md")]
        named = {"--results", "--docs"}
        rest = [a for i, a in enumerate(argv) if not ({a, argv[i - 1]} & named)]
        older = dbp5l.main([*rest, *out, "--no_run"])
    finally:
        for path, text in kept.items():
            path.write_text(text, "utf-8")
    assert older["methods_by_protocol"]["ours"] == table["methods_by_protocol"]["ours"]
    assert set(older["methods_by_protocol"]["raw"]) == {
        "Prix-LM (Single)", "Prix-LM (All)", "Prix-LM (All, no links)"}  # fmt: skip
    assert set(older["paired"]["Prix-LM (All) - Prix-LM (Single)"]) == {"ours", "kens", "raw"}
    assert "| TransE | raw |" not in (tmp_path / "d.md").read_text("utf-8")


def test_no_run_writes_outputs_from_finished_jobs_only(dbp5l_toy_run, tmp_path):
    root, argv, table = dbp5l_toy_run
    jobs = root / "work" / "jobs"
    partial = tmp_path / "work"
    (partial / "jobs").mkdir(parents=True)
    for name in ("kge-TransE-en", "single-en"):
        (partial / "jobs" / f"{name}.json").write_text((jobs / f"{name}.json").read_text("utf-8"))
    for folder in ("data", "tokenizer"):
        (partial / folder).symlink_to(root / "work" / folder)
    flags = {"--work_dir": str(partial), "--results": str(tmp_path / "d.json"),
             "--docs": str(tmp_path / "r.md")}  # fmt: skip
    changed = [flags.get(prev, a) for prev, a in zip([None, *argv[:-1]], argv, strict=True)]
    saved = dbp5l.main([*changed, "--no_run"])
    assert saved["jobs_finished"] == ["kge-TransE-en", "single-en"]
    assert set(saved["methods"]) == {"TransE", "TransE (all test queries)", "Prix-LM (Single)"}
    assert saved["methods"]["TransE"]["en"] == table["methods"]["TransE"]["en"]
    assert not (partial / "runs").exists()  # nothing was trained
    assert "Not measured in this run: RotatE, Prix-LM (All)" in (tmp_path / "r.md").read_text()


def test_committed_docs_are_the_rendering_of_the_committed_json():
    results = ROOT / "results" / "dbp5l.json"
    if not results.is_file():
        pytest.skip("results/dbp5l.json is not committed yet")
    table = json.loads(results.read_text("utf-8"))
    block = read_block((ROOT / "docs" / "results.md").read_text("utf-8"))
    assert block == render(table, "results/dbp5l.json")
