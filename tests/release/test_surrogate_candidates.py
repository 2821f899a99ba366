"""A candidate label holding a lone surrogate (a JSON file's `"\\ud800"`, which `json` reads
as it is) is a ValueError naming the label, wherever candidates enter (`EntityTrie`, the
pipeline's `candidates=`, the release folder's `candidates.json`): the tokenizers library
failed with `TypeError: TextEncodeInput must be Union[...]`, which names no label."""

from __future__ import annotations

import json
import shutil

import pytest
from transformers import pipeline

from modeling_prixlm.candidate_checks import readable_trie
from modeling_prixlm.constrained_decoding import EntityTrie

BAD = "Eu\ud800ro"
MESSAGE = r"candidate entity 'Eu\\ud800ro' holds a lone surrogate \(U\+D800\)"


def test_the_trie_names_the_label(tiny_tokenizer) -> None:
    with pytest.raises(ValueError, match=MESSAGE):
        EntityTrie.from_labels(tiny_tokenizer, ["euro", BAD])
    with pytest.raises(ValueError, match=MESSAGE):
        readable_trie(tiny_tokenizer, ["euro", "German", BAD])
    assert readable_trie(tiny_tokenizer, ["euro", "German"])[0].labels == ["euro", "German"]


def test_the_pipeline_names_a_given_label(released) -> None:
    pipe = pipeline(
        model=str(released[2]), trust_remote_code=True, candidates={"en": ["euro", BAD]}
    )
    with pytest.raises(ValueError, match=MESSAGE):
        pipe("Germany | currency | en", top_k=2, num_beams=2)


def test_the_pipeline_names_a_label_of_the_folder_s_candidates_file(released, tmp_path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(released[2], folder)
    path = folder / "candidates.json"
    stored = json.loads(path.read_text(encoding="utf-8"))
    stored["en"] = [*stored["en"], BAD]
    path.write_text(json.dumps(stored), encoding="utf-8")  # ASCII: "\ud800" as an escape
    assert "\\ud800" in path.read_text(encoding="utf-8")
    pipe = pipeline(model=str(folder), trust_remote_code=True)
    with pytest.raises(ValueError, match=MESSAGE):
        pipe("Germany | currency | en", top_k=2, num_beams=2)


def test_evaluate_lp_names_a_label_of_its_candidates_file_before_the_model_loads(
    tiny_demo_output, tmp_path, monkeypatch, capsys
) -> None:
    """`evaluate_lp --candidates FILE`: a traceback (ValueError) after the model loaded;
    now one line naming the option, the file, the language and the label, at the start."""
    import prixlm.model_loading
    from prixlm.link_prediction import evaluate_lp

    model = tiny_demo_output / "run" / "model"
    stored = json.loads((model / "candidates.json").read_text(encoding="utf-8"))
    path = tmp_path / "candidates.json"
    path.write_text(json.dumps({**stored, "en": [*stored["en"], BAD]}), encoding="utf-8")
    loads = []
    monkeypatch.setattr(prixlm.model_loading, "load_prixlm", lambda *a, **k: loads.append(a))
    with pytest.raises(SystemExit) as exit_info:
        evaluate_lp.main([
            "--model", str(model), "--dataset", str(tiny_demo_output / "dataset"),
            "--languages", "en", "--limit", "2", "--num_beams", "2", "--device", "cpu",
            "--candidates", str(path),
        ])  # fmt: skip
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"error: --candidates {path}: 'en' lists 'Eu\\ud800ro', which holds a lone surrogate "
        "(no text): remove it"
    )
    assert loads == []
