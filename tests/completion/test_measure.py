"""prixlm.completion.measure: precision, recall and the curve on hand-made proposals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prixlm.completion.knowledge import CompletionQuery, Evidence
from prixlm.completion.measure import (
    Scored,
    link_projection,
    main,
    pr_curve,
    precision_recall,
)
from prixlm.completion.results_docs import END, START, markdown_table, results_block

TRUTH = {("s1", "r"): {"a"}, ("s2", "r"): {"b", "c"}, ("s3", "r"): {"d"}}  # 4 hidden facts
SCORED = [
    Scored("s1", "r", "a", 0.9),  # correct
    Scored("s2", "r", "x", 0.6),  # wrong
    Scored("s2", "r", "b", 0.6),  # correct, tied with the wrong one
    Scored("s9", "r", "z", 0.8),  # a pair without hidden facts: not judged
    Scored("s3", "r", "y", 0.1),  # wrong
]


def test_precision_and_recall_at_thresholds():
    assert precision_recall(SCORED, TRUTH, 0.7) == {
        "threshold": 0.7,
        "proposals": 2,
        "judged": 1,
        "correct": 1,
        "precision": 1.0,
        "recall": 0.25,
    }
    at_half = precision_recall(SCORED, TRUTH, 0.5)
    assert (at_half["judged"], at_half["correct"]) == (3, 2)
    assert at_half["precision"] == pytest.approx(2 / 3) and at_half["recall"] == 0.5
    assert precision_recall(SCORED, TRUTH, 0.0)["precision"] == pytest.approx(2 / 4)
    assert precision_recall(SCORED, TRUTH, 0.95)["precision"] is None


def test_curve_has_one_point_per_distinct_score_of_judged_proposals():
    assert pr_curve(SCORED, TRUTH) == [
        (0.9, 1.0, 0.25),
        (0.6, pytest.approx(2 / 3), 0.5),
        (0.1, 0.5, 0.5),
    ]


def test_link_projection_scores_by_the_share_of_agreeing_languages():
    query = CompletionQuery("s", "S", "r", "R")
    query.evidence += [
        Evidence("de", "de:a", "A", "t:a"),
        Evidence("en", "en:a", "a", "t:a"),
        Evidence("en", "en:b", "b", "t:b"),
        Evidence("fr", "fr:c", "c", None),  # no link to the target: proposes nothing
    ]
    assert link_projection([query]) == [
        Scored("s", "r", "t:a", pytest.approx(2 / 3)),
        Scored("s", "r", "t:b", pytest.approx(1 / 3)),
    ]


def test_command_on_the_tiny_kb_finds_the_held_out_fact(completion_kb, tmp_path):
    dataset, model = completion_kb
    output = tmp_path / "completion.json"
    report = main(
        [
            "--model", str(model), "--dataset", str(dataset), "--target_language", "de",
            "--num_beams", "5", "--max_per_pair", "2", "--output", str(output),
            "--plot", str(tmp_path / "pr.png"), "--note", "seed=0",
        ]
    )  # fmt: skip
    assert json.loads(output.read_text(encoding="utf-8")) == json.loads(json.dumps(report))
    assert report["hidden_facts"] == report["hidden_facts_with_evidence"] == 1
    assert report["hidden_facts_in_evidence_train_split"] == {"en": 1}
    assert (report["queries"]["queries"], report["queries"]["candidates"]) == (1, 11)
    assert report["notes"] == {"seed": "0"} and report["command"].endswith("--note seed=0")
    assert report["device"] == "CPU" and report["queries"]["ambiguous_objects"] == 0
    at_zero = report["methods"]["model"][report["thresholds"].index(0.0)]
    assert (at_zero["proposals"], at_zero["judged"], at_zero["correct"]) == (2, 2, 1)
    assert at_zero["recall"] == 1.0
    projection = report["methods"]["link_projection"][0]
    assert (projection["proposals"], projection["correct"], projection["precision"]) == (1, 1, 1.0)
    best = report["curves"]["model"][0]
    assert list(best[1:]) == [1.0, 1.0]  # the top proposal is the held-out fact
    assert (tmp_path / "pr.png").read_bytes()[:4] == b"\x89PNG"
    assert "| 0.9 |" in markdown_table(report)


def test_a_plot_that_fails_leaves_the_earlier_json_and_plot(completion_kb, tmp_path, capsys):
    """The JSON was replaced before the plot was written: a full disk (or a Ctrl-C) on the
    plot left the new report beside the earlier run's precision-recall plot."""
    from full_disk import full_disk

    dataset, model = completion_kb
    output, plot = tmp_path / "completion.json", tmp_path / "pr.png"
    argv = ["--model", str(model), "--dataset", str(dataset), "--target_language", "de",
            "--num_beams", "5", "--output", str(output), "--plot", str(plot)]  # fmt: skip
    main([*argv, "--note", "run=1"])
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    assert sorted(before) == ["completion.json", "pr.png"]
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as patch:
        full_disk(patch, r"/\.pr\.png\.[^/]*\.partial$")
        with pytest.raises(SystemExit) as exit_info:
            main([*argv, "--note", "run=2", "--max_per_pair", "1"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(f"error: --plot {plot}: ")
    after = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    assert after == before  # the run=1 report and its plot; no staging file left
    assert json.loads(output.read_text(encoding="utf-8"))["notes"] == {"run": "1"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--target_language", "fr"], "error: --target_language 'fr': not a language of"),
        (
            ["--hidden_split", "dev"],
            "error: --hidden_split 'dev': not a split of the target config",
        ),
        (["--output", "{file}/m.json"], "is a file, not a folder"),
    ],
)
def test_bad_input_is_a_one_line_error_before_any_decoding(
    completion_kb, tmp_path, capsys, monkeypatch, change, message
):
    """Its own input errors ended in tracebacks (exit 1); now as the other commands."""
    import prixlm.model_loading

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded despite bad input")

    monkeypatch.setattr(prixlm.model_loading, "load_prixlm", no_model)
    dataset, model = completion_kb
    (tmp_path / "file").write_text("x", encoding="utf-8")
    argv = ["--model", str(model), "--dataset", str(dataset), "--target_language", "de",
            "--output", str(tmp_path / "m.json")]  # fmt: skip
    argv += [part.format(file=tmp_path / "file") for part in change]
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error
    assert not (tmp_path / "m.json").exists()


def test_docs_block_is_rendered_from_the_committed_json():
    root = Path(__file__).resolve().parents[2]
    report = json.loads((root / "results" / "completion.json").read_text(encoding="utf-8"))
    docs = (root / "docs" / "results.md").read_text(encoding="utf-8")
    assert docs.count(START) == docs.count(END) == 1
    assert docs[docs.index(START) : docs.index(END) + len(END)] == results_block(report)


def test_docs_block_renders_a_threshold_without_judged_proposals():
    """An uncalibrated model proposes nothing at >= 0.5: the block rendered `100 * None` and
    the command ended in a traceback after its work."""
    root = Path(__file__).resolve().parents[2]
    report = json.loads((root / "results" / "completion.json").read_text(encoding="utf-8"))
    half = report["methods"]["model"][report["thresholds"].index(0.5)]
    half.update(proposals=0, judged=0, correct=0, precision=None)
    assert "proposes 0 facts at\n– precision" in results_block(report)


def test_a_hidden_split_that_is_the_targets_only_split_is_refused(completion_kb, tmp_path, capsys):
    """`target_splits=[]` (the target holds nothing but the hidden split) read as "every
    split", then as an empty target: 0 queries, recall 0, exit 0."""
    from completion_kb import dataset_rows, write_dataset

    from prixlm.completion.loading import CompletionInputError, load_completion_kb

    _, model = completion_kb
    configs = dataset_rows()
    configs["de"] = {"test": configs["de"]["test"]}
    dataset = write_dataset(tmp_path / "dataset", configs)
    with pytest.raises(CompletionInputError, match=r"^--target_splits: config 'de' holds no triples in the splits read \(none\)"):  # fmt: skip
        load_completion_kb(str(dataset), "de", target_splits=[])
    assert len(load_completion_kb(str(dataset), "de").target_rows["test"]) == 1
    output = tmp_path / "m.json"
    argv = ["--model", str(model), "--dataset", str(dataset), "--target_language", "de",
            "--num_beams", "5", "--output", str(output)]  # fmt: skip
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line.lower()]
    assert errors == [
        "error: --hidden_split 'test': the other splits of config 'de' (none) hold no triples; "
        "the target must keep facts to name its relations, so nothing could be measured"
    ]
    assert not output.exists()


def _committed_report() -> dict:
    root = Path(__file__).resolve().parents[2]
    return json.loads((root / "results" / "completion.json").read_text(encoding="utf-8"))


def test_docs_block_counts_pairs_whose_relation_the_target_never_uses():
    """The sentence left them out: its parts did not add up to the evidence pairs."""
    report = _committed_report()
    q = report["queries"]
    q["evidence_pairs"] += 7
    q["relation_unknown_in_target"] = 7
    block = results_block(report)
    assert (
        f"Of {q['evidence_pairs']} evidence pairs, {q['held_by_target']} are already held by\n"
        f"et, {q['subject_not_linked']} have no et subject and 7 name a relation et never uses; "
        f"the other {q['evidence_pairs'] - q['held_by_target'] - q['subject_not_linked'] - 7} "
        f"are {q['queries']} distinct"
    ) in block


def test_docs_block_names_the_device_the_json_records():
    report = _committed_report()
    report.pop("device", None)  # a JSON written before `device` was recorded: the CPU
    assert f"{report['seconds']} s on CPU)" in results_block(report)
    report["device"] = "GPU (NVIDIA H100 80GB HBM3)"
    block = results_block(report)
    assert (
        f"{report['seconds']} s on GPU (NVIDIA H100 80GB HBM3))" in block and "on CPU" not in block
    )
