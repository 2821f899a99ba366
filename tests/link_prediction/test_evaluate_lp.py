"""prixlm.link_prediction.evaluate_lp: the command end to end on a saved tiny model and a Parquet dataset."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
from tiny_models import TINY_FACTS, make_tiny_model

from prixlm.link_prediction.evaluate_lp import main
from prixlm.link_prediction.evaluation import candidate_labels, evaluate_link_prediction
from prixlm.link_prediction.ranking import filtered_rank

# two more true objects for one query: the filtered setting has something to filter
FACTS = TINY_FACTS + [
    ("Switzerland", "official language", "French"),
    ("Switzerland", "official language", "Italian"),
]
COLUMNS = ["kind", "subject", "relation", "object", "subject_language", "object_language"]


def tiny_rows(language: str = "en") -> list[dict]:
    objects = defaultdict(set)
    for subject, relation, obj in FACTS:
        objects[subject, relation].add(obj)
    return [
        {
            "kind": "triple",
            "subject": subject,
            "relation": relation,
            "object": obj,
            "subject_language": language,
            "object_language": language,
            "subject_id": "",
            "relation_id": "",
            "object_id": "",
            "all_objects": sorted(objects[subject, relation]),
        }
        for subject, relation, obj in FACTS
    ]


@pytest.fixture(scope="module")
def saved(tiny_prixlm, tmp_path_factory):
    """A saved model folder and a dataset folder (Parquet + card with `configs:`)."""
    return save_model_and_dataset(tiny_prixlm, tmp_path_factory.mktemp("evaluate_lp"))


def save_model_and_dataset(tiny_prixlm, root):
    """`(root, rows)`: the tiny model in `root/model`, `tiny_rows()` as the `en` config of
    `root/data` (the first 10 train, the others test)."""
    from datasets import Dataset

    model, tokenizer = tiny_prixlm
    model.save_pretrained(root / "model")
    tokenizer.save_pretrained(root / "model")
    rows = tiny_rows()
    (root / "data" / "en").mkdir(parents=True)
    Dataset.from_list(rows[:10]).to_parquet(root / "data" / "en" / "train.parquet")
    Dataset.from_list(rows[10:]).to_parquet(root / "data" / "en" / "test.parquet")
    (root / "data" / "README.md").write_text(
        "---\nconfigs:\n- config_name: en\n  data_files:\n"
        "  - split: train\n    path: en/train.parquet\n"
        "  - split: test\n    path: en/test.parquet\n---\n",
        encoding="utf-8",
    )
    return root, rows


def test_candidates_are_every_label_of_the_language_over_all_splits(saved):
    _, rows = saved
    splits = {"train": _columns(rows[:10]), "test": _columns(rows[10:])}
    expected = sorted({r["subject"] for r in rows} | {r["object"] for r in rows})
    assert candidate_labels(splits, "en") == expected
    assert candidate_labels(splits, "de") == []


def _columns(rows):
    return {name: [row[name] for row in rows] for name in COLUMNS}


def test_command_prints_a_table_and_writes_json(saved, capsys):
    root, rows = saved
    output = root / "results.json"
    report = main(
        [
            "--model", str(root / "model"),
            "--dataset", str(root / "data"),
            "--languages", "en",
            "--split", "test",
            "--num_beams", "5",
            "--output", str(output),
        ]
    )  # fmt: skip
    table = capsys.readouterr().out
    assert "| language | queries | candidates | hits@1 | hits@3 | hits@10 | MRR@5 |" in table
    assert "| en | 4 |" in table
    written = json.loads(output.read_text(encoding="utf-8"))
    assert written == json.loads(json.dumps(report))
    metrics = written["results"]["en"]
    assert set(metrics) == {  # no hits@10 from 5 beams
        "hits_at_1",
        "hits_at_3",
        "mrr_at_5",
        "num_queries",
        "num_missing",
        "num_candidates",
        "merged_candidates",
    }
    assert metrics["num_queries"] == 4 and written["mode"] == "beam"


def test_full_mode_takes_a_batch_above_the_default_rows_without_max_rows(saved, capsys):
    """--batch_size alone above the CPU's default rows per forward (256): the rows follow
    the batch (it was refused, naming a --max_rows nobody gave), same figures as batch 2."""
    root, _ = saved
    common = ["--model", str(root / "model"), "--dataset", str(root / "data"),
              "--languages", "en", "--split", "test", "--mode", "full"]  # fmt: skip
    large = main([*common, "--batch_size", "300"])
    small = main([*common, "--batch_size", "2"])
    capsys.readouterr()
    assert large["results"]["en"]["num_queries"] == 4
    assert large["results"] == small["results"]


def test_beam_with_a_wide_beam_equals_the_full_ranking(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    rows = tiny_rows()
    labels = sorted({r["subject"] for r in rows} | {r["object"] for r in rows})
    wide = len(labels) * 20  # keeps every partial sequence: every candidate completes
    beam = evaluate_link_prediction(model, tokenizer, rows, labels, "beam", num_beams=wide)
    full = evaluate_link_prediction(model, tokenizer, rows, labels, "full")
    assert beam["num_missing"] == 0
    for key in ("hits_at_1", "hits_at_3", "hits_at_10"):
        assert beam[key] == pytest.approx(full[key])
    assert beam[f"mrr_at_{wide}"] == pytest.approx(full["mrr"])


def test_filtering_uses_all_objects(tiny_prixlm):
    """A narrow beam, by hand: the rank is that of `filtered_rank` on the completions."""
    from modeling_prixlm.beam_search import predict_objects

    model, tokenizer = tiny_prixlm
    rows = [r for r in tiny_rows() if len(r["all_objects"]) == 3][-1:]
    labels = sorted({r["subject"] for r in tiny_rows()} | {r["object"] for r in tiny_rows()})
    metrics = evaluate_link_prediction(model, tokenizer, rows, labels, "beam", num_beams=50)
    (result,) = predict_objects(model, tokenizer, rows, labels, num_beams=50)
    rank = filtered_rank(result.labels, rows[0]["object"], result.scores, rows[0]["all_objects"])
    assert metrics["mrr_at_50"] == pytest.approx(1 / rank)


def test_bad_inputs(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    rows = tiny_rows()
    with pytest.raises(ValueError, match="not a candidate"):
        evaluate_link_prediction(model, tokenizer, rows, ["euro"], "beam")
    with pytest.raises(ValueError, match="mode="):
        evaluate_link_prediction(model, tokenizer, rows, ["euro"], "greedy")
    with pytest.raises(ValueError, match="no rows"):
        evaluate_link_prediction(model, tokenizer, [], ["euro"], "beam")


def test_help_describes_every_option_with_its_default(capsys):
    """Issue 9 #10: every option has a help line; optional ones show their default."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # undo argparse's line wrapping
    options = [
        ("--split SPLIT split to evaluate", "(default: test)"),
        ("--mode {beam,full} beam: Algorithm 1", "(default: beam)"),
        (
            "--num_beams NUM_BEAMS K, partial sequences kept per query, beam mode only",
            "(default: 50)",
        ),
        (
            "--batch_size BATCH_SIZE queries per forward",
            "(default: --max_rows // --num_beams in beam mode, 4 in full mode on the CPU, more on a GPU)",
        ),
        (
            "--max_rows MAX_ROWS rows (sequences) per forward",
            "(default: 1024 in beam mode, 256 in full mode on the CPU, more on a GPU)",
        ),
        ("--limit LIMIT evaluate the first N rows", "(default: every row)"),
        ("--protocol PROTOCOL comma-separated ranking protocols", "(default: ours)"),
        (
            "--candidates CANDIDATES the candidates to rank",
            "(default: every label of the language in the dataset's triples or links, for "
            "triples and link rows alike)",
        ),
        ("--no_progress no progress bars", "(default: False)"),
        ("--allow_training_facts rank the split even", "(default: False)"),
        (
            "--device DEVICE torch device: cpu, cuda",
            "(default: cuda if a GPU is visible, else cpu)",
        ),
        (
            "--dtype {auto,float32,bfloat16,float16} precision of the model's weights",
            "(default: auto)",
        ),
        ("--output OUTPUT JSON file for the results", "(default: none, the table is printed)"),
    ]
    starts = [text.index(option) for option, _ in options] + [len(text)]
    assert starts == sorted(starts)  # the help's order: each slice is one option
    for (option, default), start, end in zip(options, starts, starts[1:], strict=False):
        assert text[start:end].rstrip().endswith(default), option
    from prixlm.model_loading import MODEL_CODE_HELP

    assert f"--model MODEL model folder (or Hub id); {MODEL_CODE_HELP} (required) --dataset" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--num_beams", "0"], "argument --num_beams: must be >= 1, got 0"),
        (["--max_rows", "-3"], "argument --max_rows: must be >= 1, got -3"),
        (
            ["--mode", "full", "--batch_size", "300", "--max_rows", "200"],
            "--batch_size 300 exceeds --max_rows 200 in full mode",
        ),
    ],
)
def test_bad_options_are_rejected_before_loading(argv, message, capsys):
    with pytest.raises(SystemExit):
        main(["--model", "nowhere", "--dataset", "nowhere", "--languages", "en", *argv])
    assert message in capsys.readouterr().err


def test_num_beams_in_full_mode_is_warned_of_as_unused(saved, capsys):
    """Full mode scores every candidate: a K given with it changes nothing, and says so."""
    root, _ = saved
    args = ["--model", str(root / "model"), "--dataset", str(root / "data"),
            "--languages", "en", "--limit", "2", "--no_progress", "--mode", "full"]  # fmt: skip
    report = main([*args, "--num_beams", "3"])
    assert report["num_beams"] is None and report["mode"] == "full"
    assert "warning: --num_beams 3 is not used: full mode scores every candidate" in (
        capsys.readouterr().err
    )
    main(args)
    assert "--num_beams" not in capsys.readouterr().err


def test_output_below_a_file_fails_before_the_evaluation(saved, tmp_path, capsys):
    root, _ = saved
    (tmp_path / "file").write_text("x")
    with pytest.raises(SystemExit) as exit_info:
        main(
            ["--model", "nowhere", "--dataset", "nowhere", "--languages", "en",
             "--output", str(tmp_path / "file" / "results.json")]
        )  # fmt: skip
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("error: --output ") and "is a file, not a folder" in error
    assert error.count("\n") == 1  # one line, no traceback


def test_evaluation_of_a_model_in_train_mode_is_deterministic(tiny_tokenizer):
    """Issue 9 #7: dropout is off while evaluating, and train mode is back afterwards."""

    model = make_tiny_model(tiny_tokenizer, seed=4, dropout=0.5).train()
    rows = tiny_rows()
    labels = sorted({r["subject"] for r in rows} | {r["object"] for r in rows})
    for mode in ("beam", "full"):
        first = evaluate_link_prediction(model, tiny_tokenizer, rows, labels, mode, num_beams=3)
        second = evaluate_link_prediction(model, tiny_tokenizer, rows, labels, mode, num_beams=3)
        assert model.training and all(module.training for module in model.modules())
        model.eval()
        expected = evaluate_link_prediction(model, tiny_tokenizer, rows, labels, mode, num_beams=3)
        model.train()
        assert first == second == expected


def test_command_reports_several_protocols_over_given_candidates(saved, tiny_prixlm, capsys):
    """`--protocol ours,kens` ranks once per query for both protocols; `--candidates` adds an
    entity no row names (the DBP-5L papers rank every entity of the KG's entity list)."""
    from prixlm.link_prediction.evaluation import evaluate_protocols

    root, rows = saved
    labels = [*candidate_labels({"all": rows}, "en"), "Atlantis"]
    layout = root / "layout"  # a KG folder in the KEnS layout: its entity list is read
    (layout / "entity").mkdir(parents=True)
    iris = [f"http://en.dbpedia.org/resource/{label.replace(' ', '_')}" for label in labels]
    (layout / "entity" / "en.tsv").write_text("\n".join(iris) + "\n", encoding="utf-8")
    report = main(
        ["--model", str(root / "model"), "--dataset", str(root / "data"), "--languages", "en",
         "--mode", "full", "--protocol", "ours,kens", "--candidates", str(layout)]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert "protocol: ours" in out and "protocol: kens" in out
    assert report["protocol"] == "ours"
    assert report["results"] == report["results_by_protocol"]["ours"]
    model, tokenizer = tiny_prixlm
    expected = evaluate_protocols(
        model, tokenizer, rows[10:], labels, "full", protocols=("ours", "kens"),
        train_rows=rows[:10],
    )  # fmt: skip
    for protocol in ("ours", "kens"):
        got = report["results_by_protocol"][protocol]["en"]
        assert got == pytest.approx(expected[protocol])
        assert got["num_candidates"] == len(labels) and got["num_queries"] == 4
    # kens filters the train split only: French's rank can only grow (Italian is a test object)
    assert expected["kens"]["mrr"] <= expected["ours"]["mrr"]


def test_bad_candidates_file_and_beam_protocol_are_one_line_errors(saved, tmp_path, capsys):
    root, _ = saved
    bad = tmp_path / "bad.json"
    bad.write_text('{"en": ["a",\n 3]}', encoding="utf-8")
    common = ["--model", str(root / "model"), "--dataset", str(root / "data"), "--languages", "en"]
    with pytest.raises(SystemExit) as exit_info:
        main([*common, "--mode", "full", "--candidates", str(bad)])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == f"error: --candidates {bad}: 'en' is not a list of strings\n"
    bad.write_text('{"en": [\n', encoding="utf-8")
    with pytest.raises(SystemExit):
        main([*common, "--mode", "full", "--candidates", str(bad)])
    assert f"error: --candidates {bad}:2: not JSON" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*common, "--protocol", "kens"])
    assert "--protocol kens needs --mode full" in capsys.readouterr().err
    # a list for another language only: refused, not replaced by the dataset's labels
    bad.write_text('{"EN": ["Euro"], "de": ["Euro"]}', encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main([*common, "--mode", "full", "--candidates", str(bad)])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == (
        f"error: --candidates {bad}: no candidates for 'en' (it lists 'EN', 'de')\n"
    )


def test_index_ties_follow_the_candidates_order(tiny_tokenizer):
    """A uniform model ties every one-token candidate: the `raw` and `kens` protocols' `index`
    rule ranks the earlier candidate first. The full ranking passed the trie's token order."""
    import torch

    model = make_tiny_model(tiny_tokenizer, dropout=0.0)
    with torch.no_grad():
        model.lm_head.decoder.weight.zero_()
        model.lm_head.decoder.bias.zero_()
    candidates = ["German", "Japan"]
    ids = [tiny_tokenizer(c, add_special_tokens=False)["input_ids"] for c in candidates]
    assert all(len(i) == 1 for i in ids) and ids[0] > ids[1]  # token order is the reverse
    row = {**tiny_rows()[0], "subject": "Germany", "object": "Japan", "all_objects": ["Japan"]}
    for order, expected in ((candidates, 0.5), (candidates[::-1], 1.0)):
        for protocol, train in (("raw", None), ("kens", [row])):
            got = evaluate_link_prediction(
                model, tiny_tokenizer, [row], order, "full", protocol=protocol, train_rows=train
            )
            assert got["mrr"] == expected, (order, protocol)
