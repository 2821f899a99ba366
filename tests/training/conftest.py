"""A tiny two-language KB written as DBpedia dumps and built with the real builder."""

from __future__ import annotations

from collections.abc import Mapping
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


#: A label of more than 600 tokens: longer than the positions of the tiny models, and than
#: the 510 tokens of a model built with `--max_fact_length 0`.
LONG_LABEL = "Japanese yen" + " x" * 600
#: `ENTITIES` with `LONG_LABEL` in English (a KB built without a length filter can have it).
LONG_LABEL_ENTITIES = {**ENTITIES, "Yen": (LONG_LABEL, "Yen")}


def _iri(language: str, key: str, entities: Mapping[str, tuple[str, str]] = ENTITIES) -> str:
    label = entities[key][0 if language == "en" else 1].replace(" ", "_")
    host = "dbpedia.org" if language == "en" else f"{language}.dbpedia.org"
    return f"<http://{host}/resource/{label}>"


def write_tiny_dumps(folder: Path, entities: Mapping[str, tuple[str, str]] = ENTITIES) -> Path:
    """The tiny KB's dumps in `folder`: `entities` (id: (en label, de label)) and `FACTS`."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, language in enumerate(("en", "de")):
        other = "de" if language == "en" else "en"
        labels = [
            f'{_iri(language, k, entities)} {LABEL} "{v[index]}"@{language} .'
            for k, v in entities.items()
        ]
        facts = [
            f"{_iri(language, s, entities)} <http://dbpedia.org/ontology/{p}> "
            f"{_iri(language, o, entities)} ."
            for s, p, o in FACTS
        ]
        links = [
            f"{_iri(language, k, entities)} {SAME_AS} {_iri(other, k, entities)} ."
            for k in entities
        ]
        (folder / f"labels_{language}.ttl").write_text("\n".join(labels) + "\n", encoding="utf-8")
        (folder / f"mappingbased_objects_{language}.ttl").write_text(
            "\n".join(facts) + "\n", encoding="utf-8"
        )
        (folder / f"interlanguage_links_{language}.ttl").write_text(
            "\n".join(links) + "\n", encoding="utf-8"
        )
    return folder


@pytest.fixture(scope="session")
def dumps_writer():
    """`write_tiny_dumps`, for a test that builds (or rebuilds) its own dataset: a test's own
    `from conftest import ...` takes whichever conftest module was imported last."""
    return write_tiny_dumps


@pytest.fixture(scope="session")
def tiny_dataset_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny_kb")
    output = root / "dataset"
    build_dataset(write_tiny_dumps(root / "dumps"), output, ["en", "de"])
    return output


@pytest.fixture(scope="session")
def long_label_dataset_dir(tmp_path_factory) -> Path:
    """The tiny KB built with `LONG_LABEL_ENTITIES` (no length filter): its long label is an
    English candidate, and its facts and links are training facts of over 600 tokens."""
    root = tmp_path_factory.mktemp("long_label_kb")
    output = root / "dataset"
    build_dataset(write_tiny_dumps(root / "dumps", LONG_LABEL_ENTITIES), output, ["en", "de"])
    return output
