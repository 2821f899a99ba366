"""A language with capitals in its code (`pt-BR`, as a dataset config names it) is one
language in a release folder: the model's token is keyed `pt-br`, and `candidates.json`
used that spelling while `relations.json` kept `pt-BR`. The pipeline's `relations` then had
no entry for one of its own `languages`, and the Space's unknown-relation message for
pt-BR listed no known relation ("Known: .")."""

from __future__ import annotations

import copy
import json
import sys
import warnings
from pathlib import Path

import pytest
from space_server import SPACE_DIR
from tiny_models import make_tiny_model
from transformers import pipeline

from modeling_prixlm.formatting import add_prixlm_tokens
from prixlm.release.folder import checked_relations, complete_release_folder

sys.path.insert(0, str(SPACE_DIR))
import app  # noqa: E402
import languages  # noqa: E402

#: As a dataset build names them: the config `pt-BR`.
CANDIDATES = {"en": ["Brazil", "real"], "pt-BR": ["Brasil", "real", "Lisboa"]}
RELATIONS = {"en": ["capital", "currency"], "pt-BR": ["capital", "moeda"]}
#: Languages asked in several spellings (`sw`: none stored).
SPELLINGS = ["pt-BR", "pt-br", "PT_BR", "EN", "sw"]


@pytest.fixture(scope="module")
def pt_br_folder(tiny_tokenizer, tmp_path_factory) -> Path:
    """A tiny model with a `[pt-BR]` token (its config keys it `pt-br`), saved and completed
    with the candidates and relations as a dataset spells them."""
    tokenizer = copy.deepcopy(tiny_tokenizer)
    add_prixlm_tokens(tokenizer, ["pt-BR"])
    model = make_tiny_model(tokenizer)
    assert "pt-br" in model.config.language_token_ids  # the model's spelling
    folder = tmp_path_factory.mktemp("pt_br") / "model"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        complete_release_folder(folder, CANDIDATES, relations=RELATIONS)
    return folder


def _stored(folder: Path, name: str) -> dict:
    return json.loads((folder / name).read_text(encoding="utf-8"))


def test_relations_json_names_a_language_as_candidates_json(pt_br_folder):
    candidates = _stored(pt_br_folder, "candidates.json")
    relations = _stored(pt_br_folder, "relations.json")
    assert sorted(candidates) == sorted(relations) == ["en", "pt-br"]
    assert relations == {"en": ["capital", "currency"], "pt-br": ["capital", "moeda"]}
    pipe = pipeline(model=str(pt_br_folder), trust_remote_code=True)
    assert pipe.languages == ["en", "pt-br"]
    assert {language: pipe.relations[language] for language in pipe.languages} == relations


def test_relations_keep_a_language_the_model_has_no_token_for_and_refuse_two_spellings():
    languages = ["en", "pt-br"]
    assert checked_relations({"pt-BR": ["moeda", "capital"], "sw": ["mji mkuu"]}, languages) == {
        "pt-br": ["capital", "moeda"],
        "sw": ["mji mkuu"],
    }
    with pytest.raises(ValueError, match=r"relations: language 'pt-br' given twice"):
        checked_relations({"pt-BR": ["moeda"], "pt-br": ["capital"]}, languages)


@pytest.fixture()
def space_over_old_relations(pt_br_folder, tmp_path):
    """The Space over a copy of the folder whose `relations.json` keys pt-BR as the dataset
    spells it (a folder released before both files were keyed alike)."""
    folder = tmp_path / "model"
    folder.mkdir()
    for path in pt_br_folder.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "relations.json").write_text(json.dumps(RELATIONS), encoding="utf-8")
    space = app.PrixLMSpace(str(folder), num_beams=5)
    yield space
    space.close()


@pytest.mark.parametrize("asked", ["pt-BR", "pt-br", "PT_BR"])
def test_the_spaces_unknown_relation_message_lists_the_languages_relations(
    space_over_old_relations, asked
):
    space = space_over_old_relations
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the pipeline's own warning, in the log
        message = space.complete("Brasil", "idioma", asked, 3)[0]
    assert message.endswith(
        "⚠️ *idioma* is not a relation this model was trained on in pt-br: the answers are "
        "a guess. Known: capital, moeda."
    )


def test_model_code_without_the_lookup_function_reads_the_same_relations(
    space_over_old_relations, monkeypatch
):
    """A Hub model's older code has no `_for_language`; the Space applies the same rule."""
    pipe = space_over_old_relations.pipe
    module = sys.modules[type(pipe).__module__]
    expected = {
        "pt-BR": ["capital", "moeda"],
        "pt-br": ["capital", "moeda"],
        "PT_BR": ["capital", "moeda"],
        "EN": ["capital", "currency"],
        "sw": [],
    }
    assert {code: languages.stored_relations(pipe, code) for code in SPELLINGS} == expected
    monkeypatch.delattr(module, "_for_language")
    assert {code: languages.stored_relations(pipe, code) for code in SPELLINGS} == expected
