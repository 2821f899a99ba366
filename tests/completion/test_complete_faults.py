"""prixlm.complete on inputs that wrote wrong or broken files with exit 0: a target language
the model has no token for, labels merged through `<unk>`, a target without facts, labels
with control characters, IRIs that are not valid IRIs."""

from __future__ import annotations

import warnings
from pathlib import Path

import completion_kb as kb_module
import pytest
from completion_kb import HELD_OUT, dataset_rows, iri, write_dataset

from prixlm.complete import main
from prixlm.completion.knowledge import QueryStats
from prixlm.completion.output import TSV_COLUMNS, unescape_cell
from prixlm.data.ntriples import read_triples

CURRENCY = "http://dbpedia.org/ontology/currency"
FRANCE = iri("de", HELD_OUT[0])


def _run(dataset: Path, model: Path, output: Path, *extra: str, language: str = "de"):
    return main(
        [
            "--model", str(model), "--dataset", str(dataset), "--target_language", language,
            "--output", str(output), "--num_beams", "5", "--no_progress", *extra,
        ]
    )  # fmt: skip


def _fails(capsys, *args, **kwargs) -> str:
    with pytest.raises(SystemExit) as raised:
        _run(*args, **kwargs)
    assert raised.value.code == 2
    error = [line for line in capsys.readouterr().err.splitlines() if "error" in line.lower()]
    assert len(error) == 1 and error[0].startswith("error: ")  # one line, no traceback
    return error[0]


def _as_language(configs: dict, old: str, new: str) -> dict:
    """The KB with language `old` renamed `new` (config, row languages and IRIs)."""
    renamed = {}
    for config, splits in configs.items():
        renamed[new if config == old else config] = {
            split: [
                {
                    key: (new if value == old else value.replace(f"//{old}.", f"//{new}."))
                    if isinstance(value, str)
                    else value
                    for key, value in row.items()
                }
                for row in rows
            ]
            for split, rows in splits.items()
        }
    return renamed


def test_a_target_language_the_model_has_no_token_for_is_refused(completion_kb, tmp_path, capsys):
    """The model (en, de) completed `fr`, whose labels it cannot write, with exit 0."""
    _, model = completion_kb
    dataset = write_dataset(tmp_path / "fr", _as_language(dataset_rows(), "de", "fr"))
    output = tmp_path / "fr.nt"
    error = _fails(capsys, dataset, model, output, "--target_splits", "train", language="fr")
    assert error == (
        "error: --target_language 'fr': the model has no language token [fr] (its languages: "
        "de, en); it cannot write that language's labels"
    )
    assert not output.exists() and not output.with_suffix(".tsv").exists()


def _greek_currencies(monkeypatch) -> dict:
    """de labels the tiny tokenizer cannot write (both tokenise to `<unk>`)."""
    monkeypatch.setitem(kb_module.ENTITIES, "Euro", ("euro", "Ευρώ"))
    monkeypatch.setitem(kb_module.ENTITIES, "Yen", ("Japanese yen", "Γιεν"))
    return dataset_rows()


def test_labels_merged_through_unk_are_written_only_where_the_evidence_decides(
    completion_kb, tmp_path, monkeypatch, capsys
):
    """Ευρώ and Γιεν were one candidate and the trie's label (Γιεν) gave its IRI: France's
    currency was written as the yen."""
    _, model = completion_kb
    configs = _greek_currencies(monkeypatch)
    dataset = write_dataset(tmp_path / "greek", configs)
    with pytest.warns(UserWarning, match=r"1 of 11 labels tokenise like another through <unk>"):
        proposals = _run(dataset, model, tmp_path / "a.nt", "--target_splits", "train",
                         "--threshold", "0", "--max_per_pair", "11", "--num_beams", "11")  # fmt: skip
    objects = [(p.query.subject_id, p.query.relation_id, p.object_id, p.object) for p in proposals]
    france = (FRANCE, CURRENCY)
    assert (*france, iri("de", "Yen"), "Γιεν") not in objects
    assert (*france, iri("de", "Euro"), "Ευρώ") in objects  # the English evidence decides
    assert ", ambiguous_objects 0," in capsys.readouterr().out

    # without the link from the English euro, nothing decides between the two: skipped
    euro = iri("en", "Euro")
    configs["links"]["train"] = [
        row
        for row in configs["links"]["train"]
        if euro not in (row["subject_id"], row["object_id"])
    ]
    dataset = write_dataset(tmp_path / "unlinked", configs)
    with pytest.warns(UserWarning, match="through <unk>"):
        proposals = _run(dataset, model, tmp_path / "b.nt", "--target_splits", "train",
                         "--threshold", "0", "--max_per_pair", "11", "--num_beams", "11")  # fmt: skip
    written = {p.object_id for p in proposals}
    assert written and not written & {iri("de", "Euro"), iri("de", "Yen")}
    assert ", ambiguous_objects 1," in capsys.readouterr().out


def test_a_target_without_facts_in_the_splits_read_is_refused(completion_kb, tmp_path, capsys):
    """Every pair was counted relation_unknown_in_target and an empty .nt written, exit 0."""
    _, model = completion_kb
    configs = dataset_rows()  # the de config holds only rows of another language
    configs["de"] = {"train": [dict(row, subject_language="xx") for row in configs["de"]["train"]]}
    dataset = write_dataset(tmp_path / "no_de_facts", configs)
    output = tmp_path / "x.nt"
    error = _fails(capsys, dataset, model, output)
    assert error == (
        f"error: --dataset {dataset}: config 'de' holds no triples in the splits read (train); "
        "relations are named by the target's own labels, so nothing could be asked"
    )
    assert not output.exists()


def test_skipped_relations_the_target_never_uses_are_named_on_stderr(
    completion_kb, tmp_path, capsys
):
    _, model = completion_kb
    configs = dataset_rows()  # de holds no currency fact: English's 5 linked ones are skipped
    configs["de"] = {"train": [r for r in configs["de"]["train"] if r["relation_id"] != CURRENCY]}
    dataset = write_dataset(tmp_path / "no_currency", configs)
    assert _run(dataset, model, tmp_path / "x.nt") == []
    captured = capsys.readouterr()
    assert ", relation_unknown_in_target 5," in captured.out
    assert (
        "5 evidence pairs skipped: 1 relations the target never uses (it names relations by "
        f"its own labels): {CURRENCY} (5)\n"
    ) in captured.err


def test_unknown_relations_note_names_at_most_ten():
    stats = QueryStats(relation_unknown_in_target=14)
    stats.unknown_relations.update({f"http://r/{i:02d}": 1 for i in range(12)})
    stats.unknown_relations["http://r/11"] += 2
    note = stats.unknown_relations_note()
    assert note.startswith("14 evidence pairs skipped: 12 relations the target never uses")
    assert note.endswith(": http://r/11 (3), " + ", ".join(f"http://r/{i:02d} (1)" for i in range(9)) + " and 2 more")  # fmt: skip
    assert QueryStats().unknown_relations_note() is None
    assert "unknown_relations" not in QueryStats().counts()


def test_tsv_cells_escape_control_characters_one_line_per_fact(
    completion_kb, tmp_path, monkeypatch
):
    """`\\r` was written unquoted and `\\n` made a record of two lines: the TSV's lines no
    longer paired with the .nt lines."""
    _, model = completion_kb
    subject, relation, euro = 'Frank"reich\r\nneu', 'Wäh\rrung "x"', 'Eu\tro\\n\n"'
    monkeypatch.setitem(kb_module.ENTITIES, "France", ("France", subject))
    monkeypatch.setitem(kb_module.ENTITIES, "Euro", ("euro", euro))
    monkeypatch.setitem(kb_module.RELATIONS, "currency", ("currency", relation))
    dataset = write_dataset(tmp_path / "controls", dataset_rows())
    output = tmp_path / "x.nt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the IRIs of these labels are not valid IRIs
        proposals = _run(dataset, model, output, "--target_splits", "train", "--threshold", "0",
                         "--max_per_pair", "11", "--num_beams", "11")  # fmt: skip
    text = output.with_suffix(".tsv").read_text(encoding="utf-8")
    assert text.endswith("\n")
    lines = text[:-1].split("\n")
    nt_lines = output.read_text(encoding="utf-8").splitlines()
    assert nt_lines[0].startswith("# predicted by")  # then one line per TSV row
    assert len(lines) == len(nt_lines)  # the TSV's header, the .nt's first comment
    cells = [[unescape_cell(cell) for cell in line.split("\t")] for line in lines]
    assert cells[0] == list(TSV_COLUMNS) and all(len(row) == len(TSV_COLUMNS) for row in cells)
    rows = [dict(zip(TSV_COLUMNS, row, strict=True)) for row in cells[1:]]
    assert [(r["subject"], r["relation"], r["object"], r["object_id"]) for r in rows] == [
        (p.query.subject, p.query.relation, p.object, p.object_id) for p in proposals
    ]
    assert {(r["subject"], r["relation"]) for r in rows} == {(subject, relation)}
    assert euro in {r["object"] for r in rows} and len(rows) > 1
    assert [r["subject_id"] for r in rows] == [t[0] for t in read_triples(output, strict=True)]


def test_iris_that_are_not_valid_iris_are_counted_and_named(
    completion_kb, tmp_path, monkeypatch, capsys
):
    """Written as \\uXXXX (valid N-Triples) without a word, though rdflib warns and strict
    stores refuse them."""
    _, model = completion_kb
    odd = 'http://de.dbpedia.org/resource/Euro "2002" <x>'

    def odd_iri(language: str, key: str) -> str:
        return odd if (language, key) == ("de", "Euro") else iri(language, key)

    monkeypatch.setattr(kb_module, "iri", odd_iri)
    dataset = write_dataset(tmp_path / "odd", dataset_rows())
    output = tmp_path / "x.nt"
    with pytest.warns(UserWarning, match="1 proposed IRIs are not valid IRIs") as caught:
        proposals = _run(dataset, model, output, "--target_splits", "train", "--threshold", "0.3")
    assert [(p.query.subject_id, p.object_id) for p in proposals] == [(FRANCE, odd)]
    assert repr(odd) in str(caught[0].message)
    assert ", invalid_iris 1\n" in capsys.readouterr().out
    assert list(read_triples(output, strict=True)) == [(FRANCE, CURRENCY, odd)]
