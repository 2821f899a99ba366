"""The link prediction a training run evaluates at every checkpoint (the paper's Fig. 2).

`lp_evaluator` fixes a sample of queries per language and the candidates they are ranked
among, for `prixlm.link_prediction.checkpoint_callback.LinkPredictionCallback`.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prixlm.cli import UsageError
from prixlm.training.arguments import DataArguments
from prixlm.training.data import load_split


@dataclass(frozen=True)
class LPSample:
    """What an evaluator ranks, per language: `queries` (the sample's size:
    `lp_eval_queries`, or the split's rows if fewer) and `candidates_too_long` (the labels
    left out of the candidates, longer than the model's positions hold after the shortest
    prompt; only languages with some)."""

    queries: dict[str, int]
    candidates_too_long: dict[str, int]


def lp_evaluator(
    tokenizer: Any,
    config: Any,
    data_args: DataArguments,
    languages: list[str],
    seed: int,
    candidates: dict[str, list[str]],
) -> tuple[Callable[[Any, str], dict[str, float]], LPSample]:
    """(model, language) -> hits@1 and MRR@K on a fixed sample of `lp_eval_split` (filtered),
    and what the sample holds (`LPSample`).

    `candidates` are every label of each language in the dataset's triples (all splits) or
    link ends (`prixlm.link_prediction.candidate_files.dataset_candidates`, as `evaluate_lp`
    and the release's `candidates.json` take them; read once by the caller), less those that the positions of a model with
    `config` cannot hold (`prixlm.link_prediction.candidate_fit`: a warning names them, and
    a query whose gold is one of them is a miss). Each language's trie is built once, here
    (`readable_labels_trie`: labels holding a control token's text left out, warned once),
    and ranks at every evaluation: the candidates do not change during a run.
    """
    from prixlm.link_prediction.candidate_fit import (
        CandidatesLeftOutWarning,
        fitting_candidates,
        readable_labels_trie,
    )
    from prixlm.link_prediction.evaluation import evaluate_link_prediction

    samples = {}
    for language in languages:
        rows = load_split(data_args.dataset, language, data_args.lp_eval_split)
        sample_size = min(data_args.lp_eval_queries, len(rows))
        order = random.Random(seed).sample(range(len(rows)), sample_size)
        samples[language] = [rows[i] for i in sorted(order)]
    fitting, left_out = fitting_candidates(tokenizer, config, candidates)  # warned once, here
    unranked = sorted(set(candidates) - set(fitting))
    if unranked:
        raise UsageError(
            f"--lp_eval_queries {data_args.lp_eval_queries}: no candidate label of "
            f"{', '.join(unranked)} fits the model's positions after a prompt; pass "
            "--lp_eval_queries 0"
        )
    tries = {
        language: readable_labels_trie(tokenizer, candidates[language], "link prediction")
        for language in languages
    }  # (trie of the readable labels, unreadable labels): tokenised once per run

    def evaluate(model: Any, language: str) -> dict[str, float]:
        with warnings.catch_warnings():  # the labels left out: warned once, above
            warnings.simplefilter("ignore", CandidatesLeftOutWarning)
            result = evaluate_link_prediction(
                model,
                tokenizer,
                samples[language],
                tries[language][0],
                mode="beam",
                num_beams=data_args.lp_eval_beams,
                unreadable=tries[language][1],
            )
        mrr = next(value for key, value in result.items() if key.startswith("mrr"))
        return {"hits_at_1": result["hits_at_1"], "mrr": mrr}

    sizes = {language: len(sample) for language, sample in samples.items()}
    return evaluate, LPSample(sizes, {lang: len(labels) for lang, labels in left_out.items()})


__all__ = ["LPSample", "lp_evaluator"]
