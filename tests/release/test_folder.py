"""`prixlm.release.folder` and the pipeline's input handling, in process (no subprocess)."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest
from tiny_models import make_tiny_model

from modeling_prixlm import handler as handler_module
from modeling_prixlm.beam_search import predict_objects
from modeling_prixlm.pipeline_prixlm import PARAMETERS, PrixLMLinkPrediction
from modeling_prixlm.pipeline_queries import default_language, parse_query
from prixlm.release.folder import (
    complete_release_folder,
    dataset_candidates,
    hub_code_files,
    widget_examples,
)

ALLOWED_TOP_LEVEL = {"torch", "transformers", "safetensors"} | set(sys.stdlib_module_names)


def test_hub_code_imports_only_torch_transformers_and_siblings():
    files = {path.stem: path for path in hub_code_files()}
    assert {"pipeline_prixlm", "handler", "beam_search", "constrained_decoding"} <= set(files)
    for name, path in files.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                tops = {alias.name.split(".")[0] for alias in node.names}
                assert tops <= ALLOWED_TOP_LEVEL, (name, tops)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                assert node.module.split(".")[0] in ALLOWED_TOP_LEVEL, (name, node.module)
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 1 and node.module in files, (name, node.module)
    # Endpoints load handler.py alone: no relative import there
    handler_tree = ast.parse(files["handler"].read_text(encoding="utf-8"))
    assert not any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(handler_tree))


def test_handler_accepts_the_pipeline_parameters_but_max_rows():
    """`max_rows` is the endpoint operator's (`PRIXLM_MAX_ROWS`), not a request's."""
    assert handler_module.PARAMETERS == tuple(p for p in PARAMETERS if p != "max_rows")


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("Germany | currency", ("Germany", "currency", None, None)),
        (" Deutschland|Währung | de ", ("Deutschland", "Währung", "de", None)),
        ({"subject": "Japan", "relation": "currency"}, ("Japan", "currency", None, None)),
        ({"subject": "Japan", "language": "en", "target_language": "ja"}, ("Japan", None, "en", "ja")),
        # a mapping's fields are stripped as the string form's (" en" found no candidates)
        ({"subject": " Japan", "relation": "currency ", "language": "en "}, ("Japan", "currency", "en", None)),
    ],
)  # fmt: skip
def test_parse_query(item, expected):
    parsed = parse_query(item)
    assert (
        parsed["subject"],
        parsed["relation"],
        parsed["language"],
        parsed["target_language"],
    ) == expected


@pytest.mark.parametrize(
    ("item", "error", "message"),
    [
        ("Germany currency", ValueError, "expected 'subject | relation'"),
        ("a | b | c | d", ValueError, "expected 'subject | relation'"),
        (" | currency", ValueError, "subject must be a non-empty string"),
        ({"subject": "Japan"}, ValueError, "a triple query has the keys"),
        ({"subject": "Japan", "target_language": "de"}, ValueError, "a link query"),
        ({"subject": "Japan", "relation": "currency", "object": "yen"}, ValueError, "keys"),
        ({"subject": 3, "relation": "currency"}, ValueError, "subject must be a non-empty string"),
        (("Japan", "currency"), TypeError, "a string or a mapping"),
    ],
)  # fmt: skip
def test_parse_query_rejects_bad_inputs(item, error, message):
    with pytest.raises(error, match=message):
        parse_query(item)


def test_default_language():
    assert default_language(["de"]) == "de"
    assert default_language(["de", "en", "ja"]) == "en"
    assert default_language(["de", "ja"]) is None


def test_widget_examples_take_languages_in_turn_and_name_non_default_ones():
    rows = [
        {"kind": "triple", "subject": "Germany", "relation": "currency", "subject_language": "en"},
        {"kind": "triple", "subject": "Germany", "relation": "currency", "subject_language": "en"},
        {"kind": "link", "subject": "Japan", "relation": "", "subject_language": "en"},
        {"kind": "triple", "subject": "A|B", "relation": "currency", "subject_language": "en"},
        {"kind": "triple", "subject": "Japan", "relation": "currency", "subject_language": "en"},
        {"kind": "triple", "subject": "Japon", "relation": "monnaie", "subject_language": "fr"},
        {"kind": "triple", "subject": "x", "relation": "y", "subject_language": "ja"},
    ]  # fmt: skip
    assert widget_examples(rows, ["en", "fr"], limit=3) == [
        {"text": "Germany | currency"},
        {"text": "Japon | monnaie | fr"},
        {"text": "Japan | currency"},
    ]
    assert widget_examples(rows, ["fr"], limit=3) == [{"text": "Japon | monnaie"}]


@pytest.fixture
def saved_folder(tiny_tokenizer, tmp_path) -> Path:
    """A folder as `save_pretrained` writes it, with a generation config ending at `</s>`
    and a tokenizer without the position budget (what Trainer.train() can leave behind)."""
    model = make_tiny_model(tiny_tokenizer)
    model.generation_config.eos_token_id = tiny_tokenizer.eos_token_id
    folder = tmp_path / "model"
    model.save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text())
    tokenizer_config["model_max_length"] = 10**30
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))
    return folder


def test_complete_release_folder_fixes_generation_and_tokenizer(saved_folder):
    config = json.loads((saved_folder / "config.json").read_text())
    assert "custom_pipelines" not in config and not (saved_folder / "pipeline_prixlm.py").exists()
    summary = complete_release_folder(saved_folder, {"en": ["euro", "yen"]})
    assert summary["candidate_languages"] == ["en"] and summary["candidates_bytes"] > 0
    assert {path.name for path in hub_code_files()} <= {p.name for p in saved_folder.iterdir()}
    config = json.loads((saved_folder / "config.json").read_text())
    assert "prixlm-link-prediction" in config["custom_pipelines"]
    generation = json.loads((saved_folder / "generation_config.json").read_text())
    assert generation["eos_token_id"] == config["end_of_object_token_id"]
    tokenizer_config = json.loads((saved_folder / "tokenizer_config.json").read_text())
    assert tokenizer_config["model_max_length"] == (
        config["max_position_embeddings"] - config["pad_token_id"] - 1
    )
    assert not list(saved_folder.glob(".*.partial"))


def test_a_tokenizer_loaded_from_a_folder_leaves_no_loader_flags_in_the_release(saved_folder):
    """transformers records `is_local` / `local_files_only` of a tokenizer loaded from a
    folder (a resumed run's, a base model's) in the `tokenizer_config.json` it saves: a
    resumed run's release differed from an uninterrupted one's, and carried them to the Hub."""
    from transformers import XLMRobertaTokenizer

    XLMRobertaTokenizer.from_pretrained(saved_folder).save_pretrained(saved_folder)
    flagged = json.loads((saved_folder / "tokenizer_config.json").read_text())
    assert flagged["is_local"] is True  # what transformers writes
    complete_release_folder(saved_folder, {"en": ["euro", "yen"]})
    tokenizer_config = json.loads((saved_folder / "tokenizer_config.json").read_text())
    assert not {"is_local", "local_files_only"} & set(tokenizer_config)
    assert {k: v for k, v in flagged.items() if k not in ("is_local", "local_files_only",
            "model_max_length")} == {k: v for k, v in tokenizer_config.items()
                                     if k != "model_max_length"}  # fmt: skip


def test_candidates_over_the_bound_are_left_out_with_a_warning(saved_folder):
    with pytest.warns(UserWarning, match=r"candidates\['de'\]: 3 labels > max_candidates"):
        summary = complete_release_folder(
            saved_folder,
            {"en": ["euro", "yen"], "de": ["Euro", "Yen", "Mark"]},
            max_candidates_per_language=2,
        )
    assert summary["candidate_languages"] == ["en"]
    assert json.loads((saved_folder / "candidates.json").read_text()) == {"en": ["euro", "yen"]}


def test_labels_no_prompt_fits_beside_are_left_out_of_the_release(saved_folder):
    """One label longer than the positions hold after the shortest prompt was written to
    `candidates.json`, and every query of its language then failed ("shorten the query to
    at most -10 tokens"). The tiny model holds 60 tokens; `Japan` is one token."""
    from transformers import pipeline

    words = lambda count: " ".join(["Japan"] * count)  # noqa: E731
    candidates = {"en": ["euro", words(50), words(70), "yen"], "de": [words(55)]}
    with pytest.warns(UserWarning) as caught:
        summary = complete_release_folder(saved_folder, candidates)
    messages = [str(w.message) for w in caught if "candidate labels" in str(w.message)]
    assert [m[: m.index(" (e.g. 'Japan Japan")] for m in messages] == [
        "candidates['en']: 2 of the 4 candidate labels are longer than the 49 tokens that "
        "the model's positions hold after the shortest prompt: left out, no query can reach "
        "them",
        "candidates['de'] (the language is left out): 1 of the 1 candidate labels are longer"
        " than the 49 tokens that the model's positions hold after the shortest prompt: left "
        "out, no query can reach them",
    ]
    assert summary["candidate_languages"] == ["en"]
    assert summary["candidates_too_long"] == {"en": 2, "de": 1}
    stored = json.loads((saved_folder / "candidates.json").read_text())
    assert stored == {"en": ["euro", "yen"]}
    answers = pipeline(model=str(saved_folder), trust_remote_code=True)("Japan | currency")
    assert sorted(answer["object"] for answer in answers) == ["euro", "yen"]
    # a model that answers no link query keeps what fits after the triple prompt (10 tokens)
    with pytest.warns(UserWarning, match=r"2 of the 5 candidate labels .* the 50 tokens"):
        complete_release_folder(saved_folder, {"en": [*candidates["en"], words(51)]}, links=False)
    stored = json.loads((saved_folder / "candidates.json").read_text())
    assert stored == {"en": ["euro", words(50), "yen"]}


def test_complete_release_folder_rejects_bad_input(saved_folder, tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json not found"):
        complete_release_folder(tmp_path / "empty")
    with pytest.raises(ValueError, match=r"candidates\['en'\]: empty list or bad label ''"):
        complete_release_folder(saved_folder, {"en": ["euro", ""]})
    (saved_folder / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json: not valid JSON"):
        complete_release_folder(saved_folder)


def test_pipeline_in_process_batches_languages_and_checks_parameters(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    candidates = {"de": ["Euro", "Yen", "Deutschland"], "fr": ["euro", "yen", "Allemagne"]}
    pipe = PrixLMLinkPrediction(model=model, tokenizer=tokenizer, candidates=candidates, device=-1)
    answers = pipe(["Deutschland | Währung | de", "Allemagne | monnaie | fr"], num_beams=2)
    for answer, (query, language) in zip(
        answers,
        [(("Deutschland", "Währung"), "de"), (("Allemagne", "monnaie"), "fr")],
        strict=True,
    ):
        ranked = predict_objects(model, tokenizer, [query], candidates[language], num_beams=2)[0]
        assert [a["object"] for a in answer] == ranked.labels[:5]
        assert [a["score"] for a in answer] == pytest.approx(ranked.scores[:5], abs=1e-5)
    with pytest.raises(ValueError, match="names no language.*de, fr"):
        pipe("Germany | currency")
    (best,) = pipe("Allemagne | monnaie", language="fr", top_k=1)
    assert best["object"] == answers[1][0]["object"]
    assert best["score"] == pytest.approx(answers[1][0]["score"], abs=1e-5)
    with pytest.raises(ValueError, match="top_k=0: expected an integer >= 1"):
        pipe("Allemagne | monnaie | fr", top_k=0)
    with pytest.raises(ValueError, match="no inputs"):
        pipe([])


def test_dataset_candidates_are_the_labels_evaluate_lp_ranks(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "experiments"))
    from tiny_kb import write_tiny_dumps

    from prixlm.data.dbpedia.build import build_dataset

    dataset = tmp_path / "dataset"
    build_dataset(write_tiny_dumps(tmp_path / "dumps", entities=6), dataset, ["en", "de"])
    candidates = dataset_candidates(dataset, ["en", "de"])
    assert candidates == {
        "en": [f"thing {i}" for i in range(6)],
        "de": [f"Ding {i}" for i in range(6)],
    }


def test_pipeline_without_candidates_says_how_to_give_them(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    pipe = PrixLMLinkPrediction(model=model, tokenizer=tokenizer, device=-1)
    with pytest.raises(ValueError, match=r"no candidate entities for language 'en' \(stored: none"):
        pipe("Germany | currency", language="en")
    with pytest.raises(
        ValueError, match=r"names no language.*cover none \(build the pipeline with candidates=\)"
    ):
        pipe("Germany | currency")


def test_a_list_with_a_query_too_long_for_the_positions_decodes_nothing(tiny_prixlm):
    """`preprocess` checks everything before decoding: a list whose last query is too long
    for the positions was refused only after the queries before it were decoded."""
    model, tokenizer = tiny_prixlm
    candidates = {"de": ["Euro", "Yen"], "en": ["euro", "yen"]}
    pipe = PrixLMLinkPrediction(model=model, tokenizer=tokenizer, candidates=candidates, device=-1)
    forwards = []
    hook = model.register_forward_hook(lambda *args: forwards.append(1))
    try:
        long_subject = " ".join(["Deutschland"] * 40)
        with pytest.raises(ValueError, match="tokens: with the shortest candidate"):
            pipe(["Germany | currency | en"] * 3 + [f"{long_subject} | Währung | de"], num_beams=2)
        assert forwards == []
        assert pipe("Germany | currency | en", num_beams=2, top_k=1)  # the list's others decode
        assert forwards
    finally:
        hook.remove()
