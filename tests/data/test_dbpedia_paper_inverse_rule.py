"""`--inverse_threshold 0`: the paper's rule (footnote 6), a test triple (e1, r1, e2) is
removed when (e2, r2, e1) is in training for any r2, not only for an inverse r2 of r1."""

from __future__ import annotations

from pathlib import Path

import pytest
from dbpedia_dumps import DBO, EN, documented_split

from prixlm.data.dbpedia import SplitSettings
from prixlm.data.dbpedia.build import build_dataset, main

DE = "http://de.dbpedia.org/resource/"
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
SAME = "<http://www.w3.org/2002/07/owl#sameAs>"
# (en IRI name, en label, de IRI name, de label)
ENTITIES = {"ko": ("Korean_language", "Korean", "Koreanisch", "Koreanisch")}
ENTITIES["hangul"] = ("Hangul", "Korean (script)", "Hangeul", "Hangeul")
ENTITIES["kr"] = ("South_Korea", "South Korea", "Korea", "Korea")
SEED = 62  # the draws below: `script` test, `language` train (checked in the test)
SCRIPT = ("ko", "script", "hangul")  # en and de
LANGUAGE = ("hangul", "language", "ko")  # en only: no inverse, one reversed pair
OTHER = ("kr", "officialLanguage", "ko")  # en and de (de keeps a triple)


def iri(key: str, language: str) -> str:
    names = ENTITIES[key]
    return EN + names[0] if language == "en" else DE + names[2]


def write_dumps(folder: Path) -> Path:
    """en and de dumps: SCRIPT and OTHER in both, LANGUAGE in en only, linked entities."""
    folder.mkdir()
    for language, column, facts in (
        ("en", 1, (SCRIPT, LANGUAGE, OTHER)),
        ("de", 3, (SCRIPT, OTHER)),
    ):
        other = "de" if language == "en" else "en"
        labels = [
            f'<{iri(k, language)}> {LABEL} "{names[column]}"@{language} .'
            for k, names in ENTITIES.items()
        ]
        objects = [f"<{iri(s, language)}> <{DBO}{r}> <{iri(o, language)}> ." for s, r, o in facts]
        links = [f"<{iri(k, language)}> {SAME} <{iri(k, other)}> ." for k in ENTITIES]
        for name, lines in (("labels", labels), ("mappingbased_objects", objects)):
            (folder / f"{name}_{language}.ttl").write_text("\n".join(lines) + "\n")
        (folder / f"interlanguage_links_{language}.ttl").write_text("\n".join(links) + "\n")
    return folder


def settings(protocol: str, threshold: float | None = None) -> SplitSettings:
    fractions = {"test_fraction": 0.3, "validation_fraction": 0.1, "seed": SEED}
    if threshold is not None:
        fractions["inverse_threshold"] = threshold
    return SplitSettings(protocol=protocol, **fractions)


def facts(rows, language: str, split: str) -> set[tuple[str, str, str]]:
    return {(r.subject_id, r.relation_id, r.object_id) for r in rows.triples[language][split]}


def fact(triple: tuple[str, str, str], language: str) -> tuple[str, str, str]:
    s, r, o = triple
    return iri(s, language), DBO + r, iri(o, language)


@pytest.mark.parametrize("protocol", ["fact", "language"])
def test_threshold_zero_removes_a_test_triple_reversed_in_train_under_any_relation(
    tmp_path: Path, protocol: str
) -> None:
    dumps = write_dumps(tmp_path / "dumps")
    default = settings(protocol)
    reverse = fact(LANGUAGE, "en")
    for triple, split in ((fact(SCRIPT, "en"), "test"), (reverse, "train")):  # draws assumed
        key = triple if protocol == "fact" else ("en", *triple)  # fact: en IRIs are the ids
        assert documented_split(key, default) == split
    kept, _ = build_dataset(dumps, tmp_path / "default", settings=default)
    assert kept.inverse_relations == {}  # `language` is no inverse of `script`
    assert fact(SCRIPT, "en") in facts(kept, "en", "test")  # default: kept
    assert reverse in facts(kept, "en", "train")
    assert kept.stats["en"].removed_inverse == 0
    card = (tmp_path / "default" / "README.md").read_text()
    assert "removes every such triple whatever `r2`; `--inverse_threshold 0` does that" in card
    assert "Inverse pairs found" in card

    paper, _ = build_dataset(dumps, tmp_path / "paper", settings=settings(protocol, 0))
    assert fact(SCRIPT, "en") not in facts(paper, "en", "test")  # the paper's rule: removed
    assert facts(paper, "en", "train") == facts(kept, "en", "train")
    assert paper.stats["en"].removed_inverse == 1  # counted where the card counts the filter
    assert paper.stats["en"].triples == kept.stats["en"].triples - 1
    # `fact`: the entities are the linked ones, so the de copy of the fact goes too (its
    # reversed pair is in en's train only); `language`: de's IRIs are other keys
    removed_de = 1 if protocol == "fact" else 0
    assert paper.stats["de"].removed_inverse == removed_de
    if protocol == "language":  # de's own draw, unchanged
        assert facts(paper, "de", "test") == facts(kept, "de", "test")
    card = (tmp_path / "paper" / "README.md").read_text()
    assert "the paper's rule (footnote 6; `--inverse_threshold 0`)" in card
    assert "Inverse pairs found" not in card
    en = paper.stats["en"]  # the statistics table: ... test, removed (inverse), (length)
    counts = (en.triples, *en.splits.values(), 1, 0)
    assert "| " + " | ".join(map(str, counts)) + " |" in card


def test_a_negative_threshold_is_refused(tmp_path: Path, capsys) -> None:
    with pytest.raises(ValueError, match=r"inverse_threshold must be in \[0, 1\]"):
        SplitSettings(inverse_threshold=-0.1)
    with pytest.raises(ValueError, match=r"inverse_threshold must be in \[0, 1\]"):
        SplitSettings(inverse_threshold=float("nan"))
    dumps = write_dumps(tmp_path / "dumps")
    argv = ["--dump_dir", str(dumps), "--output_dir", str(tmp_path / "out")]
    assert main([*argv, "--inverse_threshold", "-0.1"]) == 2
    assert "inverse_threshold must be in [0, 1]" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
