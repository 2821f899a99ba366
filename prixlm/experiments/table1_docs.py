"""`docs/results.md` and the Table 1 chart, generated from `results/table1.json` alone.

The markdown follows the paper's Table 1 layout (languages as columns, then the average;
a block per metric; a row per method), in percent with one decimal: exactly
`round(100 * value, 1)` of the JSON. Only one block is rewritten: `--block table1` (between
`<!-- table1:start -->` and `<!-- table1:end -->`, the committed full run) or `--block
table1-quick` (`<!-- table1-quick:start -->` ... `<!-- table1-quick:end -->`, the CPU quick
profile, placed after the first); the rest of the file (the KB-completion block between
`<!-- completion:start -->` and `<!-- completion:end -->`) is kept as it is.

    python -m prixlm.experiments.table1_docs --results results/table1.json --docs docs/results.md
    python -m prixlm.experiments.table1_docs --block table1-quick --results results/table1_quick.json \
        --docs docs/results.md --chart docs/table1_quick.png
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from prixlm.cli import UsageError, command_parser, read_json, user_errors
from prixlm.experiments.paired import paired_section
from prixlm.experiments.table1_sections import (  # noqa: F401 - model_size: importable here
    ablations_section,
    model_size,
    paired_queries,
    percent,
    runs_section,
    test_queries_line,
    union_links_line,
)
from prixlm.experiments.table1_unfinished import no_pairs_line, unfinished_section
from prixlm.outputs.atomic import atomic_file, updating

START, END = "<!-- table1:start -->", "<!-- table1:end -->"
# block name -> its heading in docs/results.md
BLOCKS = {
    "table1": "## Table 1: link prediction on the embedded CLDR KB",
    "table1-quick": "## Table 1, quick profile (CPU, `make table1-quick`): a smaller check, "
    "not the paper's nine languages",
}
COMPLETION = "<!-- completion:start -->\n<!-- completion:end -->\n"
METRIC_NAMES = {"hits_at_1": "Hits@1", "hits_at_3": "Hits@3", "hits_at_10": "Hits@10", "mrr": "MRR"}
ORDER = ("TransE", "RotatE", "RotatE (union graph)", "Prix-LM (Single)", "Prix-LM (All)")


def method_order(methods: Mapping[str, Any]) -> list[str]:
    return [m for m in ORDER if m in methods] + sorted(m for m in methods if m not in ORDER)


def averages(table: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Mean of each metric over the table's languages, for methods complete in all of them."""
    languages = table["languages"]
    result = {}
    for method, cells in table["methods"].items():
        if all(lang in cells for lang in languages):
            result[method] = {
                key: sum(cells[lang][key] for lang in languages) / len(languages)
                for key in METRIC_NAMES
            }
    return result


def metric_tables(table: Mapping[str, Any]) -> str:
    """The paper's layout: per metric, a row per method, a column per language + avg."""
    languages, methods = table["languages"], table["methods"]
    means = averages(table)
    lines = []
    for key, title in METRIC_NAMES.items():
        lines += [f"**{title}** (test, %)", "", "| method | " + " | ".join(languages) + " | avg |"]
        lines.append("|---|" + "---:|" * (len(languages) + 1))
        for method in method_order(methods):
            cells = [percent(methods[method][lang][key]) if lang in methods[method] else "–" for lang in languages]  # fmt: skip
            mean = percent(means[method][key]) if method in means else "–"
            lines.append(f"| {method} | " + " | ".join(cells) + f" | {mean} |")
        lines.append("")
    return "\n".join(lines)


def kb_table(kb: Mapping[str, Mapping[str, int]], languages: Sequence[str]) -> str:
    rows = ["| lang. → | " + " | ".join(languages) + " |", "|---|" + "---:|" * len(languages)]
    for key, title in (("entities", "# entities"), ("triples", "# triples"), ("train", "train"),
                       ("validation", "validation"), ("test", "test")):  # fmt: skip
        rows.append(f"| {title} | " + " | ".join(str(kb[lang].get(key, "–")) for lang in languages) + " |")  # fmt: skip
    return "\n".join(rows)


CURVE_CHART = "table1_all_curve.png"


def selected_curve(table: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(run name, curve) of the selected Prix-LM (All) variant, if it recorded one."""
    info = table.get("details", {}).get("Prix-LM (All)")
    if not info:
        return None
    name = f"all-{info['selected_variant']}"
    curve = info["variants"].get(name, {}).get("curve")
    return (name, curve) if curve and curve.get("points") else None


def curve_section(table: Mapping[str, Any]) -> str:
    """Prix-LM (All)'s validation curve: how it was taken, why training stopped, its points."""
    chosen = selected_curve(table)
    if chosen is None:
        return ""
    name, curve = chosen
    metric, points = curve["metric"], curve["points"]
    show = percent if metric == "mrr" else (lambda value: f"{value:.3f}")
    sample = (f"the first {curve['queries_per_language']} validation queries per language, full "
              "ranking" if metric == "mrr" else "every validation fact")  # fmt: skip
    rule = curve["flat_rule"]
    label = "MRR (%)" if metric == "mrr" else metric
    gain = f"{100 * rule['min_gain']:g} points" if metric == "mrr" else f"{rule['min_gain']:g}"
    languages = [k for k in points[0] if k not in ("step", "mean")]
    ending = f"Training stopped by the {curve['stopped_by']} at step {points[-1]['step']}."
    anneal = curve.get("anneal") or {}
    if "from_step" in anneal:
        ending = (f"Flat at step {anneal['from_step']}; the learning rate then decayed linearly "
                  f"to 0 over {anneal['share']:.0%} more steps (to step {anneal['to_step']}); "
                  f"training stopped at step {points[-1]['step']} ({curve['stopped_by']}).")  # fmt: skip
    lines = [
        "### Prix-LM (All): validation curve",
        "",
        f"`{name}`: validation {label} ({sample}) every {curve['every']} steps; flat = "
        f"{rule['window']} evaluations without a gain above {gain}. {ending}",
        "",
        "| step | mean | " + " | ".join(languages) + " |",
        "|---:|---:|" + "---:|" * len(languages),
    ]
    for point in points:
        cells = [show(point[lang]) for lang in languages]
        lines.append(f"| {point['step']} | {show(point['mean'])} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + f"\n\n![Prix-LM (All) validation curve]({CURVE_CHART})\n\n"


def run_time(table: Mapping[str, Any]) -> str:
    """How long the run took: its jobs' seconds in all (over every start of the run) and
    the wall time of the start that wrote the JSON."""
    wall = f"wall time {table.get('wall_seconds', '?')} s"
    jobs = table.get("job_seconds")
    if not jobs:
        return wall
    total = sum(seconds or 0 for seconds in jobs.values())
    return f"jobs {total:,.0f} s in all, {wall} for the start that wrote this"


def notes_section(table: Mapping[str, Any]) -> str:
    """The run's `notes` (how it was made, budgets, the quality goal), one bullet each."""
    notes = table.get("notes") or []
    if not notes:
        return ""
    return "### How this run was made\n\n" + "\n".join(f"- {note}" for note in notes) + "\n"


def check_table1_results(table: Any, path: Path, argument: str = "--results") -> None:
    """`UsageError` naming `argument`, `path` and the key missing unless `table` is a Table 1
    results file (`table1.main`'s JSON): `languages`, and `methods` whose every cell has
    each metric of `METRIC_NAMES` (a DBP-5L results file lacks `hits_at_3`)."""
    where = f"{argument} {path}: not a Table 1 results file"
    hint = (
        " (a DBP-5L results file: render it with python -m prixlm.experiments.dbp5l_docs)"
        if isinstance(table, dict) and "methods_by_protocol" in table
        else ""
    )
    if not isinstance(table, dict):
        raise UsageError(f"{where} (a JSON object expected, not {type(table).__name__})")
    languages = table.get("languages")
    if not isinstance(languages, list) or not all(isinstance(code, str) for code in languages):
        raise UsageError(f"{where}: no 'languages' list of codes{hint}")
    if not isinstance(table.get("methods"), dict):
        raise UsageError(f"{where}: no 'methods' object{hint}")
    for method, cells in table["methods"].items():
        if not isinstance(cells, dict):
            raise UsageError(f"{where}: methods[{method!r}] is not an object{hint}")
        for language in languages:
            if language not in cells:  # not measured yet: shown as –
                continue
            cell = cells[language]
            if not isinstance(cell, dict):
                raise UsageError(f"{where}: methods[{method!r}][{language!r}] is not an object")
            missing = [key for key in METRIC_NAMES if key not in cell]
            if missing:
                raise UsageError(
                    f"{where}: methods[{method!r}][{language!r}] has no {missing[0]!r}{hint}"
                )
            check_metric_values(cell, f"{argument} {path}: methods[{method!r}][{language!r}]")


def check_metric_values(cell: Mapping[str, Any], where: str) -> None:
    """`UsageError` naming `where` and the key unless each metric of `cell` (Hits@k, MRR)
    is a number from 0 to 1: a string (`"0.38"`) or null ended in a traceback, a NaN or a
    percentage (`38.8`) was rendered as `nan` or `3880.0` (a metric not measured is left
    out of its cell)."""
    for key, value in cell.items():
        if key not in METRIC_NAMES and not key.startswith("hits_at_"):
            continue
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not 0 <= value <= 1:
            raise UsageError(f"{where}[{key!r}] is {value!r}: expected a fraction from 0 to 1")


def markers(block: str) -> tuple[str, str]:
    """The start and end comments of a docs block (`table1`, `table1-quick`)."""
    if block not in BLOCKS:
        raise ValueError(f"--block {block!r}: expected one of {sorted(BLOCKS)}")
    return f"<!-- {block}:start -->", f"<!-- {block}:end -->"


def render(
    table: Mapping[str, Any], block: str = "table1", source: str = "results/table1.json"
) -> str:
    """The generated block (without the markers); `source` is the JSON it was read from."""
    languages = table["languages"]
    profile = table.get("profile", {})
    markers(block)
    queries, union = test_queries_line(table), union_links_line(table)
    unfinished = unfinished_section(table)  # the methods and jobs a partial run lacks
    parts = [
        BLOCKS[block],
        "",
        f"Generated by `python -m prixlm.experiments.table1_docs` from `{source}` "
        f"(profile `{profile.get('name', '?')}`, {run_time(table)}). "
        f"Protocol: {table.get('protocol', '')}.",
        "",
        f"Command: `{table.get('command', '')}`",
        "",
        kb_table(table["kb"], languages) if "kb" in table else "",
        "",
        *([queries, ""] if queries else []),
        metric_tables(table),
        *([unfinished, ""] if unfinished else []),
        *([union, ""] if union else []),
        *(
            [paired_section(table["paired"], paired_queries(table)), ""]
            if table.get("paired")
            else [no_pairs_line(table), ""]
        ),
        "![Table 1 chart](table1.png)",
        "",
        curve_section(table) + notes_section(table),
        ablations_section(table),
        "### Runs (seeds, search grids, steps, wall times, commands)",
        "",
        f"Seed {profile.get('seed', 0)} for every run; device "
        f"`{profile.get('device', '?')}`, {profile.get('workers', '?')} worker processes.",
        "",
        runs_section(table),
        "",
    ]
    return "\n".join(parts)


def write_chart(table: Mapping[str, Any], chart: Path) -> None:
    """Grouped bars: hits@1 and MRR per language and method (plus the average)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    languages, methods = table["languages"], table["methods"]
    means = averages(table)
    columns = list(languages) + ["avg"]
    order = method_order(methods)
    figure, axes = plt.subplots(1, 2, figsize=(13, 4), sharey=True)
    width = 0.8 / max(1, len(order))
    for axis, key in zip(axes, ("hits_at_1", "mrr"), strict=True):
        for i, method in enumerate(order):
            # a cell not measured yet (a run under way) is no bar, not a bar at 0
            values = [methods[method].get(lang, {}).get(key, math.nan) for lang in languages]
            values.append(means.get(method, {}).get(key, math.nan))
            axis.bar([x + i * width for x in range(len(columns))], values, width, label=method)
        axis.set_xticks([x + 0.4 - width / 2 for x in range(len(columns))], columns)
        axis.set_title(f"{METRIC_NAMES[key]} (test, full ranking, filtered)")
        axis.set_ylim(0, 1)
    axes[0].set_ylabel("0 to 1 (the tables give %)")
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    with atomic_file(chart, "--chart") as staging:
        figure.savefig(staging, format="png", dpi=100)
    plt.close(figure)


def replace_block(existing: str, block: str, name: str = "table1") -> str:
    """`existing` with its `name` block replaced by `block`; everything else is kept byte for
    byte. A file without the block gets it after the table1 block if there is one (for
    `table1-quick`), else after its title, before a completion block."""
    start, end = markers(name)
    generated = f"{start}\n{block}\n{end}"
    if start in existing and end in existing:
        pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
        return pattern.sub(lambda _: generated, existing, count=1)
    if name != "table1" and END in existing:
        head, tail = existing.split(END, 1)
        return f"{head}{END}\n\n{generated}{tail}"
    if not existing.strip():
        return f"# Results\n\n{generated}\n\n{COMPLETION}"
    title = ""
    if existing.startswith("# "):
        title, existing = (
            existing.split("\n", 1)[0] + "\n\n",
            existing.split("\n", 1)[1].lstrip("\n"),
        )
    elif "<!-- completion:start -->" in existing:
        title = "# Results\n\n"
    if existing.lstrip().startswith("<!-- completion:start -->") or not existing.strip():
        return f"{title}{generated}\n\n{existing}"
    return f"{title}{existing.rstrip()}\n\n{generated}\n"


def write_report(
    table: Mapping[str, Any],
    docs: Path,
    chart: Path,
    block: str = "table1",
    source: str = "results/table1.json",
) -> None:
    """Rewrite the `block` of `docs` and the chart (written beside `docs` as named). The
    page is read and written `updating` it: another command's block written meanwhile (the
    DBP-5L one) is kept, not replaced by the page as it was before."""
    docs, chart = Path(docs), Path(chart)
    curve_chart = curve_chart_path(chart)
    rendered = render(table, block, source).replace("](table1.png)", f"]({chart.name})")
    rendered = rendered.replace(f"]({CURVE_CHART})", f"]({curve_chart.name})")
    with updating(docs, "--docs"):
        existing = docs.read_text("utf-8") if docs.is_file() else ""
        text = replace_block(existing, rendered, block)
        with atomic_file(docs, "--docs") as staging:
            staging.write_text(text, "utf-8")
    write_chart(table, chart)
    chosen = selected_curve(table)
    if chosen is not None:
        from prixlm.experiments.curve import plot_curve

        plot_curve(chosen[1], curve_chart, f"Prix-LM (All) {chosen[0]}: validation curve")


def curve_chart_path(chart: Path) -> Path:
    """Prix-LM (All)'s validation-curve PNG, beside the Table 1 chart: `<chart>_all_curve.png`."""
    return Path(chart).with_name(Path(chart).stem + "_all_curve.png")


def main(argv: list[str] | None = None) -> None:
    parser = command_parser("prixlm.experiments.table1_docs", __doc__.splitlines()[0])
    parser.add_argument(
        "--results", type=Path, default=Path("results/table1.json"), help="the JSON to render"
    )
    parser.add_argument(
        "--docs",
        type=Path,
        default=Path("docs/results.md"),
        help="Markdown file whose block is rewritten",
    )
    parser.add_argument(
        "--chart", type=Path, default=Path("docs/table1.png"), help="the bar chart PNG"
    )
    parser.add_argument(
        "--block", default="table1", choices=sorted(BLOCKS), help="which block of --docs"
    )
    args = parser.parse_args(argv)
    with user_errors():
        table = read_json(args.results, "--results")
        check_table1_results(table, args.results)
        write_report(table, args.docs, args.chart, args.block, args.results.as_posix())


if __name__ == "__main__":
    main()
