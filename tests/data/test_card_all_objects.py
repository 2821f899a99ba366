"""The dataset card says what `all_objects` holds: the true objects of a row's query over all
splits and over the facts that the inverse-relation filter removed (a reader who filters
with the split files alone ranks with fewer objects filtered)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from datasets import load_dataset

from prixlm.data.cldr.export import export_cldr_kb
from prixlm.data.dbpedia.build import build_dataset


def test_the_card_names_the_filtered_facts_that_all_objects_holds(tmp_path: Path) -> None:
    export_cldr_kb(["en"], tmp_path / "dumps")
    build_dataset(tmp_path / "dumps", tmp_path / "data", ["en"], progress=False)
    english = load_dataset(str(tmp_path / "data"), "en")
    in_splits: dict[tuple[str, str], set[str]] = defaultdict(set)
    for split in english.values():
        for row in split:
            in_splits[row["subject"], row["relation"]].add(row["object"])
    beyond = {  # objects of `all_objects` that no split file holds for the query
        (row["subject"], row["relation"], label)
        for split in english.values()
        for row in split
        for label in row["all_objects"]
        if label not in in_splits[row["subject"], row["relation"]]
    }
    assert ("France", "spoken language", "Picard") in beyond  # (Picard, main territory, France)
    card = (tmp_path / "data" / "README.md").read_text(encoding="utf-8")
    columns = " ".join(card.split("Columns:", 1)[1].split("## Statistics", 1)[0].split())
    assert "facts that the inverse-relation and length filters removed" in columns
