"""prixlm.complete: a tiny trained model proposes a held-out German fact from English evidence."""

from __future__ import annotations

import csv

import pytest
import torch
from completion_kb import (
    EN_ONLY,
    ENTITIES,
    EXPECTED,
    dataset_rows,
    iri,
    run_complete,
    write_dataset,
)

from prixlm.complete import main
from prixlm.completion.knowledge import (
    CompletionQuery,
    completion_queries,
    label_iris,
    target_labels,
)
from prixlm.completion.loading import load_completion_kb, read_config
from prixlm.completion.output import iri_term
from prixlm.completion.propose import default_completion_batch, fit_to_model, run_completion
from prixlm.data.cldr.dump_format import DBPEDIA_ONTOLOGY, resource_iri
from prixlm.data.ntriples import ReadStats, read_triples
from prixlm.link_prediction.evaluation import candidate_labels
from prixlm.model_loading import load_prixlm


def test_queries_are_the_pairs_only_other_languages_hold(completion_kb):
    dataset, _ = completion_kb
    kb = load_completion_kb(str(dataset), "de", target_splits=["train"])
    queries, stats = completion_queries(kb.target, kb.evidence, kb.links)
    assert [(q.subject_id, q.relation_id, q.subject, q.relation) for q in queries] == [
        (iri("de", "France"), DBPEDIA_ONTOLOGY + "currency", "Frankreich", "Währung")
    ]
    assert [(e.language, e.object_id, e.target_object_id) for e in queries[0].evidence] == [
        ("en", iri("en", "Euro"), iri("de", "Euro"))
    ]
    assert (stats.evidence_pairs, stats.held_by_target, stats.subject_not_linked) == (11, 9, 1)
    # the candidates are the target's labels in its triples and the links, with IRIs
    rows = dataset_rows()
    splits = {name: _columns(part) for name, part in {**rows["de"], **rows["links"]}.items()}
    splits["links"] = _columns(rows["links"]["train"])
    candidates = label_iris(target_labels(kb.target, kb.links))
    assert sorted(candidates) == candidate_labels(splits, "de", ("triple", "link"))
    assert candidates["Euro"] == [iri("de", "Euro")]


def _columns(rows):
    return {k: [row[k] for row in rows] for k in ("subject", "object", "subject_language", "object_language")}  # fmt: skip


def test_tiny_model_proposes_the_held_out_fact_and_output_round_trips(completion_kb, tmp_path):
    dataset, model = completion_kb
    output = tmp_path / "out" / "new_facts.nt"
    proposals = run_complete(
        dataset, model, output, "--target_splits", "train", "--threshold", "0.3"
    )
    assert [(p.query.subject_id, p.query.relation_id, p.object_id) for p in proposals] == [EXPECTED]
    assert proposals[0].score >= 0.3 and proposals[0].agreeing_languages == ["en"]
    stats = ReadStats()
    assert list(read_triples(output, strict=True, stats=stats)) == [EXPECTED]
    assert stats.triples == 1 and stats.malformed == 0
    with open(output.with_suffix(".tsv"), encoding="utf-8", newline="") as stream:
        table = list(csv.DictReader(stream, dialect="excel-tab"))
    assert [(r["subject"], r["relation"], r["object"]) for r in table] == [
        ("Frankreich", "Währung", "Euro")
    ]
    assert table[0]["evidence_languages"] == "en" and table[0]["agreeing_languages"] == "en"
    assert table[0]["evidence"] == "en=euro"
    assert float(table[0]["score"]) == pytest.approx(proposals[0].score, abs=1e-6)
    assert not list(output.parent.glob(".*partial"))


def test_threshold_above_the_score_proposes_nothing_and_a_full_target_has_no_queries(
    completion_kb, tmp_path
):
    dataset, model = completion_kb
    first = run_complete(
        dataset, model, tmp_path / "a.nt", "--target_splits", "train", "--threshold", "0"
    )
    assert len(first) == 1
    above = min(1.0, first[0].score + 1e-3)
    assert run_complete(dataset, model, tmp_path / "b.nt", "--target_splits", "train", "--threshold", str(above)) == []  # fmt: skip
    assert (tmp_path / "b.nt").read_text(encoding="utf-8").startswith("# predicted by")
    assert len((tmp_path / "b.nt").read_text(encoding="utf-8").splitlines()) == 1  # no fact
    # holding its test split too, German lacks nothing English holds (but the unlinked subject)
    assert run_complete(dataset, model, tmp_path / "c.nt", "--threshold", "0") == []


@pytest.mark.parametrize(
    ("iri_text"),
    [
        "http://de.dbpedia.org/resource/Yen_(Währung)",
        'http://x.org/a b>c"d{e}f|g^h`i\\j\tk\u0001',
        "http://ja.dbpedia.org/resource/日本円%28x%29",
        "http://x.org/1\u00a0000_a\u2028b\u3000c",  # white space: rdflib refused it raw
    ],
)
def test_iri_terms_read_back_to_the_same_iri(tmp_path, iri_text):
    path = tmp_path / "one.nt"
    line = f"{iri_term(iri_text)} {iri_term('http://p/q')} {iri_term(iri_text)} .\n"
    path.write_text(line, encoding="utf-8")
    assert list(read_triples(path, strict=True)) == [(iri_text, "http://p/q", iri_text)]
    rdflib = pytest.importorskip("rdflib")  # an independent reader: the same IRIs
    graph = rdflib.Graph().parse(path, format="nt")
    assert [(str(s), str(p), str(o)) for s, p, o in graph] == [(iri_text, "http://p/q", iri_text)]


def _no_decoding(*args, **kwargs):
    raise AssertionError("decoding started despite bad input")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": "missing"}, "--model"),
        ({"model": "not a model"}, "no config.json"),
        ({"language": "fr"}, "--target_language 'fr': not a language of"),
        ({"dataset": "empty config"}, "config 'de' is empty or unreadable"),
        ({"dataset": "empty folder"}, "no README.md dataset card"),
        ({"dataset": "nowhere"}, "no such folder"),
        ({"threshold": "1.5"}, "--threshold 1.5"),
    ],
)
def test_bad_input_fails_before_any_work(
    completion_kb, tmp_path, monkeypatch, capsys, change, message
):
    import prixlm.complete as complete

    dataset, model = completion_kb
    monkeypatch.setattr(complete, "load_command_model", _no_decoding)
    monkeypatch.setattr(complete, "run_completion", _no_decoding)
    if change.get("dataset") == "empty config":
        configs = dataset_rows()
        configs["de"] = {"train": configs["de"]["train"][:0]}
        dataset = write_dataset(tmp_path / "empty", configs)
    elif change.get("dataset") == "empty folder":
        dataset = tmp_path / "empty"
        dataset.mkdir()
    elif change.get("dataset") == "nowhere":
        dataset = tmp_path / "nowhere"
    if change.get("model") == "missing":
        model = tmp_path / "no_model"
    elif change.get("model") == "not a model":
        model = dataset
    output = tmp_path / "new.nt"
    argv = [
        "--model", str(model), "--dataset", str(dataset), "--output", str(output),
        "--target_language", change.get("language", "de"), "--threshold", change.get("threshold", "0.5"),
    ]  # fmt: skip
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2
    assert message in capsys.readouterr().err
    assert not output.exists() and not output.with_suffix(".tsv").exists()


@pytest.mark.parametrize(
    ("output", "tsv", "message"),
    [
        ("folder", None, "--output {folder}: a folder; give a file path"),
        ("new.nt", "folder", "--tsv {folder}: a folder; give a file path"),
        ("facts.tsv", None, "are the same file (the TSV would overwrite the N-Triples)"),
        ("facts.nt", "facts.nt", "are the same file"),
    ],
)
def test_output_paths_that_would_lose_the_facts_fail_before_any_work(
    completion_kb, tmp_path, monkeypatch, capsys, output, tsv, message
):
    """An --output that is a folder failed only after decoding (a traceback, nothing
    written); `--output facts.tsv` made the default TSV path the N-Triples path, and the TSV
    overwrote the N-Triples."""
    import prixlm.complete as complete

    dataset, model = completion_kb
    monkeypatch.setattr(complete, "load_command_model", _no_decoding)
    monkeypatch.setattr(complete, "run_completion", _no_decoding)
    folder = tmp_path / "folder"
    folder.mkdir()
    argv = ["--model", str(model), "--dataset", str(dataset), "--target_language", "de",
            "--output", str(tmp_path / output)]  # fmt: skip
    if tsv is not None:
        argv += ["--tsv", str(tmp_path / tsv)]
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2
    assert message.format(folder=folder) in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


def test_en_only_subject_is_never_proposed(completion_kb):
    dataset, _ = completion_kb
    kb = load_completion_kb(str(dataset), "de", target_splits=["train"])
    queries, _ = completion_queries(kb.target, kb.evidence, kb.links)
    assert queries
    assert all(q.subject != EN_ONLY[0] for q in queries)


def test_labels_the_model_cannot_fit_are_left_out_not_fatal(completion_kb, tmp_path):
    """A target entity whose label is longer than the model's positions (a link-only German
    entity here) used to stop the whole run in `prepare_inputs`; now it is left out."""
    _, model = completion_kb
    configs = dataset_rows()
    long_label = "Vereinigtes Königreich " * 40
    configs["links"]["train"].append(
        {
            **configs["links"]["train"][0],
            "subject": long_label,
            "subject_language": "de",
            "object_language": "en",
            "subject_id": "http://de.dbpedia.org/resource/Lang",
            "object": "Long",
            "object_id": "http://dbpedia.org/resource/Long",
            "all_objects": ["Long"],
        }
    )
    dataset = write_dataset(tmp_path / "long", configs)
    loaded, tokenizer = load_prixlm(str(model), "cpu")
    kb = load_completion_kb(str(dataset), "de", target_splits=["train"])
    proposals, stats = run_completion(loaded, tokenizer, kb, 0.3, num_beams=5, progress=False)
    assert [(p.query.subject_id, p.query.relation_id, p.object_id) for p in proposals] == [EXPECTED]
    assert (stats.candidates_too_long, stats.queries_too_long) == (1, 0)
    assert stats.queries_unencodable == 0
    assert stats.candidates == len(label_iris(target_labels(kb.target, kb.links)))

    too_long = CompletionQuery("s", "Frankreich " * 40, "r", "Währung")
    marked = CompletionQuery("s2", f"Frankreich {tokenizer.sep_token}", "r", "Währung")
    fitting = CompletionQuery("s3", "Frankreich", "r", "Währung")
    candidates = {"Euro": ["e"], "": ["empty"]}
    queries, kept, unencodable = fit_to_model(
        loaded, tokenizer, [too_long, marked, fitting], candidates
    )
    assert queries == [fitting] and list(kept) == ["Euro"] and unencodable == 1


def test_two_dataset_folders_of_the_same_name_are_read_each_as_it_is(tmp_path):
    """`load_dataset` alone returns the first folder's rows for the second (its cache key is
    the folder name, config and card patterns); completion must read what is on disk."""
    first, second = dataset_rows(), dataset_rows()
    second["de"]["test"][0]["subject"] = "Frankreich (Staat)"
    write_dataset(tmp_path / "one" / "kb", first)
    write_dataset(tmp_path / "two" / "kb", second)
    for folder, expected in (("one", "Frankreich"), ("two", "Frankreich (Staat)")):
        rows = read_config(str(tmp_path / folder / "kb"), "de")
        assert rows["test"][0]["subject"] == expected


def test_default_batch_is_8_queries_on_the_cpu_and_the_device_default_on_a_gpu(
    completion_kb, monkeypatch
):
    import prixlm.completion.propose as propose

    _, model_dir = completion_kb
    model, _ = load_prixlm(str(model_dir), "cpu")
    assert default_completion_batch(model, 50) == 8
    monkeypatch.setattr(propose, "model_device", lambda _: torch.device("cuda"))
    monkeypatch.setattr(propose, "default_max_rows", lambda _: 8192)
    assert default_completion_batch(model, 50) == 163
    assert default_completion_batch(model, 4) == 2048


def test_an_evidence_language_no_link_reaches_is_named(completion_kb, tmp_path, capsys):
    """Links only between `de` and a third language: English evidence reaches no German
    subject and proposes nothing; the command says which language and why (it was a count
    among the others and exit 0)."""
    _, model = completion_kb
    configs = dataset_rows()
    french = {iri("en", k): resource_iri("fr", ENTITIES[k][0]) for k in ENTITIES}  # as fr's
    configs["links"]["train"] = [
        {**row, "subject_language": "fr", "subject_id": french[row["subject_id"]]}
        if row["subject_language"] == "en" else
        {**row, "object_language": "fr", "object_id": french[row["object_id"]]}
        for row in configs["links"]["train"]
    ]  # fmt: skip
    dataset = write_dataset(tmp_path / "dataset", configs)
    assert run_complete(dataset, model, tmp_path / "out.nt", "--evidence_languages", "en") == []
    err = capsys.readouterr().err
    pairs = len({(r["subject_id"], r["relation_id"]) for r in configs["en"]["train"]})
    assert (
        f"evidence languages with no subject linked to de (directly or through one language "
        f"both link to), which propose nothing: en ({pairs} pairs)" in err
    )
    run_complete(completion_kb[0], model, tmp_path / "linked.nt", "--evidence_languages", "en")
    assert "no subject linked" not in capsys.readouterr().err
