"""`evaluate_lp` options the report or the forwards must honour: the candidates ranked are
recorded in the report (a run over a few given labels is never taken for the ordinary one),
and beam mode keeps `--batch_size x --num_beams` rows per forward within `--max_rows`."""

from __future__ import annotations

import hashlib
import json

import pytest
from test_evaluate_lp import save_model_and_dataset, tiny_rows

from prixlm.link_prediction.evaluate_lp import main
from prixlm.link_prediction.evaluation import evaluate_link_prediction

#: Five labels of the `en` config: every gold object of its test rows, and one more.
FIVE_LABELS = ["日本円", "euro", "French", "Italian", "Japanese"]


@pytest.fixture(scope="module")
def saved(tiny_prixlm, tmp_path_factory):
    """A saved tiny model folder and a dataset folder (`en`: train and test splits)."""
    return save_model_and_dataset(tiny_prixlm, tmp_path_factory.mktemp("options"))[0]


def _common(root) -> list[str]:
    return ["--model", str(root / "model"), "--dataset", str(root / "data"), "--languages", "en",
            "--num_beams", "5"]  # fmt: skip


def test_the_report_records_the_candidates_ranked(saved, tmp_path, monkeypatch, capsys):
    """With and without `--candidates` the reports had the same keys (only `results`
    differed): the card merged a five-label run into the ordinary test result."""
    path = tmp_path / "five.json"
    path.write_text(json.dumps({"en": FIVE_LABELS}), encoding="utf-8")
    default = main([*_common(saved), "--output", str(tmp_path / "default.json")])
    monkeypatch.chdir(tmp_path)  # a relative --candidates is recorded by its absolute path
    given = main([*_common(saved), "--candidates", "five.json"])
    capsys.readouterr()
    assert default["candidates"] is None and default["candidates_sha256"] is None
    written = json.loads((tmp_path / "default.json").read_text(encoding="utf-8"))
    assert written["candidates"] is None and "candidates_sha256" in written
    assert given["candidates"] == str(path.resolve())
    assert given["candidates_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert given["results"]["en"]["num_candidates"] == len(FIVE_LABELS)
    assert set(default) == set(given)  # the same fields, told apart by their values

    layout = tmp_path / "layout"  # a KG folder: the digest of its entity lists
    (layout / "entity").mkdir(parents=True)
    entities = layout / "entity" / "en.tsv"
    iris = [f"http://en.dbpedia.org/resource/{label}" for label in FIVE_LABELS]
    entities.write_text("\n".join(iris) + "\n", encoding="utf-8")
    first = main([*_common(saved), "--candidates", str(layout)])
    entities.write_text("\n".join([*iris, "http://en.dbpedia.org/resource/Atlantis"]) + "\n")
    second = main([*_common(saved), "--candidates", str(layout)])
    capsys.readouterr()
    assert first["candidates"] == second["candidates"] == str(layout.resolve())
    assert len(first["candidates_sha256"]) == 64
    assert first["candidates_sha256"] != second["candidates_sha256"]


def test_beam_batch_size_over_max_rows_is_a_usage_error(capsys):
    """`--batch_size 6 --num_beams 5` makes forwards of 30 rows: `--max_rows 10` was
    ignored where `--batch_size` was given too (full mode refused the like already)."""
    argv = ["--model", "nowhere", "--dataset", "nowhere", "--languages", "en", "--limit", "6",
            "--num_beams", "5", "--max_rows", "10", "--batch_size", "6"]  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.splitlines()[-1].endswith(  # as full mode's, before anything loads
        "error: --batch_size 6 x --num_beams 5 = 30 rows per forward exceeds --max_rows 10 "
        "in beam mode"
    )


def test_beam_batch_size_within_max_rows_runs_within_it(saved, monkeypatch, capsys):
    """`--max_rows 30 --batch_size 6 --num_beams 5`: every forward holds at most 30 rows."""
    import prixlm.link_prediction.evaluation as evaluation

    calls = []
    original = evaluation.predict_objects

    def spy(model, tokenizer, batch, trie, num_beams, batch_size, *args, **kwargs):
        calls.append((len(batch), num_beams, batch_size))
        return original(model, tokenizer, batch, trie, num_beams, batch_size, *args, **kwargs)

    monkeypatch.setattr(evaluation, "predict_objects", spy)
    argv = [*_common(saved), "--limit", "6", "--max_rows", "30", "--batch_size", "6"]
    report = main(argv)
    capsys.readouterr()
    assert report["results"]["en"]["num_queries"] == 4  # the test split's rows
    assert calls and all(size * beams <= 30 for _, beams, size in calls)


def test_the_library_refuses_beam_forwards_over_max_rows(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    rows = tiny_rows()[:6]
    labels = sorted({r["subject"] for r in tiny_rows()} | {r["object"] for r in tiny_rows()})
    with pytest.raises(ValueError, match=r"batch_size \(6\) x num_beams \(5\) <= max_rows \(10\)"):
        evaluate_link_prediction(
            model, tokenizer, rows, labels, "beam", num_beams=5, batch_size=6, max_rows=10
        )
    within = evaluate_link_prediction(
        model, tokenizer, rows, labels, "beam", num_beams=5, batch_size=6, max_rows=30
    )
    assert within["num_queries"] == 6
