"""prixlm.complete: a default evidence language with links only is skipped (it stopped the run
with exit 2), an evidence label holding the cell's separator reads back as one object (a
label `euro; de=Euro` read as a German object agreeing), and more proposals per pair than
beams are refused (past rank K the search's objects are not the model's next best)."""

from __future__ import annotations

from pathlib import Path

import pytest
from completion_kb import EXPECTED, dataset_rows, iri, link_row, run_complete, write_dataset

from prixlm.completion import measure
from prixlm.completion.knowledge import CompletionQuery, Evidence
from prixlm.completion.output import (
    TSV_COLUMNS,
    escape_cell,
    evidence_items,
    evidence_text,
    unescape_cell,
)
from prixlm.completion.propose import Proposal
from prixlm.data.ntriples import read_triples


def _run_train(dataset: Path, model: Path, output: Path, *extra: str) -> int:
    return run_complete(dataset, model, output, "--target_splits", "train", *extra)


def _with_links_only_language(configs: dict) -> dict:
    """The KB with `fr`, a language whose config holds one link row and no triples."""
    row = link_row("Germany", "en", "de")
    row.update(
        subject="Allemagne",
        subject_language="fr",
        subject_id="http://fr.dbpedia.org/resource/Allemagne",
    )
    configs["fr"] = {"train": [row]}
    configs["links"]["train"].append(row)
    return configs


def test_a_default_evidence_language_with_links_only_is_skipped_and_named(
    completion_kb, tmp_path, capsys
):
    _, model = completion_kb
    dataset = write_dataset(tmp_path / "fr_links", _with_links_only_language(dataset_rows()))
    output = tmp_path / "a.nt"
    proposals = _run_train(dataset, model, output, "--threshold", "0.3")
    assert [(p.query.subject_id, p.query.relation_id, p.object_id) for p in proposals] == [EXPECTED]
    assert list(read_triples(output)) == [EXPECTED]
    notes = [line for line in capsys.readouterr().err.splitlines() if "skipped" in line]
    assert notes == ["evidence languages skipped, their configs holding no triples: fr"]

    # measured likewise: fr is no evidence language of the report
    report = measure.main(
        [
            "--model", str(model), "--dataset", str(dataset), "--target_language", "de",
            "--num_beams", "2", "--max_per_pair", "1", "--output", str(tmp_path / "m.json"),
        ]
    )  # fmt: skip
    assert report["evidence_languages"] == ["en"] and report["hidden_facts_with_evidence"] == 1
    assert "skipped, their configs holding no triples: fr" in capsys.readouterr().err

    # named by the user, it is refused, named
    with pytest.raises(SystemExit) as raised:
        _run_train(dataset, model, tmp_path / "b.nt", "--evidence_languages", "en,fr")
    assert raised.value.code == 2
    error = capsys.readouterr().err
    assert "error: --evidence_languages: config 'fr'" in error and "has no triples" in error
    assert not (tmp_path / "b.nt").exists()


def _with_english_euro_named(configs: dict, name: str) -> dict:
    """The KB with the English euro's label `name` (its triples and links)."""
    euro = iri("en", "Euro")
    for splits in configs.values():
        for rows in splits.values():
            for row in rows:
                for end in ("subject", "object"):
                    if row[f"{end}_id"] == euro:
                        row[end] = name
    return configs


def test_a_label_holding_the_separator_reads_back_as_one_evidence_object(completion_kb, tmp_path):
    _, model = completion_kb
    name = "euro\\; de=Euro"  # a backslash, then what read as a German object agreeing
    dataset = write_dataset(tmp_path / "named", _with_english_euro_named(dataset_rows(), name))
    output = tmp_path / "new_facts.nt"
    proposals = _run_train(dataset, model, output, "--threshold", "0.3")
    assert [p.object_id for p in proposals] == [EXPECTED[2]]
    lines = output.with_suffix(".tsv").read_text(encoding="utf-8").splitlines()
    rows = [dict(zip(TSV_COLUMNS, map(unescape_cell, line.split("\t")), strict=True))
            for line in lines[1:]]  # fmt: skip
    assert evidence_items(rows[0]["evidence"]) == [("en", True, name)]
    assert rows[0]["evidence_languages"] == rows[0]["agreeing_languages"] == "en"


def test_evidence_cells_read_back_through_the_tsv_escapes():
    labels = ["a; fr=b", "AC\\DC", "end;", "\\", "tab\there; ", " lead", "plain"]
    evidence = [Evidence(f"l{i}", f"e{i}", name, "t" if i % 2 else None) for i, name in enumerate(labels)]  # fmt: skip
    proposal = Proposal(CompletionQuery("s", "S", "r", "R", evidence), "t", "T", 0.5, 1)
    cell = escape_cell(evidence_text(proposal))
    assert "\t" not in cell and "\n" not in cell
    expected = [(f"l{i}", bool(i % 2), name) for i, name in enumerate(labels)]
    assert evidence_items(unescape_cell(cell)) == expected
    plain = Proposal(CompletionQuery("s", "S", "r", "R", evidence[-1:]), "t", "T", 0.5, 1)
    assert evidence_text(plain) == "l6:plain"  # labels without `;` or `\` are written as they are
    assert evidence_items("") == []
    with pytest.raises(ValueError, match="language:object"):
        evidence_items("en")


def test_more_proposals_per_pair_than_beams_is_refused(completion_kb, tmp_path, capsys):
    dataset, model = completion_kb
    with pytest.raises(SystemExit) as raised:
        _run_train(dataset, model, tmp_path / "a.nt", "--max_per_pair", "6", "--threshold", "0")
    assert raised.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("error: --max_per_pair 6 > --num_beams 5") and "--num_beams 6" in error
    assert not (tmp_path / "a.nt").exists()
    with pytest.raises(SystemExit) as raised:  # --max_per_pair 3 by default
        measure.main(
            [
                "--model", str(model), "--dataset", str(dataset), "--target_language", "de",
                "--num_beams", "2", "--output", str(tmp_path / "m.json"),
            ]
        )  # fmt: skip
    assert raised.value.code == 2
    assert "--max_per_pair 3 > --num_beams 2" in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()
    # as many as the beams: every ranked object, the held-out one first
    proposals = _run_train(
        dataset, model, tmp_path / "b.nt", "--max_per_pair", "5", "--threshold", "0"
    )
    assert len(proposals) == 5 and [p.rank for p in proposals] == [1, 2, 3, 4, 5]
    assert proposals[0].object_id == EXPECTED[2]
