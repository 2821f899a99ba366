"""Multi-token probing with answers the model cannot be asked for: a long template prompt
beside a long answer raised `PositionBudgetError` and `python -m prixlm.similarity.probing`
died with a traceback; an answer holding a control token's text (`[O]`) made the trie refuse
the whole relation. As in link-prediction evaluation, such an answer is left out (for that
probe only, when it is the prompt that is long), counted, and a gold left out is a miss."""

from __future__ import annotations

import json

import pytest
import torch

from modeling_prixlm.decoding_steps import encode_query
from modeling_prixlm.position_checks import positions_of
from prixlm.link_prediction.candidate_scoring import score_candidates
from prixlm.link_prediction.ranking import filtered_ranks_from_scores
from prixlm.similarity.probing import main, multi_token_accuracy
from prixlm.similarity.probing_data import Probe, ProbeSet, Template

TEMPLATE = "The currency of [X] is [Y] ."
LONG_ANSWER = " ".join(["Japan"] * 30)  # 30 tokens of the tiny tokenizer
LONG_SUBJECT = " ".join(["Japan"] * 20)
LONG_SUBJECT_2 = "Germany " + " ".join(["Japan"] * 19)
PROBES = {"Germany": "euro", "France": "French", LONG_SUBJECT: "euro", LONG_SUBJECT_2: LONG_ANSWER}


def prompt(subject: str) -> dict:
    return {"kind": "triple", "subject": f"The currency of {subject} is", "relation": "."}


def reciprocal_ranks(model, tokenizer, subjects: list[str], labels: list[str]) -> list[float]:
    scores = score_candidates(model, tokenizer, [prompt(s) for s in subjects], labels)
    gold = torch.tensor([labels.index(PROBES[s]) for s in subjects])
    return [1 / rank for rank in filtered_ranks_from_scores(scores, gold).tolist()]


def test_a_long_prompt_ranks_among_the_answers_that_fit_after_it(tmp_path, tiny_prixlm):
    model, tokenizer = tiny_prixlm
    positions = positions_of(model.config)
    answer = len(tokenizer(LONG_ANSWER, add_special_tokens=False)["input_ids"])
    assert len(encode_query(tokenizer, prompt("France"))) + answer <= positions
    for subject in (LONG_SUBJECT, LONG_SUBJECT_2):
        assert len(encode_query(tokenizer, prompt(subject))) + answer > positions
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    folder = tmp_path / "probes" / "en"
    folder.mkdir(parents=True)
    template = {"relation": "currency", "template": TEMPLATE}
    (folder / "templates.jsonl").write_text(json.dumps(template) + "\n", "utf-8")
    rows = "".join(json.dumps({"sub_label": s, "obj_label": o}) + "\n" for s, o in PROBES.items())
    (folder / "currency.jsonl").write_text(rows, "utf-8")
    output = tmp_path / "probing.json"
    argv = ["--model", str(tmp_path / "model"), "--probes", str(tmp_path / "probes")]
    with pytest.warns(UserWarning, match="probing en currency: 2 of 4 probes have template"):
        assert main([*argv, "--languages", "en", "--output", str(output)]) == 0
    english = json.loads(output.read_text("utf-8"))["multi_token"]["per_language"]["en"]
    relation = english["per_relation"]["currency"]
    assert relation["probes_with_candidates_too_long"] == 2
    assert (relation["num_missing"], relation["num_probes"], relation["num_candidates"]) == (
        1, 4, 3)  # fmt: skip
    assert "candidates_unreadable" not in relation
    assert (english["num_missing"], english["probes_with_candidates_too_long"]) == (1, 2)
    # the short probes among all three answers, the long one among those that fit after it
    labels = sorted(set(PROBES.values()))
    short = reciprocal_ranks(model, tokenizer, ["Germany", "France"], labels)
    cut = reciprocal_ranks(model, tokenizer, [LONG_SUBJECT], ["French", "euro"])
    assert relation["mrr"] == pytest.approx(sum(short + cut) / 4)
    assert relation["accuracy"] == sum(r == 1 for r in short + cut) / 4
    assert relation["chance_accuracy"] == pytest.approx((1 / 3 + 1 / 3 + 1 / 2 + 0) / 4)


def test_an_unreadable_answer_is_left_out_and_its_probe_missed(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    answers = {"Germany": "euro", "France": "French", "Spain": "Radio [O]"}
    probes = [Probe(subject, answer, "currency", "en") for subject, answer in answers.items()]
    probe_set = ProbeSet("en", {"currency": Template("currency", TEMPLATE)}, {"currency": probes})
    with pytest.warns(UserWarning, match=r"probing en currency: 1 of the 3 candidate labels"):
        result = multi_token_accuracy(model, tokenizer, probe_set)
    relation = result["per_relation"]["currency"]
    assert (relation["candidates_unreadable"], relation["num_missing"]) == (1, 1)
    assert (relation["num_probes"], relation["num_candidates"]) == (3, 2)
    assert "probes_with_candidates_too_long" not in relation
    ranked = reciprocal_ranks(model, tokenizer, ["Germany", "France"], ["French", "euro"])
    assert relation["mrr"] == pytest.approx(sum(ranked) / 3)
    assert relation["chance_accuracy"] == pytest.approx((1 / 2 + 1 / 2 + 0) / 3)
    assert result["candidates_unreadable"] == 1
