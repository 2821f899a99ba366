"""CLDR labels are exported as the dataset build stores them (`clean_label`: zero-width
characters dropped, white space collapsed), so the uniqueness rule holds for the texts the
dataset and the model hold. In km, Georgia (territory GE) and Georgian (language ka) differ
by a U+200B only: the build made them one label for two entities."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from babel import Locale

from prixlm.data.cldr.cldr_facts import Entity
from prixlm.data.cldr.cldr_labels import clash_key, locale_names
from prixlm.data.cldr.export import all_locales, build_locale_kb, export_cldr_kb
from prixlm.data.dbpedia.arrow_values import ZERO_WIDTH, clean_label
from prixlm.data.dbpedia.build import build_dataset
from prixlm.data.loading import load_kb
from prixlm.link_prediction.candidate_files import dataset_candidates

GEORGIA, GEORGIAN = Entity("territory", "GE"), Entity("language", "ka")


def test_every_locale_exports_labels_the_build_keeps_as_they_are_and_unique() -> None:
    changed: dict[str, int] = {}
    clashing: dict[str, list[str]] = {}
    checked = set()
    for locale_id in all_locales():
        kb = build_locale_kb(locale_id)
        checked.add(locale_id)
        labels = list(kb.labels.values())
        if count := sum(clean_label(label) != label for label in labels):
            changed[locale_id] = count
        keys = Counter(clash_key(clean_label(label)) for label in labels)
        if twins := sorted(key for key, n in keys.items() if n > 1):
            clashing[locale_id] = twins
    assert {"km", "lo"} <= checked  # their CLDR names hold U+200B
    assert changed == {}
    assert clashing == {}


def test_names_drop_the_zero_width_characters_the_build_drops() -> None:
    names = locale_names(Locale.parse("km"), [GEORGIA, GEORGIAN])
    assert names[GEORGIA] == names[GEORGIAN] == "ហ្សកហ្ស៊ី"
    assert not any(char in ZERO_WIDTH for name in names.values() for char in name)


def test_km_build_keeps_georgia_and_georgian_apart(tmp_path: Path) -> None:
    kb = build_locale_kb("km")
    assert kb.labels[GEORGIA] == "ហ្សកហ្ស៊ី"
    assert kb.labels[GEORGIAN] == "ហ្សកហ្ស៊ី (ka)"  # km has no word table: the code
    export_cldr_kb(["km", "en"], tmp_path / "dumps", progress=False)
    build_dataset(tmp_path / "dumps", tmp_path / "kb", ["km", "en"], progress=False)
    label_of: dict[str, set[str]] = {}
    for rows in load_kb(tmp_path / "kb", "km").values():
        for row in rows.to_list():
            for side in ("subject", "object"):
                label_of.setdefault(row[f"{side}_id"], set()).add(row[side])
    assert label_of[kb.iris[GEORGIA]] == {"ហ្សកហ្ស៊ី"}
    assert label_of[kb.iris[GEORGIAN]] == {"ហ្សកហ្ស៊ី (ka)"}
    assert all(len(labels) == 1 for labels in label_of.values())
    assert len(set().union(*label_of.values())) == len(label_of) == len(kb.labels)
    assert len(dataset_candidates(tmp_path / "kb", ["km"])["km"]) == len(kb.labels) == 1456
