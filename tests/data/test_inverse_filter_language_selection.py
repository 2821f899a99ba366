"""The inverse-relation filter finds its inverse pairs over every built language's training
triples together, so the languages built with a language can change its validation and
test rows (never its training rows), as the README, the dataset card and `splits` say."""

from __future__ import annotations

from pathlib import Path

from dbpedia_dumps import DBO, DE, EN, LABEL, SAME

from prixlm.data.dbpedia.build import build_dataset
from prixlm.data.dbpedia.schema import SPLITS

PAIRS = [(f"E{i}", f"F{i}") for i in range(40)]  # capital / capitalOf mirrored in both
EXTRA = [(f"G{i}", f"H{i}") for i in range(400)]  # English capital facts, none mirrored


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def _dumps(folder: Path) -> Path:
    """English and German dumps, linked, whose `capital` and `capitalOf` mirror each other
    in full, and English's 400 more `capital` facts that nothing mirrors."""
    folder.mkdir()
    names = sorted({name for pair in PAIRS for name in pair})
    for language, base, other in (("en", EN, DE), ("de", DE, EN)):
        suffix = "" if language == "en" else "_de"
        labels = [f'<{base}{name}> {LABEL} "{name}{suffix}"@{language} .' for name in names]
        facts = [f"<{base}{s}> <{DBO}capital> <{base}{o}> ." for s, o in PAIRS]
        facts += [f"<{base}{o}> <{DBO}capitalOf> <{base}{s}> ." for s, o in PAIRS]
        if language == "en":
            labels += [f'<{EN}{name}> {LABEL} "{name}"@en .' for pair in EXTRA for name in pair]
            facts += [f"<{EN}{s}> <{DBO}capital> <{EN}{o}> ." for s, o in EXTRA]
        _write(folder / f"labels_{language}.ttl", labels)
        _write(folder / f"mappingbased_objects_{language}.ttl", facts)
        links = [f"<{base}{name}> {SAME} <{other}{name}> ." for name in names]
        _write(folder / f"interlanguage_links_{language}.ttl", links)
    return folder


def _mirrored(build, language: str, split: str) -> list[tuple[str, str, str]]:
    """The `split` rows of `language` whose reverse is a training row of `language`."""
    train = {(r.subject, r.relation, r.object) for r in build.triples[language]["train"]}
    rows = [(r.subject, r.relation, r.object) for r in build.triples[language][split]]
    return [row for row in rows if any((row[2], r, row[0]) in train for r in ("capital", "capital of"))]  # fmt: skip


def test_adding_a_language_can_keep_test_rows_that_a_build_without_it_removes(
    tmp_path: Path,
) -> None:
    """German alone: `capital` and `capitalOf` are inverses, the mirrored test rows go.
    With English's unmirrored `capital` facts pooled in, `capitalOf` covers under 0.1 of
    `capital`: the pair is gone, and German keeps test rows whose reverse it trains on."""
    dumps = _dumps(tmp_path / "dumps")
    alone, _ = build_dataset(dumps, None, ["de"])
    both, _ = build_dataset(dumps, None, ["en", "de"])
    capital, capital_of = f"{DBO}capital", f"{DBO}capitalOf"
    assert alone.inverse_relations == {capital: [capital_of], capital_of: [capital]}
    assert both.inverse_relations == {capital_of: [capital]}
    assert alone.triples["de"]["train"] == both.triples["de"]["train"]  # training rows stay
    assert [alone.stats["de"].splits[s] for s in SPLITS] == [64, 0, 0]
    assert [both.stats["de"].splits[s] for s in SPLITS] == [64, 0, 3]
    assert _mirrored(alone, "de", "test") == []
    mirrored = _mirrored(both, "de", "test")
    assert len(mirrored) == 3 and {row[1] for row in mirrored} == {"capital"}


def test_the_texts_that_claim_a_stable_split_state_the_inverse_filter_exception() -> None:
    """The README and the dataset card said a language's split is the same whichever
    languages are built, and `splits` that the filter "can only remove" rows more."""
    repo = Path(__file__).resolve().parents[2]
    texts = {
        name: " ".join((repo / name).read_text(encoding="utf-8").split())
        for name in (
            "README.md",
            "dataset_builders/prixlm_dbpedia/dataset_card.md",
            "prixlm/data/dbpedia/splits.py",
        )
    }
    for name, text in texts.items():
        assert "make or unmake a pair" in text, name
        assert "can only remove" not in text, name
    assert "with two exceptions: entities whose links name no English IRI, and the inverse filter below" in texts["README.md"]  # fmt: skip
