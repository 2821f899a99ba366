"""The "DBP-5L" section of `docs/results.md`, generated from `results/dbp5l.json` alone.

Our figures under each ranking protocol, the published figures beside them (each with its
source: paper, table, protocol), in percent with one decimal (`round(100 * value, 1)` of
the JSON). Only the block between `<!-- dbp5l:start -->` and `<!-- dbp5l:end -->` is
rewritten (appended at the end of a file without it); the rest of the file is kept.

    python -m prixlm.experiments.dbp5l_docs --results results/dbp5l.json --docs docs/results.md
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prixlm.cli import UsageError, command_parser, read_json, user_errors
from prixlm.experiments.table1_docs import check_metric_values
from prixlm.outputs.atomic import atomic_file, updating

START, END = "<!-- dbp5l:start -->", "<!-- dbp5l:end -->"
HEADING = "## DBP-5L: multilingual knowledge-graph completion"
METRIC_NAMES = {"hits_at_1": "Hits@1", "hits_at_10": "Hits@10", "mrr": "MRR"}
ORDER = ("TransE", "RotatE", "Prix-LM (Single)", "Prix-LM (All)", "Prix-LM (All, no links)")
PROTOCOL_TEXT = {
    "ours": "every entity of the target KG is a candidate; the other true objects of "
    "the query over every split are filtered; ties get the mean of the optimistic and "
    "pessimistic rank (PyKEEN's realistic rank); hits@k and MRR of the full ranking",
    "kens": "KEnS' (`src/validate.py`, `filt_hits_at_n`): every entity of the target KG is "
    "a candidate; only the train split's true objects are filtered; ties go to the entity "
    "with the smaller id; a gold counts as a hit at k when it is in the unfiltered top 10 "
    "and within the first k after filtering; MRR of the full train-filtered ranking "
    '(SS-AGA\'s optional "lifted" setting; KEnS computes none)',
    "raw": "unfiltered (what SS-AGA's released run logs: `is_lifted=False`): every entity "
    "of the target KG is a candidate; nothing is filtered; ties go to the entity with the "
    "smaller id; hits@k and MRR of the full ranking",
}


def percent(value: float) -> str:
    """A fraction as the table shows it: percent, one decimal."""
    return f"{100 * value:.1f}"


def method_order(methods: Mapping[str, Any]) -> list[str]:
    return [m for m in ORDER if m in methods] + sorted(m for m in methods if m not in ORDER)


def _mean(cells: Mapping[str, Any], languages: list[str], key: str) -> str:
    if not all(lang in cells and key in cells[lang] for lang in languages):
        return "–"
    return percent(sum(cells[lang][key] for lang in languages) / len(languages))


def _cell(cells: Mapping[str, Any], lang: str, key: str) -> str:
    value = cells.get(lang, {}).get(key) if isinstance(cells.get(lang), Mapping) else None
    return "–" if value is None else percent(value)


def source_text(source: Any) -> str:
    """A published entry's `source` (a string or a mapping such as paper/table/protocol)."""
    if isinstance(source, Mapping):
        return "; ".join(f"{key}: {value}" for key, value in source.items())
    return str(source)


def metric_tables(table: Mapping[str, Any]) -> str:
    """Per metric: our methods under each protocol, then the published systems."""
    languages = table["languages"]
    by_protocol = table["methods_by_protocol"]
    published = table.get("published") or {}
    lines = []
    for key, title in METRIC_NAMES.items():
        lines += [f"**{title}** (test, %)", "",
                  "| method | protocol | " + " | ".join(languages) + " | avg |",
                  "|---|---|" + "---:|" * (len(languages) + 1)]  # fmt: skip
        for protocol, methods in by_protocol.items():
            for method in method_order(methods):
                cells = methods[method]
                row = [_cell(cells, lang, key) for lang in languages]
                lines.append(f"| {method} | {protocol} | " + " | ".join(row)
                             + f" | {_mean(cells, languages, key)} |")  # fmt: skip
        for system in sorted(published):
            cells = published[system]
            if not any(isinstance(v, Mapping) and key in v for v in cells.values()):
                continue  # the source gives no number of this metric
            row = [_cell(cells, lang, key) for lang in languages]
            lines.append(f"| {system} | published | " + " | ".join(row)
                         + f" | {_mean(cells, languages, key)} |")  # fmt: skip
        lines.append("")
    return "\n".join(lines)


def paired_section(table: Mapping[str, Any]) -> str:
    """The paired comparisons (`paired`): difference and 95% interval per metric."""
    from prixlm.experiments.paired import paired_section as render

    return render(table["paired"], "sampled test queries")


def sources_section(table: Mapping[str, Any]) -> str:
    """Where each published row was read (`source`, `source_kind`, `caveat`)."""
    published = table.get("published") or {}
    if not published:
        return "No published figures were given to this run (`--published`)."
    lines = [
        "Published rows: the numbers as printed in their source, `–` where none was found; "
        "the protocol each paper's code follows is in [dbp5l_protocol.md](dbp5l_protocol.md) "
        "(compare them with our `kens` rows). Sources:",
        "",
    ]
    for system in sorted(published):
        entry = published[system]
        kind = f" ({entry['source_kind']})" if entry.get("source_kind") else ""
        caveat = f" Caveat: {entry['caveat']}" if entry.get("caveat") else ""
        source = source_text(entry.get("source", "?")).rstrip(".")
        lines.append(f"- {system}{kind}: {source}.{caveat}")
    return "\n".join(lines)


def runs_section(table: Mapping[str, Any]) -> str:
    """Search grids and winners, Prix-LM steps, budgets, wall times and commands."""
    details, lines = table.get("details", {}), []
    for model in ("TransE", "RotatE"):
        for lang, run in details.get(model, {}).items():
            winner = ", ".join(f"{k}={v}" for k, v in run["winner"].items() if k != "model")
            lines.append(f"- {model} {lang}: {run['grid_points']} grid points x epochs "
                         f"{run['epoch_points']} ({len(run['grid'])} evaluated), winner {winner} "
                         f"(validation MRR {percent(run['validation_mrr'])}), {run['seconds']} s")  # fmt: skip
    for method in ("Prix-LM (Single)", "Prix-LM (All)", "Prix-LM (All, no links)"):
        for name, run in sorted(details.get(method, {}).items()):
            budget = run.get("time_budget_s")
            note = f" (fitted to a {budget:g} s {run.get('budget_clock', 'wall')}-clock training budget)" if budget else ""  # fmt: skip
            lines.append(f"- {method} `{name}`: {run['steps']} steps{note}, train "
                         f"{run['train_seconds']} s, eval {run['eval_seconds']} s; `{run['command']}`")  # fmt: skip
    return "\n".join(lines)


def query_counts(table: Mapping[str, Any]) -> str:
    """`test_queries` (`{method: {lang: n}}`) as text: the methods with the same counts
    together."""
    languages, groups = table["languages"], {}
    for method, counts in table.get("test_queries", {}).items():
        sizes = ", ".join(f"{lang} {counts[lang]}" for lang in languages if lang in counts)
        groups.setdefault(sizes, []).append(method)
    return "; ".join(f"{', '.join(methods)}: {sizes}" for sizes, methods in groups.items())


def candidate_note(table: Mapping[str, Any]) -> str:
    """The candidates each method ranked per language, when Prix-LM merged some labels
    (`merged_candidates`: labels that tokenise alike rank as one; `–` where no record
    counted a language's candidates); empty when none was merged or the JSON predates
    these counts (the block then renders as before)."""
    languages = table["languages"]
    given, merged = table.get("candidates", {}), table.get("merged_candidates", {})
    if not any(any(by_lang.values()) for by_lang in merged.values()):
        return ""
    groups: dict[str, list[str]] = {}
    for method in method_order({**merged, **given}):
        counts, merges = given.get(method, {}), merged.get(method, {})
        sizes = ", ".join(
            (f"{lang} {counts[lang] - merges.get(lang, 0)}" if lang in counts else f"{lang} –")
            + (f" ({merges[lang]} merged)" if merges.get(lang) else "")
            for lang in languages
            if lang in counts or merges.get(lang)
        )
        if sizes:
            groups.setdefault(sizes, []).append(method)
    ranked = "; ".join(f"{', '.join(methods)}: {sizes}" for sizes, methods in groups.items())
    return (
        "**Candidates ranked per language.** Prix-LM ranks labels that tokenise alike (such "
        "as labels holding characters its tokenizer never saw, written through `<unk>`) as "
        "one candidate, so it ranks fewer than the KGE baselines, which rank every entity: "
        f"{ranked}."
    )


def render(table: Mapping[str, Any], source: str = "results/dbp5l.json") -> str:
    """The generated block (without the markers)."""
    languages, profile = table["languages"], table.get("profile", {})
    sizes = query_counts(table)
    kb = table.get("kb", {})
    full = ", ".join(f"{lang} {kb[lang]['test']}" for lang in languages if lang in kb)
    missing = [m for m in ORDER if m not in table["methods"]]
    candidates = candidate_note(table)
    parts = [
        HEADING,
        "",
        f"Generated by `python -m prixlm.experiments.dbp5l_docs` from `{source}` "
        f"(profile `{profile.get('name', '?')}`, device `{profile.get('device', '?')}`, "
        f"{profile.get('workers', '?')} worker processes, seed {table.get('seed', 0)}, "
        f"wall time of this invocation {table.get('wall_seconds', '?')} s, "
        f"jobs {round(sum(table.get('job_seconds', {}).values()), 1)} s in all).",
        "",
        f"Command: `{table.get('command', '')}`",
        "",
        f"**Model.** {table.get('model_note', '')}",
        "",
        *[f"- {note}" for note in table.get("notes", [])],
        *([""] if table.get("notes") else []),
        f"**Test queries per language** (tail prediction; sampled with the seed from the test "
        f"split, methods with the same counts rank the same queries): {sizes or '–'}; the test "
        f"splits hold {full or '–'}.",
        "",
        *([candidates, ""] if candidates else []),
        "**Protocols.**",
        "",
        *[f"- `{name}`: {PROTOCOL_TEXT.get(name, name)}" for name in table["methods_by_protocol"]],
        "",
        metric_tables(table),
        *([paired_section(table)] if table.get("paired") else []),
        *(
            [f"![KGE searches: validation MRR against epochs]({table['chart']})", ""]
            if table.get("chart")
            else []
        ),  # fmt: skip
        sources_section(table),
        "",
        ("Not measured in this run: " + ", ".join(missing) + ".") if missing else "",
        "",
        "### Runs (search grids, winners, steps, wall times, commands)",
        "",
        runs_section(table),
        "",
    ]
    return "\n".join(parts)


def check_dbp5l_results(table: Any, path: Path, argument: str = "--results") -> None:
    """`UsageError` naming `argument`, `path` and the key missing unless `table` is a DBP-5L
    results file (`dbp5l.main`'s JSON): `languages`, `methods` and `methods_by_protocol`
    (`{protocol: {method: cells}}`; a Table 1 results file has none)."""
    where = f"{argument} {path}: not a DBP-5L results file"
    if not isinstance(table, dict):
        raise UsageError(f"{where} (a JSON object expected, not {type(table).__name__})")
    hint = (
        " (a Table 1 results file: render it with python -m prixlm.experiments.table1_docs)"
        if "methods" in table and "methods_by_protocol" not in table
        else ""
    )
    languages = table.get("languages")
    if not isinstance(languages, list) or not all(isinstance(code, str) for code in languages):
        raise UsageError(f"{where}: no 'languages' list of codes")
    for key in ("methods", "methods_by_protocol"):
        if not isinstance(table.get(key), dict):
            raise UsageError(f"{where}: no {key!r} object{hint}")
    for protocol, methods in table["methods_by_protocol"].items():
        if not isinstance(methods, dict) or not all(isinstance(m, dict) for m in methods.values()):
            raise UsageError(
                f"{where}: methods_by_protocol[{protocol!r}] is not an object of methods"
            )
        for method, cells in methods.items():
            for language, cell in cells.items():
                if isinstance(cell, Mapping):
                    check_metric_values(
                        cell,
                        f"{argument} {path}: methods_by_protocol[{protocol!r}][{method!r}]"
                        f"[{language!r}]",
                    )


def replace_block(existing: str, block: str) -> str:
    """`existing` with its DBP-5L block replaced by `block` (appended when absent)."""
    generated = f"{START}\n{block}\n{END}"
    if START in existing and END in existing:
        pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
        return pattern.sub(lambda _: generated, existing, count=1)
    if not existing.strip():
        return f"# Results\n\n{generated}\n"
    return f"{existing.rstrip()}\n\n{generated}\n"


def read_block(text: str) -> str | None:
    """The block between the DBP-5L markers of `text` (None when absent)."""
    match = re.search(re.escape(START) + "\n(.*?)\n" + re.escape(END), text, re.DOTALL)
    return match.group(1) if match else None


def write_docs(table: Mapping[str, Any], docs: Path, source: str = "results/dbp5l.json") -> None:
    """Rewrite the DBP-5L block of `docs`, `updating` it (another command's block written
    meanwhile, Table 1's, is kept)."""
    docs = Path(docs)
    block = render(table, source)
    with updating(docs, "--docs"):
        existing = docs.read_text("utf-8") if docs.is_file() else ""
        text = replace_block(existing, block)
        with atomic_file(docs, "--docs") as staging:
            staging.write_text(text, "utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = command_parser("prixlm.experiments.dbp5l_docs", __doc__.splitlines()[0])
    parser.add_argument(
        "--results", type=Path, default=Path("results/dbp5l.json"), help="the JSON to render"
    )
    parser.add_argument(
        "--docs",
        type=Path,
        default=Path("docs/results.md"),
        help="Markdown file whose DBP-5L block is rewritten",
    )
    args = parser.parse_args(argv)
    with user_errors():
        table = read_json(args.results, "--results")
        check_dbp5l_results(table, args.results)
        write_docs(table, args.docs, args.results.as_posix())


if __name__ == "__main__":
    main()
