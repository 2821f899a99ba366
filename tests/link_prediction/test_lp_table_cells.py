"""`evaluate_lp`'s printed table and `--limit`: every cell of a row is its metric, read by
the column's header, and `--limit N` evaluates the first N queries, no fewer."""

from __future__ import annotations

import json

import pytest
from test_evaluate_lp import save_model_and_dataset, tiny_rows

from prixlm.link_prediction.evaluate_lp import main
from prixlm.link_prediction.evaluation import (
    candidate_labels,
    evaluate_link_prediction,
    markdown_table,
)

HEADER_KEYS = {"hits@1": "hits_at_1", "hits@3": "hits_at_3", "hits@10": "hits_at_10"}


@pytest.fixture(scope="module")
def saved(tiny_prixlm, tmp_path_factory):
    """A saved tiny model folder and a dataset folder (`en`: 10 train rows, 4 test rows)."""
    return save_model_and_dataset(tiny_prixlm, tmp_path_factory.mktemp("table_cells"))[0]


def table_rows(text: str) -> dict[str, dict[str, str]]:
    """`{language: {header: cell}}` of a Markdown table printed by `markdown_table`."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    headers = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert set(lines[1].strip("|").split("|")) <= {"---", "---:"}
    rows = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert len(cells) == len(headers), line
        rows[cells[0]] = dict(zip(headers[1:], cells[1:], strict=True))
    return rows


def expected_cells(metrics, mrr_key: str, mrr_header: str) -> dict[str, str]:
    return {
        "queries": str(metrics["num_queries"]),
        "candidates": str(metrics["num_candidates"]),
        **{
            header: f"{100 * metrics[key]:.1f}" if key in metrics else "–"
            for header, key in HEADER_KEYS.items()
        },
        mrr_header: f"{100 * metrics[mrr_key]:.1f}",
    }


@pytest.mark.parametrize(
    ("mode", "mrr", "header"), [("beam", "mrr_at_10", "MRR@10"), ("full", "mrr", "MRR")]
)
def test_every_cell_is_the_metric_its_header_names(mode, mrr, header):
    results = {
        "en": {"hits_at_1": 0.1, "hits_at_3": 0.3, "hits_at_10": 0.5, mrr: 0.7,
               "num_queries": 11, "num_candidates": 13},
        "de": {"hits_at_1": 0.02, "hits_at_3": 0.04, "hits_at_10": 0.08, mrr: 0.125,
               "num_queries": 7, "num_candidates": 9},
    }  # fmt: skip
    text = markdown_table(results, mode, num_beams=10)
    assert text.splitlines()[-2:] == ["", "hits@k and MRR in %"]  # 0.7 shows as 70.0
    assert text.splitlines()[0] == (
        f"| language | queries | candidates | hits@1 | hits@3 | hits@10 | {header} |"
    )
    assert table_rows(text) == {
        "en": {"queries": "11", "candidates": "13", "hits@1": "10.0", "hits@3": "30.0",
               "hits@10": "50.0", header: "70.0"},
        "de": {"queries": "7", "candidates": "9", "hits@1": "2.0", "hits@3": "4.0",
               "hits@10": "8.0", header: "12.5"},
    }  # fmt: skip
    assert list(table_rows(text)) == ["en", "de"]  # the results' order


def test_the_printed_row_is_the_written_json(saved, tmp_path, capsys):
    output = tmp_path / "results.json"
    main(
        ["--model", str(saved / "model"), "--dataset", str(saved / "data"),
         "--languages", "en", "--num_beams", "5", "--output", str(output)]
    )  # fmt: skip
    printed = table_rows(capsys.readouterr().out)
    metrics = json.loads(output.read_text(encoding="utf-8"))["results"]["en"]
    values = [metrics[key] for key in ("hits_at_1", "hits_at_3", "mrr_at_5")]
    assert len(set(values)) == 3  # distinct: a swap of two columns shows
    assert "hits_at_10" not in metrics  # 5 beams: no hits@10, `–` in its column
    assert printed == {"en": expected_cells(metrics, "mrr_at_5", "MRR@5")}


def test_limit_evaluates_the_first_n_queries(saved, tiny_prixlm, tmp_path, capsys):
    output = tmp_path / "limited.json"
    report = main(
        ["--model", str(saved / "model"), "--dataset", str(saved / "data"),
         "--languages", "en", "--num_beams", "5", "--limit", "2", "--output", str(output)]
    )  # fmt: skip
    printed = table_rows(capsys.readouterr().out)
    written = json.loads(output.read_text(encoding="utf-8"))
    assert written["limit"] == report["limit"] == 2
    metrics = written["results"]["en"]
    assert metrics["num_queries"] == 2
    assert printed["en"]["queries"] == "2"
    model, tokenizer = tiny_prixlm
    rows = tiny_rows()
    splits = {"train": rows[:10], "test": rows[10:]}
    labels = candidate_labels(
        {
            split: {name: [r[name] for r in part] for name in part[0]}
            for split, part in splits.items()
        },
        "en",
    )
    first_two = evaluate_link_prediction(model, tokenizer, rows[10:12], labels, "beam", num_beams=5)
    assert metrics == pytest.approx(first_two)
