"""A tiny two-language KB in the DBpedia dump layout (labels, objects, links), for Table 1 tests."""

from __future__ import annotations

from pathlib import Path

LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
SAME = "<http://www.w3.org/2002/07/owl#sameAs>"
DBO = "http://dbpedia.org/ontology/"
BASE = {"en": "http://dbpedia.org/resource/", "de": "http://de.dbpedia.org/resource/"}
NAME = {"en": "thing {}", "de": "Ding {}"}


def tiny_facts(entities: int = 30) -> list[tuple[int, str, int]]:
    """Three relations with a regular structure over `entities` numbered entities."""
    facts = []
    for i in range(entities):
        for relation, j in (("next", (i + 1) % entities), ("jump", (i * 7 + 3) % entities),
                            ("pair", (i * 3 + 1) % entities)):  # fmt: skip
            if i != j:
                facts.append((i, relation, j))
    return facts


def write_tiny_dumps(folder: Path, entities: int = 30) -> Path:
    """labels_/mappingbased_objects_/interlanguage_links_{en,de}.ttl under `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for language, base in BASE.items():
        labels = [
            f'<{base}E{i}> {LABEL} "{NAME[language].format(i)}"@{language} .'
            for i in range(entities)
        ]
        facts = [f"<{base}E{s}> <{DBO}{r}> <{base}E{o}> ." for s, r, o in tiny_facts(entities)]
        other = BASE["de" if language == "en" else "en"]
        links = [f"<{base}E{i}> {SAME} <{other}E{i}> ." for i in range(entities)]
        for name, lines in (("labels", labels), ("mappingbased_objects", facts),
                            ("interlanguage_links", links)):  # fmt: skip
            (folder / f"{name}_{language}.ttl").write_text("\n".join(lines) + "\n", "utf-8")
    return folder


# A block of docs/results.md that Table 1's docs writer must keep as it is.
TABLE1_DOCS_KEPT = "<!-- completion:start -->\nkept: precision table\n<!-- completion:end -->\n"
