"""A tiny two-language KB written as DBpedia dumps and built with the real builder."""

from __future__ import annotations

from pathlib import Path

import pytest

from prixlm.data.dbpedia.build import build_dataset

LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
SAME_AS = "<http://www.w3.org/2002/07/owl#sameAs>"
ENTITIES = {  # id: (en label, de label)
    "Germany": ("Germany", "Deutschland"),
    "France": ("France", "Frankreich"),
    "Japan": ("Japan", "Japan"),
    "Italy": ("Italy", "Italien"),
    "Euro": ("euro", "Euro"),
    "Yen": ("Japanese yen", "Yen"),
    "German": ("German", "Deutsch"),
    "French": ("French", "Französisch"),
    "Japanese": ("Japanese", "Japanisch"),
    "Italian": ("Italian", "Italienisch"),
}
FACTS = [
    ("Germany", "currency", "Euro"),
    ("France", "currency", "Euro"),
    ("Italy", "currency", "Euro"),
    ("Japan", "currency", "Yen"),
    ("Germany", "officialLanguage", "German"),
    ("France", "officialLanguage", "French"),
    ("Japan", "officialLanguage", "Japanese"),
    ("Italy", "officialLanguage", "Italian"),
]


def _iri(language: str, key: str) -> str:
    label = ENTITIES[key][0 if language == "en" else 1].replace(" ", "_")
    host = "dbpedia.org" if language == "en" else f"{language}.dbpedia.org"
    return f"<http://{host}/resource/{label}>"


def write_tiny_dumps(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index, language in enumerate(("en", "de")):
        other = "de" if language == "en" else "en"
        labels = [
            f'{_iri(language, k)} {LABEL} "{v[index]}"@{language} .' for k, v in ENTITIES.items()
        ]
        facts = [
            f"{_iri(language, s)} <http://dbpedia.org/ontology/{p}> {_iri(language, o)} ."
            for s, p, o in FACTS
        ]
        links = [f"{_iri(language, k)} {SAME_AS} {_iri(other, k)} ." for k in ENTITIES]
        (folder / f"labels_{language}.ttl").write_text("\n".join(labels) + "\n", encoding="utf-8")
        (folder / f"mappingbased_objects_{language}.ttl").write_text(
            "\n".join(facts) + "\n", encoding="utf-8"
        )
        (folder / f"interlanguage_links_{language}.ttl").write_text(
            "\n".join(links) + "\n", encoding="utf-8"
        )
    return folder


@pytest.fixture(scope="session")
def tiny_dataset_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny_kb")
    output = root / "dataset"
    build_dataset(write_tiny_dumps(root / "dumps"), output, ["en", "de"])
    return output
