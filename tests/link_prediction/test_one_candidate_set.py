"""One candidate set per language, whatever the entry point.

The builder tests' three-language DBpedia dumps plus the Rhine (`Rhine`, `Rhein`, `Rhin`:
labels and interlanguage links, no fact) and Bonn (a German entity with a fact, no link),
built, then a tiny model trained by `train.py` (with its checkpoint link prediction). A
language's candidates are every label of that language in its triples or link ends: the
release's `candidates.json` (the pipeline's), `evaluate_lp` in the language's own config,
in `links` and in `all`, training's checkpoint link prediction and `prixlm.complete` rank
the same labels, the link-only entity and the fact-only one among them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import prixlm.completion.propose as propose
import prixlm.link_prediction.evaluation as evaluation
from modeling_prixlm.constrained_decoding import EntityTrie
from prixlm.link_prediction.candidate_files import dataset_candidates, row_kind

LANGUAGES = ("de", "en", "fr")
#: the German candidates: the triples' labels (Bonn: a fact, no link) and Rhein (links only)
GERMAN = [
    "Berlin", "Bern", "Bonn", "Deutsch", "Deutschland", "Euro", "Frankreich", "Französisch",
    "Köln", "Paris", "Rhein", "Schweiz", "Schweizer Franken",
]  # fmt: skip
#: the entity named by links only, in each language
LINK_ONLY = {"en": "Rhine", "de": "Rhein", "fr": "Rhin"}


def _write_dumps(folder: Path) -> Path:
    """The builder tests' dumps, the Rhine (labels and links, no fact) and Bonn (a fact)."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "data"))
    try:
        from dbpedia_dumps import DE, EN, FR, LABEL, SAME, add_lines, write_dumps
    finally:
        sys.path.pop(0)
    dumps = write_dumps(folder)
    iris = {"en": EN + "Rhine", "de": DE + "Rhein", "fr": FR + "Rhin"}
    for language, iri in iris.items():
        add_lines(dumps / f"labels_{language}.ttl", [f'<{iri}> {LABEL} "{LINK_ONLY[language]}"@{language} .'])  # fmt: skip
        others = [f"<{iri}> {SAME} <{iris[other]}> ." for other in iris if other != language]
        add_lines(dumps / f"interlanguage_links_{language}.ttl", others)
    add_lines(dumps / "labels_de.ttl", [f'<{DE}Bonn> {LABEL} "Bonn"@de .'])
    country = "<http://dbpedia.org/ontology/country>"
    add_lines(dumps / "mappingbased_objects_de.ttl", [f"<{DE}Bonn> {country} <{DE}Deutschland> ."])
    return dumps


def _spy(
    monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, record: Callable[..., None]
) -> None:
    """Replace `owner.name` by a wrapper that passes its arguments to `record`, then calls it."""
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        record(*args, **kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)


def _object_language(rows: list[dict[str, Any]]) -> str:
    (language,) = {row["object_language"] for row in rows}
    return language


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """`(dataset, release folder, {language: candidates training's link prediction ranked})`."""
    from demo_output import TINY_TRAINING

    import train
    from prixlm.data.dbpedia.build import build_dataset

    root = tmp_path_factory.mktemp("one_candidate_set")
    dataset = root / "dataset"
    build_dataset(_write_dumps(root / "dumps"), dataset, list(LANGUAGES), progress=False)
    training: dict[str, set[str]] = {}

    def record(model, tokenizer, rows, candidates, *args, unreadable=(), **kwargs) -> None:
        # the language's trie, built once for the run, and the labels it left out
        labels = candidates.labels if isinstance(candidates, EntityTrie) else candidates
        training.setdefault(_object_language(rows), set()).update(labels, unreadable)

    argv = {
        "--dataset": str(dataset), "--output_dir": str(root / "run"), **TINY_TRAINING,
        "--languages": ",".join(LANGUAGES), "--tokenizer_vocab_size": "200",
        "--lp_eval_queries": "2", "--lp_eval_split": "train",
    }  # fmt: skip
    with pytest.MonkeyPatch.context() as monkeypatch:
        _spy(monkeypatch, evaluation, "evaluate_link_prediction", record)
        release = train.main([item for pair in argv.items() for item in pair])
    return dataset, Path(release), {k: sorted(v) for k, v in training.items()}


def test_candidates_json_holds_link_only_and_fact_only_entities(built):
    dataset, release, _ = built
    stored = json.loads((release / "candidates.json").read_text(encoding="utf-8"))
    assert stored["de"] == GERMAN
    assert stored == dataset_candidates(dataset, LANGUAGES)
    for language, label in LINK_ONLY.items():
        assert label in stored[language]


def test_training_link_prediction_ranks_the_stored_candidates(built):
    _, release, training = built
    stored = json.loads((release / "candidates.json").read_text(encoding="utf-8"))
    assert training["de"] == GERMAN
    assert training == stored


def test_evaluate_lp_ranks_every_config_among_the_stored_candidates(built, monkeypatch):
    from prixlm.link_prediction.evaluate_lp import main

    dataset, release, _ = built
    stored = json.loads((release / "candidates.json").read_text(encoding="utf-8"))
    ranked: dict[tuple[str, str], list[list[str]]] = {}

    def record(model, tokenizer, rows, candidates, *args, **kwargs) -> None:
        first = rows[0]
        kind = row_kind(first.get("kind"), first["subject_language"], first["object_language"])
        ranked.setdefault((_object_language(rows), kind), []).append(sorted(candidates))

    _spy(monkeypatch, evaluation, "evaluate_protocols", record)
    report = main(
        ["--model", str(release), "--dataset", str(dataset), "--languages", "de,en,fr,links,all",
         "--split", "train", "--mode", "full"]
    )  # fmt: skip
    assert ranked[("de", "triple")][0] == ranked[("de", "link")][0] == GERMAN
    for language in LANGUAGES:  # its own config and `all`; `links` and `all`'s links
        assert ranked[(language, "triple")] == [stored[language]] * 2
        assert ranked[(language, "link")] == [stored[language]] * 2
    results = report["results"]
    counted = {name: results[name]["num_candidates"] + results[name]["merged_candidates"]
               for name in ("de", "all/de", "links/de", "all/links/de")}  # fmt: skip
    assert counted == dict.fromkeys(counted, len(GERMAN))


def test_complete_ranks_the_stored_candidates(built, monkeypatch, tmp_path):
    from prixlm.complete import main

    dataset, release, _ = built
    stored = json.loads((release / "candidates.json").read_text(encoding="utf-8"))
    ranked: dict[str, list[str]] = {}
    original = propose.fitted_inputs

    def fitted_inputs(model, tokenizer, kb, **kwargs):
        inputs = original(model, tokenizer, kb, **kwargs)
        ranked[kb.target.language] = sorted(inputs.candidates)  # label -> its IRIs
        return inputs

    monkeypatch.setattr(propose, "fitted_inputs", fitted_inputs)
    for language in LANGUAGES:
        output = tmp_path / language / "new_facts.nt"
        main(
            ["--model", str(release), "--dataset", str(dataset), "--target_language", language,
             "--output", str(output), "--num_beams", "5", "--no_progress"]
        )  # fmt: skip
    assert ranked["de"] == GERMAN
    assert ranked == stored


def test_the_pipeline_answers_a_link_query_with_the_link_only_entity(built):
    from transformers import pipeline

    _, release, _ = built
    pipe = pipeline(model=str(release), trust_remote_code=True)
    query = {"subject": "Rhine", "language": "en", "target_language": "de"}
    answers = pipe(query, top_k=len(GERMAN), num_beams=len(GERMAN))
    assert sorted(answer["object"] for answer in answers) == GERMAN
