"""`evaluate_lp` on rows in a language the model has no token for: one `error:` line naming
the languages it lacks and the ones it has, before the weights load (no traceback after)."""

from __future__ import annotations

import pytest
from datasets import Dataset

from prixlm.link_prediction.evaluate_lp import main

LINKS = [("Germany", "Vokītėjė"), ("France", "Prancūzėjė"), ("Euro", "Euras")]


def _row(subject, subject_language, object_, object_language) -> dict:
    return {
        "kind": "link", "subject": subject, "relation": "", "object": object_,
        "subject_language": subject_language, "object_language": object_language,
        "subject_id": "", "relation_id": "", "object_id": "", "all_objects": [object_],
    }  # fmt: skip


@pytest.fixture(scope="module")
def saved(tiny_prixlm, tmp_path_factory):
    """The tiny model (de, en, fr, ja) and a dataset whose `links` config also joins en to
    `bat-smg`, and whose `de` config has only German triples."""
    model, tokenizer = tiny_prixlm
    root = tmp_path_factory.mktemp("model_languages")
    model.save_pretrained(root / "model")
    tokenizer.save_pretrained(root / "model")
    links = [_row("Germany", "en", "Deutschland", "de")]
    links += [_row(en, "en", other, "bat-smg") for en, other in LINKS]
    links += [_row(other, "bat-smg", en, "en") for en, other in LINKS]
    german = [
        {**_row("Deutschland", "de", "Euro", "de"), "kind": "triple", "relation": "Währung"},
        {**_row("Frankreich", "de", "Euro", "de"), "kind": "triple", "relation": "Währung"},
    ]
    lithuanian = [
        {**_row("Vokietija", "lt", "Euras", "lt"), "kind": "triple", "relation": "valiuta"},
        {**_row("Prancūzija", "lt", "Euras", "lt"), "kind": "triple", "relation": "valiuta"},
    ]
    card = ["---", "configs:"]
    for config, rows in (("links", links), ("de", german), ("lt", lithuanian)):
        (root / "data" / config).mkdir(parents=True)
        Dataset.from_list(rows).to_parquet(root / "data" / config / "test.parquet")
        card += [f"- config_name: {config}", "  data_files:"]
        card += ["  - split: test", f"    path: {config}/test.parquet"]
    (root / "data" / "README.md").write_text("\n".join([*card, "---", ""]), encoding="utf-8")
    return root


def _argv(root, languages: str, *extra: str) -> list[str]:
    return ["--model", str(root / "model"), "--dataset", str(root / "data"),
            "--languages", languages, "--mode", "full", *extra]  # fmt: skip


def test_a_language_the_model_lacks_is_named_before_the_weights_load(
    saved, capsys, monkeypatch
) -> None:
    def not_loaded(*args, **kwargs):
        raise AssertionError("the weights were loaded")

    monkeypatch.setattr("prixlm.model_loading.load_prixlm", not_loaded)
    with pytest.raises(SystemExit) as stopped:
        main(_argv(saved, "de,links"))
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert line.startswith("error: --languages de,links: rows in bat-smg, which --model ")
    assert f"--model {saved / 'model'} has no language token" in line
    assert "(its languages: de, en, fr, ja)" in line
    assert "Traceback" not in err


def test_rows_of_the_models_languages_are_evaluated(saved, capsys) -> None:
    report = main(_argv(saved, "de"))
    assert set(report["results"]) == {"de"}
    # `--limit 1`: only the first link row (en -> de) is evaluated, in languages it has
    report = main(_argv(saved, "links", "--limit", "1"))
    assert set(report["results"]) == {"links/de"}


def test_triples_need_no_language_token(saved) -> None:
    """A triple's prompt names no language: a language the model has no token for is
    evaluated on its triples (a Single model on another language, a converted release on a
    language outside its 81), as it was before links were checked."""
    report = main(_argv(saved, "lt"))
    assert set(report["results"]) == {"lt"}
    assert report["results"]["lt"]["num_queries"] == 2
