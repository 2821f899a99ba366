"""prixlm.complete with one target label naming two entities (homonyms): the German currency
and a German magazine are both labelled `Euro`. A proposed `Euro` was written with the IRI
first in sort order (the magazine's) where no evidence said which entity it is, and was not
counted in `ambiguous_objects`; labels that tokenise alike were already skipped there."""

from __future__ import annotations

from pathlib import Path

from completion_kb import HELD_OUT, dataset_rows, iri, write_dataset

from prixlm.complete import main
from prixlm.data.ntriples import read_triples

CURRENCY = "http://dbpedia.org/ontology/currency"
FRANCE = iri("de", HELD_OUT[0])
#: The magazine's IRI, labelled `Euro` as the currency is; it sorts before the currency's.
MAGAZINE = "http://de.dbpedia.org/resource/EURO_(Zeitschrift)"
EN_MAGAZINE = "http://dbpedia.org/resource/Euro_(magazine)"


def _with_the_magazine(configs: dict) -> dict:
    """The KB plus the magazine: a German entity labelled `Euro`, linked to its English page."""
    ends = {"en": ("Euro (magazine)", EN_MAGAZINE), "de": ("Euro", MAGAZINE)}
    for source, target in (("en", "de"), ("de", "en")):
        (subject, subject_id), (obj, object_id) = ends[source], ends[target]
        configs["links"]["train"].append(
            {
                "kind": "link",
                "subject": subject,
                "relation": "",
                "object": obj,
                "subject_language": source,
                "object_language": target,
                "subject_id": subject_id,
                "relation_id": "",
                "object_id": object_id,
                "all_objects": [obj],
            }
        )
    return configs


def _complete(dataset: Path, model: Path, output: Path, capsys) -> tuple[set, str]:
    """(the written N-Triples, the printed counts) of a run proposing every candidate."""
    main(
        [
            "--model", str(model), "--dataset", str(dataset), "--target_language", "de",
            "--output", str(output), "--num_beams", "11", "--no_progress",
            "--target_splits", "train", "--threshold", "0", "--max_per_pair", "11",
        ]
    )  # fmt: skip
    return set(read_triples(output)), capsys.readouterr().out


def test_a_label_naming_two_entities_is_written_only_where_the_evidence_decides(
    completion_kb, tmp_path, capsys
):
    _, model = completion_kb
    configs = _with_the_magazine(dataset_rows())
    dataset = write_dataset(tmp_path / "homonyms", configs)
    triples, printed = _complete(dataset, model, tmp_path / "a.nt", capsys)
    # the English euro is linked to the currency: France's currency is the currency
    assert (FRANCE, CURRENCY, iri("de", "Euro")) in triples
    assert not any(triple[2] == MAGAZINE for triple in triples)
    assert ", ambiguous_objects 0," in printed

    # without that link nothing says which `Euro` is meant: no `Euro` written, each counted
    euro = iri("en", "Euro")
    configs["links"]["train"] = [
        row
        for row in configs["links"]["train"]
        if euro not in (row["subject_id"], row["object_id"])
    ]
    dataset = write_dataset(tmp_path / "unlinked", configs)
    triples, printed = _complete(dataset, model, tmp_path / "b.nt", capsys)
    assert {(s, r) for s, r, _ in triples} == {(FRANCE, CURRENCY)}  # the one query
    assert not {triple[2] for triple in triples} & {MAGAZINE, iri("de", "Euro")}
    assert len(triples) == 10  # the other candidates are still proposed
    assert ", ambiguous_objects 1," in printed
