"""Completion through links to a pivot language: a dataset built with `--link_languages en`
links German and French to English only, and French evidence still reaches German subjects."""

from __future__ import annotations

from completion_kb import write_dataset

from prixlm.completion.knowledge import completion_queries
from prixlm.completion.loading import load_completion_kb
from prixlm.data.cldr.dump_format import DBPEDIA_ONTOLOGY, resource_iri

LABELS = {  # key: en, de, fr labels
    "Spain": ("Spain", "Spanien", "Espagne"),
    "Germany": ("Germany", "Deutschland", "Allemagne"),
    "Euro": ("euro", "Euro", "euro"),
}
LANGUAGES = ("en", "de", "fr")


def _row(kind, language, subject, obj, other=None, relation=""):
    other = other or language
    label = {lang: {k: v[i] for k, v in LABELS.items()} for i, lang in enumerate(LANGUAGES)}
    return {
        "kind": kind,
        "subject": label[language][subject],
        "relation": relation and {"en": "currency", "de": "Währung", "fr": "monnaie"}[language],
        "object": label[other][obj],
        "subject_language": language,
        "object_language": other,
        "subject_id": resource_iri(language, label[language][subject]),
        "relation_id": relation and DBPEDIA_ONTOLOGY + relation,
        "object_id": resource_iri(other, label[other][obj]),
        "all_objects": [label[other][obj]],
    }


def test_french_evidence_reaches_german_through_english_links(tmp_path):
    links = [
        _row("link", a, key, key, b)
        for key in LABELS
        for lang in ("de", "fr")
        for a, b in ((lang, "en"), ("en", lang))
    ]
    configs = {
        "en": {"train": [_row("triple", "en", "Germany", "Euro", relation="currency")]},
        "de": {"train": [_row("triple", "de", "Germany", "Euro", relation="currency")]},
        "fr": {"train": [_row("triple", "fr", "Spain", "Euro", relation="currency")]},
        "links": {"train": links},
    }
    dataset = write_dataset(tmp_path / "dataset", configs)
    kb = load_completion_kb(str(dataset), "de", ["fr"])
    queries, stats = completion_queries(kb.target, kb.evidence, kb.links)
    assert stats.subject_not_linked == 0
    assert [(q.subject_id, q.relation, q.subject) for q in queries] == [
        (resource_iri("de", "Spanien"), "Währung", "Spanien")
    ]
    # the evidence object is mapped the same way: French agrees with the German Euro
    assert [(e.language, e.target_object_id) for e in queries[0].evidence] == [
        ("fr", resource_iri("de", "Euro"))
    ]


def test_pivots_naming_different_entities_map_to_none(tmp_path):
    from prixlm.completion.knowledge import Links

    links = Links()
    links.add_rows(
        [
            {"kind": "link", "subject_language": "fr", "object_language": "en", "subject": "a",
             "object": "A", "subject_id": "fr:a", "object_id": "en:a"},
            {"kind": "link", "subject_language": "fr", "object_language": "es", "subject": "a",
             "object": "A", "subject_id": "fr:a", "object_id": "es:a"},
            {"kind": "link", "subject_language": "en", "object_language": "de", "subject": "A",
             "object": "A1", "subject_id": "en:a", "object_id": "de:a1"},
            {"kind": "link", "subject_language": "es", "object_language": "de", "subject": "A",
             "object": "A2", "subject_id": "es:a", "object_id": "de:a2"},
        ]
    )  # fmt: skip
    assert links.to("fr:a", "de") is None  # en says a1, es says a2: not guessed
    assert links.to("en:a", "de") == "de:a1"  # a direct link wins
