"""Multi-token probing ranks answers that tokenise alike as one (as link prediction does):
answers in a script the tokenizer never saw are all `<unk>`, so 4 Russian probes with 4
different answers had 1 candidate and scored accuracy 1.0, silently, and that 1.0 went into
the average over languages."""

from __future__ import annotations

import json
import warnings
from types import SimpleNamespace

import pytest

from prixlm.similarity.probing import main, multi_token_accuracy
from prixlm.similarity.probing_data import Probe, ProbeSet, Template

TEMPLATE = "The currency of [X] is [Y] ."
#: subject -> answer: four different answers the tiny tokenizer writes as `['▁', '<unk>']`
RUSSIAN = {"Россия": "рубль", "Украина": "гривна", "Польша": "злотый", "Чехия": "крона"}
ENGLISH = {"Germany": "euro", "Japan": "Japanese yen", "Liechtenstein": "Swiss franc"}


def _lines(records: list[dict]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def test_answers_merged_through_unk_are_warned_and_counted(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    probes = [Probe(subject, answer, "currency", "ru") for subject, answer in RUSSIAN.items()]
    probe_set = ProbeSet("ru", {"currency": Template("currency", TEMPLATE)}, {"currency": probes})
    with pytest.warns(UserWarning, match="tokenise like another through <unk>"):
        result = multi_token_accuracy(model, tokenizer, probe_set)
    relation = result["per_relation"]["currency"]
    assert (relation["num_candidates"], relation["merged_candidates"]) == (1, 3)
    assert result["merged_candidates"] == 3


def test_a_language_the_model_has_no_token_for_is_left_out_of_the_average(
    tmp_path, tiny_prixlm, capsys
):
    """The CLI's default `--languages` is every folder: a ru folder beside en made the
    tiny en/de/fr/ja model's multi-token average (en + 1.0) / 2."""
    model, tokenizer = tiny_prixlm
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    template = _lines([{"relation": "currency", "template": TEMPLATE}])
    files = {"en": ENGLISH, "ru": RUSSIAN}
    for language, answers in files.items():
        folder = tmp_path / "probes" / language
        folder.mkdir(parents=True)
        (folder / "templates.jsonl").write_text(template, "utf-8")
        rows = [{"sub_label": s, "obj_label": o} for s, o in answers.items()]
        (folder / "currency.jsonl").write_text(_lines(rows), "utf-8")
    output = tmp_path / "probing.json"
    with pytest.warns(UserWarning) as caught:
        argv = ["--model", str(tmp_path / "model"), "--probes", str(tmp_path / "probes")]
        assert main([*argv, "--output", str(output)]) == 0
    messages = [str(w.message) for w in caught]
    assert any(
        m.startswith("probing languages ru: the model has no language token") for m in messages
    )
    multi = json.loads(output.read_text("utf-8"))["multi_token"]
    english, russian = multi["per_language"]["en"], multi["per_language"]["ru"]
    assert (russian["accuracy"], russian["merged_candidates"]) == (1.0, 3)  # shown, marked
    assert (english["model_language"], russian["model_language"]) == (True, False)
    assert english["merged_candidates"] == 0
    assert multi["not_averaged"] == ["ru"]
    assert multi["average"] == english["accuracy"]
    assert multi["average_mrr"] == english["mrr"]
    assert multi["average_chance"] == english["chance_accuracy"]
    assert multi["average_chance"] == pytest.approx(1 / 3)


def _probes_folder(root, language: str, answers: dict[str, str]) -> None:
    folder = root / language
    folder.mkdir(parents=True)
    (folder / "templates.jsonl").write_text(
        _lines([{"relation": "currency", "template": TEMPLATE}]), "utf-8"
    )
    rows = [{"sub_label": s, "obj_label": o} for s, o in answers.items()]
    (folder / "currency.jsonl").write_text(_lines(rows), "utf-8")


def test_a_language_spelled_otherwise_is_the_models_own(tmp_path, tiny_prixlm):
    """Probes of `EN` are the tiny model's `en` (as `language_key` spells codes everywhere
    else): averaged and marked as the model's, the same figures as `en`, no warning."""
    model, tokenizer = tiny_prixlm
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    results = {}
    for language in ("en", "EN"):
        _probes_folder(tmp_path / language, language, ENGLISH)
        output = tmp_path / f"{language}.json"
        argv = ["--model", str(tmp_path / "model"), "--probes", str(tmp_path / language)]
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no "the model has no language token" warning
            assert main([*argv, "--languages", language, "--output", str(output)]) == 0
        results[language] = json.loads(output.read_text("utf-8"))["multi_token"]
    plain, spelled = results["en"], results["EN"]
    assert spelled["per_language"]["EN"] == plain["per_language"]["en"]
    assert spelled["per_language"]["EN"]["model_language"] is True
    assert (spelled["not_averaged"], spelled["average"]) == ([], plain["average"])
    assert (spelled["average_mrr"], spelled["average_chance"]) == (
        plain["average_mrr"],
        plain["average_chance"],
    )
    assert plain["average_chance"] == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("known", "asked"), [("pt-br", "pt_BR"), ("zh_min_nan", "zh-min-nan"), ("en", "EN")]
)
def test_language_spellings_are_compared_as_the_package_spells_them(known, asked):
    from prixlm.similarity.probing_summary import languages_not_in_model

    model = SimpleNamespace(config=SimpleNamespace(language_token_ids={known: 5, "de": 6}))
    assert languages_not_in_model(model, [asked, "ru"]) == ["ru"]
