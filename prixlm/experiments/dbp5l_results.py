"""`results/dbp5l.json` from the DBP-5L job records: test metrics per method, language and
protocol, the paired comparisons, each run's details (`assemble`); the methods, protocols and
pairs the runner (`prixlm.experiments.dbp5l`, which re-exports them) plans and reports."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

PROTOCOLS = ("ours", "kens", "raw")
METRICS = ("hits_at_1", "hits_at_10", "mrr")
KGE_METHODS = ("TransE", "RotatE")
PRIXLM_METHODS = {  # method -> job name prefix (`single-<lang>`, `all-links`, `all-nolinks`)
    "Prix-LM (Single)": "single-",
    "Prix-LM (All)": "all-links",
    "Prix-LM (All, no links)": "all-nolinks",
}
#: Paired comparisons on the same sampled test queries (`prixlm.experiments.paired`).
PAIRS = (
    ("Prix-LM (All)", "Prix-LM (Single)"),
    ("Prix-LM (All)", "Prix-LM (All, no links)"),
)
MODEL_NOTE = (
    "Prix-LM here is the small model trained from scratch on DBP-5L alone (no pretrained "
    "multilingual encoder such as xlm-roberta-base is available offline); the published "
    "systems start from pretrained embeddings or encoders."
)


def paired_comparisons(
    runs: dict[str, dict[str, dict]], languages: Sequence[str], seed: int
) -> dict[str, dict[str, Any]]:
    """`{"A - B": {protocol: paired_difference}}` for each of `PAIRS` whose two methods have
    per-query test ranks for every language (older records have none: left out)."""
    from prixlm.experiments import paired

    tests = {method: {lang: r["test"][lang] for lang, r in by_lang.items()}
             for method, by_lang in runs.items()}  # fmt: skip
    return paired.paired_comparisons(tests, PAIRS, languages, PROTOCOLS, seed)


def _has_protocol(records: Mapping[str, dict[str, Any]], protocol: str) -> bool:
    """Whether every language's record of a method holds `protocol` (a record made before
    it was reported has none: the method's row is left out of that protocol's table)."""
    return all(protocol in record["test"][lang] for lang, record in records.items())


def _cells(record: dict[str, Any], language: str, protocol: str) -> dict[str, float]:
    metrics = record["test"][language][protocol]
    return {key: metrics[key] for key in METRICS}


def _own_count(record: Mapping[str, Any], language: str) -> int | None:
    """The candidates a record says it ranked in `language` (a count, or one per language)."""
    count = record.get("candidates")
    return count.get(language) if isinstance(count, Mapping) else count


def candidate_counts(
    runs: Mapping[str, Mapping[str, Mapping[str, Any]]],
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """Per method and language: the candidate labels given, and how many of them Prix-LM
    ranked as an earlier label that tokenises alike (its records' `merged_candidates`; a KGE
    baseline ranks every entity: 0).

    A KGE record counts its candidates itself (`candidates`); a Prix-LM record does not, and
    takes the count a record of the same language states: every method ranks the same list
    (`dbp5l_jobs.entity_candidates`). A language no record counts is left out. `kb` is not
    read: its `entities` once counted the labels the triples name, not the candidates.
    """
    stated: dict[str, int] = {}
    for cells in runs.values():
        for lang, record in cells.items():
            count = _own_count(record, lang)
            if count is not None:
                stated.setdefault(lang, count)
    given: dict[str, dict[str, int]] = {}
    merged: dict[str, dict[str, int]] = {}
    for method, cells in runs.items():
        if not cells:
            continue
        given[method], merged[method] = {}, {}
        for lang, record in cells.items():
            own = _own_count(record, lang)
            count = own if own is not None else stated.get(lang)
            if count is not None:
                given[method][lang] = count
            merged[method][lang] = record["test"][lang]["ours"].get("merged_candidates", 0)
    return given, merged


def assemble(
    profile: dict[str, Any],
    records: dict[str, dict],
    kb: dict,
    published: dict,
    started: float,
    command: str,
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """`results/dbp5l.json`: test metrics per method, language and protocol + details."""
    from prixlm.link_prediction.protocols import PROTOCOLS as RULES

    languages = profile["languages"]
    by_protocol: dict[str, dict[str, dict[str, dict[str, float]]]] = {p: {} for p in PROTOCOLS}
    details: dict[str, Any] = {}
    runs: dict[str, dict[str, dict]] = {}
    for model in KGE_METHODS:
        runs[model] = {lang: records[f"kge-{model}-{lang}"] for lang in languages if f"kge-{model}-{lang}" in records}  # fmt: skip
        details[model] = {
            lang: {"winner": r["winner"], "validation_mrr": r["validation"][lang]["ours"]["mrr"],
                   "grid": r["grid"], "grid_points": r["grid_points"],
                   "epoch_points": r["epoch_points"], "seconds": r["seconds"],
                   "test_queries": r["test"][lang]["ours"]["num_queries"]}
            for lang, r in runs[model].items()
        }  # fmt: skip
    runs["Prix-LM (Single)"] = {lang: records[f"single-{lang}"] for lang in languages if f"single-{lang}" in records}  # fmt: skip
    for method in ("Prix-LM (All)", "Prix-LM (All, no links)"):
        name = PRIXLM_METHODS[method]
        runs[method] = {lang: records[name] for lang in languages if name in records}
    for method in ("Prix-LM (Single)", "Prix-LM (All)", "Prix-LM (All, no links)"):
        details[method] = {
            record["job"]: {key: record[key] for key in ("settings", "steps", "time_budget_s",
                            "budget_clock", "train_seconds", "eval_seconds", "command")}
            for record in {id(r): r for r in runs[method].values()}.values()
        }  # fmt: skip
    for model in KGE_METHODS:  # the same winners on every test query (cheap for a KGE)
        full = {lang: r for lang, r in runs[model].items() if r.get("test_full")}
        if full:
            runs[f"{model} (all test queries)"] = {
                lang: {**r, "test": r["test_full"]} for lang, r in full.items()
            }
    for method, cells in runs.items():
        for protocol in PROTOCOLS:
            if cells and _has_protocol(cells, protocol):
                by_protocol[protocol][method] = {
                    lang: _cells(r, lang, protocol) for lang, r in cells.items()
                }
    by_protocol = {name: methods for name, methods in by_protocol.items() if methods}
    paired = paired_comparisons(runs, languages, profile["seed"])
    paired_ranks = {  # what `paired` was computed from: a reader can redo it
        method: {lang: {protocol: {"ranks": cell["ranks"]}
                        for protocol, cell in r["test"][lang].items()
                        if isinstance(cell, dict) and "ranks" in cell}
                 for lang, r in runs[method].items()}
        for method in dict.fromkeys(m for pair in PAIRS for m in pair)
        if runs.get(method)
    }  # fmt: skip
    test_queries = {  # per method: the same sampled rows for every method of one limit
        method: {lang: r["test"][lang]["ours"]["num_queries"] for lang, r in cells.items()}
        for method, cells in runs.items()
        if cells
    }
    candidates, merged = candidate_counts(runs)
    return {
        "languages": languages,
        "protocol": "ours",
        "protocols": {
            name: {
                "filter": RULES[name].filter,
                "ties": RULES[name].ties,
                "hits_list": RULES[name].hits_list,
            }
            for name in by_protocol
        },  # fmt: skip
        "methods": by_protocol.get("ours", {}),
        "methods_by_protocol": by_protocol,
        "published": published,
        "kb": kb,
        "test_queries": test_queries,
        "candidates": candidates,
        "merged_candidates": merged,
        "paired": paired,
        "paired_ranks": paired_ranks,
        "model_note": MODEL_NOTE,
        "profile": profile,
        "seed": profile["seed"],
        "command": command,
        "jobs_finished": sorted(records),
        "job_seconds": {name: record["seconds"] for name, record in sorted(records.items())},
        "wall_seconds": round(time.time() - started, 1),
        "notes": list(notes),
        "details": details,
    }
