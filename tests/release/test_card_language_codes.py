"""The cards' `language:` holds ISO 639 codes, as the Hub asks, while the configs, the data and
the cards' bodies keep the DBpedia / Wikipedia edition codes (`zh-min-nan`, `simple`, `als`)."""

from __future__ import annotations

import json

import pytest
from huggingface_hub import DatasetCard

from prixlm.data.dbpedia.card import dataset_card
from prixlm.data.dbpedia.schema import SplitSettings
from prixlm.data.dbpedia.splits import DatasetRows, LanguageStats
from prixlm.data.kg_layout.convert import ConversionStats, LanguageCounts, render_card
from prixlm.hub.languages import hub_language, hub_languages
from prixlm.release.model_card import render_model_card, write_model_card

EDITIONS = ["en", "zh-min-nan", "simple", "als"]


@pytest.mark.parametrize(
    ("code", "iso"),
    [
        ("de", "de"), ("nds", "nds"), ("no", "no"), ("yue", "yue"),  # ISO codes stay
        ("als", "gsw"),  # Alemannic; ISO 639-3 `als` is Tosk Albanian
        ("zh-min-nan", "nan"), ("bat-smg", "sgs"), ("simple", "en"), ("commons", "en"),
        ("sh", "hbs"), ("zh-yue", "yue"),  # DBpedia's label tags of these editions
        ("nds-nl", "nds"), ("be-x-old", "be"), ("be-tarask", "be"), ("zh-classical", "lzh"),
        ("roa-rup", "rup"), ("fiu-vro", "vro"), ("map-bms", "jv"), ("cbk-zam", "cbk"),
        ("roa-tara", "nap"), ("eml", "egl"), ("bh", "bho"), ("mo", "ro"), ("nrm", "nrf"),
        ("zh-hant", "zh"), ("pt-br", "pt"), ("zh_Hant", "zh"), ("sr-Latn", "sr"),  # CLDR
        ("ZH_MIN_NAN", "nan"), ("sh-latn", "hbs"),  # spelt otherwise; a mapped first subtag
    ],
)  # fmt: skip
def test_hub_language_of_an_edition_code(code, iso):
    assert hub_language(code) == iso


@pytest.mark.parametrize("code", ["wikidata", "multilingual", "x-private", "a", "123", "e2"])
def test_a_code_without_an_iso_language_has_none(code):
    assert hub_language(code) is None


def test_hub_languages_are_mapped_deduplicated_and_sorted():
    assert hub_languages(["simple", "zh-min-nan", "en", "als", "be-x-old", "be-tarask"]) == [
        "be", "en", "gsw", "nan",
    ]  # fmt: skip
    assert hub_languages(["wikidata"]) == []


def _rows(languages: list[str]) -> tuple[DatasetRows, dict[str, tuple[int, int]]]:
    """A build's statistics and one train shard per language (no rows are read)."""
    stats = {lang: LanguageStats(entities=2, triples=1) for lang in languages}
    sizes = {f"{lang}/train-00000-of-00001.parquet": (1, 100) for lang in languages}
    return DatasetRows(stats, {}, SplitSettings()), sizes


def test_dbpedia_card_names_iso_languages_and_keeps_the_edition_configs():
    rows, sizes = _rows(EDITIONS)
    card = DatasetCard(dataset_card(rows, sizes))
    assert card.data.language == ["en", "gsw", "nan"]
    configs = {config["config_name"] for config in card.data.configs}
    assert configs == {*EDITIONS, "all"}
    assert {info["config_name"] for info in card.data.dataset_info} == configs
    for edition in EDITIONS:  # the body's statistics and usage keep the edition codes
        assert f"| {edition} | 2 | 1 |" in card.text
    assert 'load_dataset("PATH_OR_REPO", "als")' in card.text
    assert card.data.multilinguality == "multilingual"


def test_a_dataset_of_languages_without_iso_code_has_no_language_field():
    rows, sizes = _rows(["wikidata"])
    card = DatasetCard(dataset_card(rows, sizes))
    assert card.data.language is None and "language:" not in str(card).split("---")[1]


def test_kg_layout_card_names_iso_languages():
    stats = ConversionStats(languages={lang: LanguageCounts() for lang in ("zh-min-nan", "en")})
    sizes = {f"{lang}/train-00000-of-00001.parquet": (1, 100) for lang in stats.languages}
    card = DatasetCard(render_card(stats, sizes))
    assert card.data.language == ["en", "nan"]
    assert {config["config_name"] for config in card.data.configs} == {"zh-min-nan", "en", "all"}
    assert "| zh-min-nan |" in card.text


def test_model_card_names_iso_languages_and_its_body_the_edition_codes(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({}))
    card = render_model_card(tmp_path, languages=["de", "zh-min-nan"], model_name="prixlm")
    assert card.data.language == ["de", "nan"]
    assert "Languages: de, zh-min-nan." in card.text


def test_model_card_from_training_languages(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({}))
    results = {"languages": ["de", "zh-min-nan"], "checkpoint_link_prediction": []}
    (tmp_path / "train_results.json").write_text(json.dumps(results))
    card = render_model_card(tmp_path, model_name="prixlm")
    assert card.data.language == ["de", "nan"]
    assert "Languages: de, zh-min-nan." in card.text


def test_a_new_rendering_keeps_the_edition_codes(tmp_path):
    """`publish` renders the card again from the folder: its body still names `zh-min-nan`
    (the card's `language:` holds `nan`, no edition code to read back)."""
    (tmp_path / "config.json").write_text(json.dumps({}))
    results = {"languages": ["de", "zh-min-nan"], "checkpoint_link_prediction": []}
    (tmp_path / "train_results.json").write_text(json.dumps(results))
    write_model_card(tmp_path, model_name="prixlm")
    card = write_model_card(tmp_path)
    assert card.data.language == ["de", "nan"]
    assert "Languages: de, zh-min-nan." in card.text


def test_a_new_rendering_of_converted_weights_keeps_the_edition_codes(tmp_path):
    """Converted weights have no training record: the config's language tokens name them."""
    config = {"language_token_ids": {"de": 5, "zh-min-nan": 6}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    write_model_card(tmp_path, languages=["de", "zh-min-nan"], model_name="prixlm")
    card = write_model_card(tmp_path)
    assert card.data.language == ["de", "nan"]
    assert "Languages: de, zh-min-nan." in card.text
