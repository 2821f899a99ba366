"""Sections of the Table 1 docs block on how the runs went: each search's winner, the
Prix-LM variants (steps, wall times, commands, beam MRR) and the ablations.

`table1_docs.render` puts them in the block (and re-exports them with `percent`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prixlm.link_prediction.ranking_rules import metric_label


def percent(value: float) -> str:
    """A fraction as the table shows it: percent, one decimal."""
    return f"{100 * value:.1f}"


def test_queries_line(table: Mapping[str, Any]) -> str:
    """`test_queries` (`{method: {lang: n}}`) as one line, the methods with the same counts
    together, beside the test splits' sizes; empty for a JSON without it (the block renders
    as before)."""
    counts = table.get("test_queries")
    if not counts:
        return ""
    languages, kb = table["languages"], table.get("kb", {})
    groups: dict[str, list[str]] = {}
    for method, by_lang in counts.items():
        sizes = ", ".join(f"{lang} {by_lang[lang]}" for lang in languages if lang in by_lang)
        groups.setdefault(sizes, []).append(method)
    ranked = "; ".join(f"{', '.join(methods)}: {sizes}" for sizes, methods in groups.items())
    full = ", ".join(
        f"{lang} {kb[lang]['test']}" for lang in languages if "test" in kb.get(lang, {})
    )
    return (
        f"**Test queries per language** (the first ones of each test split): {ranked}; the "
        f"test splits hold {full or '–'}."
    )


def limited_test_queries(table: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """`test_queries` (`{method: {lang: n}}`) of a JSON written before it was recorded, from
    its `profile.eval_limit` and the test splits' sizes (`kb[lang].test`), as
    `table1.protocol_line` reads them: every method ranked the first `eval_limit` queries
    of each split; empty without a limit (every query was ranked)."""
    limit = table.get("profile", {}).get("eval_limit")
    kb = table.get("kb", {})
    sizes = {lang: kb[lang]["test"] for lang in table["languages"] if "test" in kb.get(lang, {})}
    if not limit or not sizes:
        return {}
    return {"every method": {lang: min(limit, size) for lang, size in sizes.items()}}


def paired_queries(table: Mapping[str, Any]) -> str:
    """The test queries the paired differences pair, as their header names them: "test
    queries, every one" where every method ranked the whole split, else the counts ranked
    against the split sizes. A JSON without `test_queries` gets them from its `eval_limit`
    (`limited_test_queries`)."""
    counts, kb = table.get("test_queries") or limited_test_queries(table), table.get("kb", {})
    if not counts:
        return "test queries, every one"
    per_language: dict[str, set[int]] = {}
    for by_lang in counts.values():
        for lang, count in by_lang.items():
            per_language.setdefault(lang, set()).add(count)
    if all(n == {kb.get(lang, {}).get("test")} for lang, n in per_language.items()):
        return "test queries, every one"
    shown = ", ".join(
        f"{lang} {'/'.join(map(str, sorted(per_language[lang])))} of {kb.get(lang, {}).get('test', '?')}"
        for lang in table["languages"]
        if lang in per_language
    )
    return f"test queries, the first of each language's split: {shown}"


def union_links_line(table: Mapping[str, Any]) -> str:
    """Which links the union-graph RotatE trains on against the selected Prix-LM (All):
    every pair's links (the `main` dataset) where All may use only those through the pivot
    language; empty without a union row."""
    details = table.get("details", {})
    union = details.get("RotatE (union graph)")
    if union is None:
        return ""
    profile = table.get("profile", {})
    size = f" ({union['train_triples']:,} training triples)" if "train_triples" in union else ""
    line = (
        "RotatE (union graph) trains on every language's train triples and the sameAs links "
        f"between every pair of languages{size}"
    )
    chosen = details.get("Prix-LM (All)", {}).get("selected_variant")
    dataset = (profile.get("all_variants", {}).get(chosen) or {}).get("dataset", "main")
    if chosen is not None and dataset == "pivot":
        line += (
            f"; the Prix-LM (All) beside it (variant `{chosen}`) trains on the links with one "
            f"end in {profile.get('pivot', 'the pivot language')} only, so the union graph "
            "sees more links than All"
        )
    elif chosen is not None:
        line += f", as the Prix-LM (All) beside it (variant `{chosen}`) does"
    return line + ". It is trained at the first grid point of the RotatE search only."


def runs_section(table: Mapping[str, Any]) -> str:
    """Search grids' winners, Prix-LM variants with steps and wall times, seeds, commands."""
    details, lines = table.get("details", {}), []
    for model in ("TransE", "RotatE"):
        for lang, run in details.get(model, {}).items():
            winner = ", ".join(f"{k}={v}" for k, v in run["winner"].items() if k != "model")
            cut = " (search cut by its time limit)" if run.get("grid_truncated") else ""
            if "grid_points" in run:  # the early-stopped search: configurations x epoch points
                stop = run.get("early_stopping") or {}
                rule = (
                    (
                        f", early stopping after {stop['patience']} evaluations without a relative "
                        f"gain of {stop['relative_delta']:g}"
                    )
                    if stop
                    else ""
                )
                hits = run.get("validation", {}).get("hits_at_1")
                lines.append(f"- {model} {lang}: {run['grid_points']} configurations, "
                             f"{len(run['grid'])} validation points{cut}{rule}; winner {winner} "
                             f"(validation MRR {percent(run['validation_mrr'])}"
                             + (f", hits@1 {percent(hits)}" if hits is not None else "")
                             + f"), {run['seconds']} s")  # fmt: skip
                continue
            lines.append(f"- {model} {lang}: {len(run['grid'])} grid points{cut}, winner {winner} "
                         f"(validation MRR {percent(run['validation_mrr'])}), {run['seconds']} s")  # fmt: skip
    if "RotatE (union graph)" in details:
        union = details["RotatE (union graph)"]
        winner = ", ".join(f"{k}={v}" for k, v in union["winner"].items() if k != "model")
        cut = " (search cut by its time limit)" if union.get("grid_truncated") else ""
        lines.append(f"- RotatE (union graph): {union['train_triples']} training triples "
                     f"(triples + sameAs links), winner {winner}{cut}, {union['seconds']} s")  # fmt: skip
    for method in ("Prix-LM (Single)", "Prix-LM (All)"):
        if method not in details:
            continue
        info = details[method]
        lines.append(f"- {method}: selected variant `{info['selected_variant']}` "
                     f"(mean validation MRR {percent(info['validation_mrr'])})")  # fmt: skip
        for name, run in sorted(info["variants"].items()):
            budget = run.get("time_budget_s")
            note = f" (fitted to a {budget:g} s training budget)" if budget else ""
            if run.get("resumed_from_step"):
                note += f", stopped and gone on from its step-{run['resumed_from_step']} checkpoint"
            if run.get("evaluated_again"):
                note += ", trained by an earlier start of the run"
            lines.append(f"  - `{name}`: {run['steps']} steps{note}, train {run['train_seconds']} s, "
                         f"eval {run['eval_seconds']} s; `{run['command']}`")  # fmt: skip
            beam = {
                lang: m
                for lang, m in run["test"].items()
                if any(k.startswith("mrr_at_") for k in m)
            }
            for lang, m in sorted(beam.items()):
                key = next(k for k in m if k.startswith("mrr_at_"))
                lines.append(f"    - {lang}: full-ranking MRR {percent(m['mrr'])}, beam {metric_label(key)} {percent(m[key])}")  # fmt: skip
    return "\n".join(lines)


def model_size(settings: Mapping[str, Any]) -> str:
    """`hidden x layers` of a Prix-LM run's train.py `settings`, e.g. `256 x 4`."""
    return f"{settings['hidden_size']} x {settings['num_hidden_layers']}"


def ablations_section(table: Mapping[str, Any]) -> str:
    """Prix-LM ablations on validation (`ablations`: runs with settings and metrics)."""
    ablations = table.get("ablations")
    if not ablations:
        return ""
    languages = ablations["languages"]
    lines = [
        f"### Ablations (Prix-LM All on {', '.join(languages)}, {ablations['split']} split, "
        "full ranking, %)",
        "",
        "| variant | links | model | steps | train s | "
        + " | ".join(f"{lang} hits@1 | {lang} MRR" for lang in languages)
        + " | avg hits@1 | avg MRR |",
        "|---|---|---|---:|---:|" + "---:|" * (2 * len(languages) + 2),
    ]
    for name, run in ablations["runs"].items():
        cells = run["validation"]
        values = []
        for lang in languages:
            values += [percent(cells[lang]["hits_at_1"]), percent(cells[lang]["mrr"])]
        mean_h1 = sum(cells[lang]["hits_at_1"] for lang in languages) / len(languages)
        mean_mrr = sum(cells[lang]["mrr"] for lang in languages) / len(languages)
        lines.append(
            f"| {name} | {run['dataset']} | {model_size(run['settings'])} | {run['steps']} | "
            f"{run['train_seconds']} | "
            + " | ".join(values)
            + f" | {percent(mean_h1)} | {percent(mean_mrr)} |"
        )
    return "\n".join(lines) + "\n"
