"""prixlm.complete: the TSV's scores keep their digits; a decomposed (NFD) label that fits the
model composed, as the model reads it, is a candidate, not left out as too long."""

from __future__ import annotations

import math
import unicodedata
from pathlib import Path

import pytest
from completion_kb import dataset_rows, write_dataset

from modeling_prixlm.decoding_steps import encode_query
from prixlm.complete import main
from prixlm.completion.knowledge import completion_queries
from prixlm.completion.loading import load_completion_kb
from prixlm.completion.output import TSV_COLUMNS, unescape_cell
from prixlm.completion.propose import fit_to_model, run_completion
from prixlm.model_loading import load_prixlm


def _tsv(path: Path) -> list[dict[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t") == list(TSV_COLUMNS)
    return [dict(zip(TSV_COLUMNS, map(unescape_cell, line.split("\t")), strict=True))
            for line in lines[1:]]  # fmt: skip


def test_low_scores_keep_six_significant_digits(completion_kb, tmp_path):
    """`:.6f` wrote every probability under 5e-7 as 0.000000."""
    dataset, model = completion_kb
    output = tmp_path / "new_facts.nt"
    proposals = main(
        [
            "--model", str(model), "--dataset", str(dataset), "--target_language", "de",
            "--output", str(output), "--num_beams", "20", "--no_progress",
            "--target_splits", "train", "--threshold", "0", "--max_per_pair", "20",
        ]
    )  # fmt: skip
    scores = [p.score for p in proposals]
    assert min(scores) < 5e-7  # the model's lower-ranked objects
    rows = _tsv(output.with_suffix(".tsv"))
    assert [float(r["score"]) for r in rows] == pytest.approx(scores, rel=1e-5, abs=0)
    assert all(r["score"] == f"{s:.6g}" for r, s in zip(rows, scores, strict=True))
    assert "0.000000" not in {r["score"] for r in rows}


def _decomposed_label(tokenizer, budget: int, longest_prompt: int) -> str:
    """A German name that fits beside the longest prompt composed, not decomposed."""
    for repeats in range(1, 30):
        composed = " ".join(["Währung"] * repeats)
        decomposed = unicodedata.normalize("NFD", composed)
        nfc, nfd = (len(tokenizer(t, add_special_tokens=False)["input_ids"])
                    for t in (composed, decomposed))  # fmt: skip
        if nfc + longest_prompt <= budget < nfd + longest_prompt:
            return decomposed
    raise AssertionError("no such label for this tokenizer")


def test_a_decomposed_label_that_fits_composed_is_a_candidate(completion_kb, tmp_path):
    _, model_dir = completion_kb
    model, tokenizer = load_prixlm(str(model_dir), "cpu")
    configs = dataset_rows()
    kb = load_completion_kb(
        str(write_dataset(tmp_path / "plain", configs)), "de", target_splits=["train"]
    )
    queries, _ = completion_queries(kb.target, kb.evidence, kb.links)
    longest = max(len(encode_query(tokenizer, (q.subject, q.relation))) for q in queries)
    budget = model.config.max_position_embeddings - (model.config.pad_token_id + 1)
    label = _decomposed_label(tokenizer, budget, longest)
    assert unicodedata.is_normalized("NFD", label) and not unicodedata.is_normalized("NFC", label)
    link = configs["links"]["train"][0]
    configs["links"]["train"].append(
        {**link, "subject": label, "subject_language": "de", "object_language": "en",
         "subject_id": "http://de.dbpedia.org/resource/W", "object": "W",
         "object_id": "http://dbpedia.org/resource/W", "all_objects": ["W"]}
    )  # fmt: skip
    kb = load_completion_kb(
        str(write_dataset(tmp_path / "nfd", configs)), "de", target_splits=["train"]
    )
    proposals, stats = run_completion(model, tokenizer, kb, 0.0, num_beams=5, progress=False)
    assert stats.candidates_too_long == 0
    assert proposals and math.isfinite(proposals[0].score)
    _, kept, _ = fit_to_model(model, tokenizer, queries, {label: ["w"], "Euro": ["e"]})
    assert sorted(kept) == sorted([label, "Euro"])
