"""Issue 11: the release folder used as a Hub user would, offline, with this package unimportable.

One fresh subprocess (HF_HUB_OFFLINE=1, cwd outside the repository, `prixlm` and
`modeling_prixlm` blocked) runs the folder's custom pipeline (with and without a task name)
and its `handler.py` (loaded as Inference Endpoints load it: the file alone), and must
return the ranked objects and scores of `predict_objects` in this process.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import pytest
from fresh_process import run_fresh
from release_kb import CANDIDATES, RELATIONS

from modeling_prixlm.beam_search import predict_objects
from prixlm.release.folder import widget_examples

TOP_K, BEAMS = 4, 3
#: (pipeline input, the query and candidate language `predict_objects` gets)
QUERIES = [
    ("Germany | currency", ("Germany", "currency"), "en"),
    ({"subject": "Japan", "relation": "currency"}, ("Japan", "currency"), "en"),
    ("Deutschland | Währung | de", ("Deutschland", "Währung"), "de"),
    (
        {"subject": "Germany", "language": "en", "target_language": "de"},
        ("Germany", "en", "de"),
        "de",
    ),
]
BAD_INPUTS = {
    "no_separator": "Germany currency",
    "unknown_language": "Germany | currency | xx",
    "unknown_link_language": {"subject": "Germany", "language": "en", "target_language": "fr"},
    "bad_keys": {"subject": "Germany", "object": "euro"},
}

CHILD = textwrap.dedent(
    """
    import sys
    for name in ("prixlm", "modeling_prixlm", "train"):
        sys.modules[name] = None  # the package is unimportable: only the folder's code serves
    import importlib.util, json
    from transformers import pipeline
    folder, request = sys.argv[1], json.loads(sys.argv[2])
    out = {}
    try:
        import prixlm  # noqa: F401
        out["prixlm_importable"] = True
    except ImportError:
        out["prixlm_importable"] = False
    params = request["parameters"]
    pipe = pipeline(model=folder, trust_remote_code=True)  # no task name
    named = pipeline("prixlm-link-prediction", model=folder, trust_remote_code=True)
    out["pipeline_class"] = type(pipe).__name__
    out["pipeline"] = [pipe(query, **params) for query in request["queries"]]
    out["named_pipeline"] = named(request["queries"][0], **params)
    spec = importlib.util.spec_from_file_location("handler", folder + "/handler.py")
    handler_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(handler_module)  # as Inference Endpoints do: the file alone
    handler = handler_module.EndpointHandler(folder)
    out["handler"] = [handler({"inputs": q, "parameters": params}) for q in request["queries"]]
    out["handler_batch"] = handler({"inputs": request["queries"], "parameters": params})
    import warnings
    with warnings.catch_warnings(record=True) as known:
        warnings.simplefilter("always")
        out["widget_pipeline"] = [pipe(w["text"], **params) for w in request["widgets"]]
        pipe("Japan |  official   language", **params)  # read as the model reads it: known
    out["known_relation_warnings"] = [str(w.message) for w in known]
    out["relations"], out["languages"] = pipe.relations, pipe.languages
    import logging

    logged = []
    keep = logging.Handler()
    keep.emit = lambda record: logged.append(record.getMessage())
    logging.getLogger(handler_module.__name__).addHandler(keep)
    with warnings.catch_warnings(record=True) as unknown:
        warnings.simplefilter("always")
        out["unknown_relation"] = pipe("Japan | favourite food", **params)
    out["unknown_relation_warnings"] = [str(w.message) for w in unknown]
    for _ in range(2):  # every request logs its warning (Python's default: the first only)
        handler({"inputs": "Japan | Currency", "parameters": params})
    out["handler_logged"] = logged
    for name, call in (("str_candidates", lambda: pipeline(model=folder, trust_remote_code=True, candidates={"en": "Euro"})),
                       ("list_language", lambda: pipe("Japan | currency", language=["de"])),
                       ("empty_language", lambda: pipe("Japan | currency", language=""))):
        try:
            call()
            out[name] = None
        except (ValueError, TypeError) as error:
            out[name] = f"{type(error).__name__}: {error}"
    out["widget_handler"] = [handler({"inputs": w["text"]}) for w in request["widgets"]]
    out["errors"] = {}
    for name, bad in request["bad"].items():
        for via, run in (("pipeline", lambda: pipe(bad)), ("handler", lambda: handler({"inputs": bad}))):
            try:
                run()
                out["errors"][f"{name}/{via}"] = None
            except (ValueError, TypeError) as error:
                out["errors"][f"{name}/{via}"] = f"{type(error).__name__}: {error}"
    try:
        handler({"inputs": "Germany | currency", "parameters": {"beams": 3}})
    except ValueError as error:
        out["errors"]["bad_parameter/handler"] = str(error)
    print("RESULT " + json.dumps(out))
    """
)


def _expected(model, tokenizer, query, language, num_beams=BEAMS, top_k=TOP_K):
    ranked = predict_objects(model, tokenizer, [query], CANDIDATES[language], num_beams=num_beams)
    return [
        (label, score) for label, score in zip(ranked[0].labels, ranked[0].scores, strict=True)
    ][:top_k]


def _pairs(answer):
    return [(item["object"], item["score"]) for item in answer]


def _assert_same(answer, expected):
    assert [label for label, _ in _pairs(answer)] == [label for label, _ in expected]
    assert [score for _, score in _pairs(answer)] == pytest.approx(
        [score for _, score in expected], abs=1e-4
    )


@pytest.fixture(scope="module")
def child(released, tmp_path_factory):
    """The subprocess's answers (JSON) for QUERIES, the widget examples and BAD_INPUTS."""
    model, tokenizer, folder = released
    rows = [
        {"kind": "triple", "subject": s, "relation": r, "subject_language": "en"}
        for s, r in (("Germany", "currency"), ("France", "official language"))
    ]
    widgets = widget_examples(rows, sorted(CANDIDATES), limit=2)
    request = {
        "queries": [query for query, _, _ in QUERIES],
        "parameters": {"top_k": TOP_K, "num_beams": BEAMS},
        "widgets": widgets,
        "bad": BAD_INPUTS,
    }
    workdir = tmp_path_factory.mktemp("elsewhere")
    done = run_fresh(CHILD, folder, json.dumps(request), cwd=workdir, OMP_NUM_THREADS="1")
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :]), widgets


def test_release_folder_is_self_contained(released):
    _, _, folder = released
    names = {p.name for p in Path(folder).iterdir()}
    assert {"pipeline_prixlm.py", "handler.py", "beam_search.py", "decoding_steps.py",
            "constrained_decoding.py", "formatting.py", "candidates.json"} <= names  # fmt: skip
    config = json.loads((folder / "config.json").read_text())
    assert config["custom_pipelines"]["prixlm-link-prediction"]["impl"] == (
        "pipeline_prixlm.PrixLMLinkPrediction"
    )
    assert json.loads((folder / "candidates.json").read_text()) == CANDIDATES
    umask = os.umask(0)
    os.umask(umask)
    for name in ("model.safetensors", "config.json", "candidates.json"):  # not 0600
        assert (folder / name).stat().st_mode & 0o777 == 0o666 & ~umask, name
    generation = json.loads((folder / "generation_config.json").read_text())
    assert generation["eos_token_id"] == config["end_of_object_token_id"]
    tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text())
    budget = config["max_position_embeddings"] - config["pad_token_id"] - 1
    assert tokenizer_config["model_max_length"] == budget


def test_pipeline_and_handler_answer_as_predict_objects(released, child):
    model, tokenizer, _ = released
    out, _ = child
    assert out["prixlm_importable"] is False
    assert out["pipeline_class"] == "PrixLMLinkPrediction"
    expected = [_expected(model, tokenizer, query, lang) for _, query, lang in QUERIES]
    assert all(len(e) == TOP_K for e in expected[:2])  # enough completions to compare
    for answer, single, want in zip(out["pipeline"], out["handler"], expected, strict=True):
        _assert_same(answer, want)
        _assert_same(single, want)
    for answer, want in zip(out["handler_batch"], expected, strict=True):
        _assert_same(answer, want)
    _assert_same(out["named_pipeline"], expected[0])
    # labels are the stored candidates: clean, no special tokens
    labels = {label for answer in out["pipeline"] for label, _ in _pairs(answer)}
    assert labels <= set(CANDIDATES["en"]) | set(CANDIDATES["de"])


def test_widget_examples_run_through_pipeline_and_handler(released, child):
    model, tokenizer, _ = released
    out, widgets = child
    assert widgets == [{"text": "Germany | currency"}, {"text": "France | official language"}]
    for widget, answer, handled in zip(
        widgets, out["widget_pipeline"], out["widget_handler"], strict=True
    ):
        subject, relation = (part.strip() for part in widget["text"].split("|"))
        _assert_same(answer, _expected(model, tokenizer, (subject, relation), "en"))
        # the handler without parameters: the pipeline's defaults (top 5, K=50)
        _assert_same(
            handled,
            _expected(model, tokenizer, (subject, relation), "en", num_beams=50, top_k=5),
        )


def test_bad_inputs_give_clear_errors_offline(released, child):
    errors = child[0]["errors"]
    folder = str(released[2])
    for via in ("pipeline", "handler"):
        assert "expected 'subject | relation'" in errors[f"no_separator/{via}"]
        assert "'Germany currency'" in errors[f"no_separator/{via}"]
        assert "language 'xx'" in errors[f"unknown_language/{via}"]
        assert "stored: de, en" in errors[f"unknown_language/{via}"]
        assert "language 'fr'" in errors[f"unknown_link_language/{via}"]
        assert "a triple query has the keys" in errors[f"bad_keys/{via}"]
    # candidates= is a construction argument: the pipeline's message says so, with its folder
    for name in ("unknown_language", "unknown_link_language"):
        python = errors[f"{name}/pipeline"]
        assert "trust_remote_code=True, candidates={" in python
        assert f"candidates.json of {folder!r})" in python
        # an endpoint's caller builds no pipeline and is not shown the server's paths
        served = errors[f"{name}/handler"]
        call = "pipeline(model=..., trust_remote_code=True, candidates={language: [labels]})"
        expected = python.replace(folder, Path(folder).name)
        for advice in ("build the pipeline with them: ", "those of its languages go as "):
            expected = expected.replace(advice + call, "ask in one of the stored languages")
        assert served == expected
        assert f"candidates.json of {Path(folder).name!r})" in served
        assert str(Path(folder).parent) not in served and "pipeline(" not in served
    assert "unknown parameters ['beams']" in errors["bad_parameter/handler"]


def test_release_lists_its_relations_and_warns_on_an_unknown_one(released, child):
    """`relations.json` lists each language's relations; a query with another relation is
    answered with a warning that names it and lists the known ones (pipeline and handler)."""
    _, _, folder = released
    out, _ = child
    assert json.loads((folder / "relations.json").read_text(encoding="utf-8")) == RELATIONS
    assert out["relations"] == RELATIONS and out["languages"] == ["de", "en"]
    assert out["known_relation_warnings"] == []
    assert len(out["unknown_relation"]) == TOP_K  # still answered: a guess
    (food,) = out["unknown_relation_warnings"]
    assert "relation 'favourite food' is not one of the 2 relations of language 'en'" in food
    assert food.endswith("Known relations (relations.json): currency, official language")
    case, again = out["handler_logged"]  # logged for each request, not only the first
    assert "relation 'Currency'" in case and "did you mean 'currency'?" in case and case == again
    # a string where a list of labels goes was split into one candidate per character;
    # a language that is no code fell back to the default or was a bare TypeError
    assert (
        out["str_candidates"]
        == "TypeError: candidates['en'] must be a list of labels, not one string"
    )
    assert out["list_language"] == "ValueError: language=['de']: a language code such as 'de'"
    assert out["empty_language"] == "ValueError: language='': a language code such as 'de'"


def test_a_loaded_release_saved_again_keeps_its_pipeline_or_does_not_declare_it(
    released, tmp_path, monkeypatch
):
    """Load, fine-tune, `save_pretrained`: the folder declared the pipeline in its config
    but held only the modeling files, and `pipeline(...)` failed on it."""

    from transformers import AutoModelForCausalLM

    _, tokenizer, folder = released
    model = AutoModelForCausalLM.from_pretrained(str(folder), trust_remote_code=True)
    model.save_pretrained(tmp_path / "again")
    tokenizer.save_pretrained(tmp_path / "again")
    saved = {p.name for p in (tmp_path / "again").iterdir()}
    assert {"pipeline_prixlm.py", "pipeline_queries.py", "beam_search.py", "handler.py"} <= saved
    config = json.loads((tmp_path / "again" / "config.json").read_text())
    assert config["custom_pipelines"] == model.config.custom_pipelines
    from transformers import pipeline

    candidates = {"en": ["euro", "yen"]}  # replaces the carried candidates.json's en
    pipe = pipeline(model=str(tmp_path / "again"), trust_remote_code=True, candidates=candidates)
    assert [a["object"] for a in pipe("Germany | currency", top_k=2, num_beams=4)] in (
        ["euro", "yen"],
        ["yen", "euro"],
    )
    # where no folder holds the pipeline's code: saved without declaring it
    module = sys.modules[type(model).__module__]
    monkeypatch.setattr(module, "carry_hub_code", lambda *args: False)
    model.save_pretrained(tmp_path / "bare")
    assert "custom_pipelines" not in json.loads((tmp_path / "bare" / "config.json").read_text())
    assert model.config.custom_pipelines  # the loaded model's config is left as it was
