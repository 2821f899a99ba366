"""Table 1's RotatE with its whole search grid, per language: is the committed baseline tuned enough?

Table 1's full CPU run cut each RotatE search by its 2,400 CPU-s limit after 3 of the 8 grid
points. This runs the same search (profile `full`: the 8 points, validation every 25 epochs up
to 400, early stopping, seed 0, one thread per process) for each language on Table 1's data
(`table1_data.prepare_data`: the same split), split into parts of disjoint grid points that
run in parallel (`kge_search --points`; each point is seeded afresh, so a point trained alone
is trained exactly as in the whole search). The parts' records are merged: every point, the
winner on validation MRR, its validation and test metrics; beside them Table 1's figures for
the language, and whether the points Table 1 ran were reproduced exactly.

    python results/table1_rotate_check.py --work_dir outputs/table1 \
        --languages en,fi --parts D=1,2,4 E=3,5,6,7,8 --output results/table1_rotate_check.json

A language's records in the work dir are used as they are, whatever layout of parts made them
(each part's points read from its record); only the points they do not hold are run, as the
`--parts` layout less those points; so a stopped check goes on with the same command from the
parts that had finished.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from prixlm.experiments.profiles import PAPER_LANGUAGES, get_profile, kge_grid
from prixlm.experiments.table1_data import prepare_data
from prixlm.outputs.atomic import atomic_file, write_json

#: its docs block's markers in docs/results.md
START, END = "<!-- rotate-check:start -->", "<!-- rotate-check:end -->"
#: what tells the grid's configurations apart
CONFIG_KEYS = (
    "embedding_dim",
    "learning_rate",
    "num_negatives",
    "margin",
    "adversarial_temperature",
)
#: the default parts run in parallel: dimension 512, the six cheaper points, dimension 1000
PARTS = {"A": [3], "B": [1, 2, 5, 6, 7, 8], "C": [4]}
#: how many points the `full` RotatE grid has
GRID_SIZE = 8


def parse_parts(specs: list[str]) -> dict[str, list[int]]:
    """`["D=1,2,4", "E=3,5,6,7,8"]` -> `{"D": [1, 2, 4], "E": [3, 5, 6, 7, 8]}`: disjoint parts
    that together cover the grid's points 1..8 (an error names `--parts` otherwise)."""
    parts: dict[str, list[int]] = {}
    for spec in specs:
        name, _, points = spec.partition("=")
        try:
            parts[name] = [int(point) for point in points.split(",")]
        except ValueError:
            raise SystemExit(f"--parts {spec!r}: expected NAME=POINTS, e.g. D=1,2,4") from None
        if not name.isalnum():
            raise SystemExit(f"--parts {spec!r}: a part's name is letters and digits")
    chosen = [point for points in parts.values() for point in points]
    if not covers_grid(chosen):
        raise SystemExit(
            f"--parts {' '.join(specs)}: the parts must hold each of the points 1..{GRID_SIZE}"
            f" exactly once (they hold {sorted(chosen)})"
        )
    return parts


def covers_grid(points: list[int]) -> bool:
    """Whether `points` hold each of the grid's points 1..GRID_SIZE exactly once."""
    return sorted(points) == list(range(1, GRID_SIZE + 1))


def run_parts(
    data: Path, language: str, time_limit: float, out_dir: Path, parts: dict[str, list[int]]
) -> dict[str, dict[str, Any]]:
    """`language`'s part records (`{part: record}`) from `out_dir` (`rotate-<language>-<part>.json`).

    Records already there are parts whatever layout made them (each part's points read from its
    record); the points they do not hold run as `parts` less those points (`plan_parts`), one
    `kge_search` process (one thread) per part, in parallel. An error names `out_dir` when the
    records repeat a point or, after the runs, miss one.
    """
    records = {path.stem.removeprefix(f"rotate-{language}-"): json.loads(path.read_text("utf-8"))
               for path in sorted(out_dir.glob(f"rotate-{language}-*.json"))}  # fmt: skip
    held = _check_points(records, language, out_dir, complete=False)
    env = {**os.environ, "PRIXLM_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    outputs, running = {}, []
    for name, points in plan_parts(parts, held, set(records)).items():
        outputs[name] = out_dir / f"rotate-{language}-{name}.json"
        command = [sys.executable, "-m", "prixlm.experiments.kge_search", "--dataset", str(data),
                   "--language", language, "--model", "RotatE", "--profile", "full",
                   "--points", ",".join(map(str, points)), "--time_limit", str(time_limit),
                   "--output", str(outputs[name])]  # fmt: skip
        running.append(subprocess.Popen(command, env=env))
    if any(process.wait() for process in running):
        raise SystemExit("a search part failed (its output is above)")
    records |= {name: json.loads(path.read_text("utf-8")) for name, path in outputs.items()}
    _check_points(records, language, out_dir, complete=True)
    return records


def plan_parts(
    parts: dict[str, list[int]], held: set[int], taken: set[str]
) -> dict[str, list[int]]:
    """The parts still to run: each of `parts` less the points `held` by records, dropped when
    none is left; a part whose name a record has `taken` is named by its points too (`D48`)."""
    plan = {}
    for name, points in parts.items():
        todo = [point for point in points if point not in held]
        if todo:
            plan[name if name not in taken else name + "".join(map(str, todo))] = todo
    return plan


def _check_points(
    records: dict[str, dict[str, Any]], language: str, out_dir: Path, complete: bool
) -> set[int]:
    """The grid points `records` hold; refuses records that repeat a point or, when
    `complete`, miss one (naming `out_dir`)."""
    held = [point for record in records.values() for point in part_points(record)]
    if len(held) != len(set(held)) or (complete and not covers_grid(held)):
        raise SystemExit(f"{out_dir}: the records of {language} ({', '.join(sorted(records))})"
                         f" trained the points {sorted(held)}, not each of 1..{GRID_SIZE} once")  # fmt: skip
    return set(held)


def part_points(record: dict[str, Any]) -> list[int]:
    """The grid points (1-based) a part record trained."""
    return sorted({_position(entry) for entry in record["grid"]})


def merge(records: dict[str, dict[str, Any]], table1: dict[str, Any], language: str) -> dict:
    """The parts as one search: every point (with its grid position), the winner, its metrics;
    Table 1's figures for `language` and whether its points were reproduced."""
    grid = []
    for name, record in records.items():
        grid += [{"point": _position(entry), "part": name, **entry} for entry in record["grid"]]
    grid.sort(key=lambda entry: (entry["point"], entry["epochs"]))
    best = max(records.values(), key=lambda record: record["validation"][language]["mrr"])
    committed = table1["details"]["RotatE"][language]
    ran_here = {(entry["point"], entry["epochs"]): entry for entry in grid}
    same = [_same(ran_here.get((_position(before), before["epochs"])), before)
            for before in committed["grid"]]  # fmt: skip
    return {
        "language": language,
        "grid": grid,
        "points_run": sorted({entry["point"] for entry in grid}),
        "truncated_parts": [name for name, record in records.items() if record["grid_truncated"]],
        "winner": best["winner"],
        "validation": best["validation"][language],
        "test": best["test"][language],
        "seconds_per_part": {name: record["seconds"] for name, record in records.items()},
        "table1_points_reproduced": {"compared": len(same), "equal": sum(same)},
        "table1": {method: table1["methods"][method][language] for method in table1["methods"]},
        "table1_rotate_winner": committed["winner"],
        "table1_points_run": len({_position(entry) for entry in committed["grid"]}),
    }


def _position(entry: dict[str, Any]) -> int:
    """The 1-based position in the `full` RotatE grid of the configuration `entry` trained."""
    configs = [tuple(point[k] for k in CONFIG_KEYS) for point in kge_grid("RotatE", "full")]
    return configs.index(tuple(entry[k] for k in CONFIG_KEYS)) + 1


def _same(entry: dict[str, Any] | None, before: dict[str, Any]) -> bool:
    """Whether `entry` (None: not run here) has `before`'s validation figures to the last digit."""
    return entry is not None and all(
        entry[key] == before[key] for key in ("validation_mrr", "validation_hits_at_1")
    )


def _ending(entries: list[dict[str, Any]], cut: bool) -> str:
    """How a grid point's run ended: early stop, the last epoch point, or the time limit."""
    if entries[-1].get("stopped_early"):
        return f"stopped early at {entries[-1]['epochs']}"
    return f"cut by the time limit at {entries[-1]['epochs']}" if cut else "ran to 400"


def render(check: dict[str, Any], source: str) -> str:
    """The docs block of `check` (`{"command", "languages": {language: merge's dict}}`)."""
    merged = check["languages"]
    languages = list(merged)
    reproduced = [m["table1_points_reproduced"] for m in merged.values()]
    cut_at = ", ".join(f"`{lang}` after {m['table1_points_run']}" for lang, m in merged.items())
    lines = [
        f"## PyKEEN RotatE on its whole search grid, {', '.join(languages)} (CPU check of Table 1)",
        "",
        "Table 1's full CPU run cut each RotatE search by its 2,400 CPU-s limit "
        f"({cut_at} of the 8 grid points). Here the same search (profile `full`: the 8 points,",
        "validation every 25 epochs up to 400, early stopping; seed 0, one thread per process)",
        "ran on Table 1's split with every point, in processes of disjoint grid points (each",
        "point is seeded afresh, so alone it trains exactly as in the whole search: the points",
        f"Table 1 ran were reproduced, {sum(r['equal'] for r in reproduced)} of "
        f"{sum(r['compared'] for r in reproduced)} validation evaluations equal to the last digit).",
        f"Raw numbers: `{source}`; command: `{check['command']}`."
        + (f" Machine: {check['machine']}." if check.get("machine") else ""),
    ]
    for language, result in merged.items():
        lines += ["", f"{language}:", "", *_point_table(result)]
    table1 = {lang: m["table1"] for lang, m in merged.items()}
    header = " | ".join(f"{lang} hits@1 | {lang} MRR" for lang in languages)
    lines += ["", f"| test (%) | {header} |", "|---|" + "---:|" * 2 * len(languages)]
    winners = ", ".join(f"{lang}: point {_position(m['winner'])}, {m['winner']['epochs']} epochs"
                        for lang, m in merged.items())  # fmt: skip
    rows = [
        (f"RotatE, the whole grid ({winners})", {lang: m["test"] for lang, m in merged.items()})
    ]
    rows += [(f"{method}, Table 1", {lang: table1[lang][method] for lang in languages})
             for method in table1[languages[0]]]  # fmt: skip
    for name, by_language in rows:
        cells = " | ".join(f"{100 * by_language[lang]['hits_at_1']:.1f} |"
                           f" {100 * by_language[lang]['mrr']:.1f}" for lang in languages)  # fmt: skip
        lines.append(f"| {name} | {cells} |")
    gaps = {  # All minus RotatE, points: hits@1, MRR over the whole grid's, then Table 1's
        language: [100 * (result["table1"]["Prix-LM (All)"][k] - rotate[k])
                   for rotate in (result["test"], result["table1"]["RotatE"])
                   for k in ("hits_at_1", "mrr")]
        for language, result in merged.items()
    }  # fmt: skip

    def lead(g: list[float]) -> str:
        return f"{g[0]:+.1f} / {g[1]:+.1f} (over Table 1's RotatE: {g[2]:+.1f} / {g[3]:+.1f})"

    leads = [f"`{language}` {lead(g)}" for language, g in gaps.items()]
    seconds = sum(sum(m["seconds_per_part"].values()) for m in merged.values())
    mean = [sum(column) / len(gaps) for column in zip(*gaps.values(), strict=True)]
    complete = len(languages) == len(PAPER_LANGUAGES.split(","))
    covered = (
        "All nine of Table 1's languages"
        if complete
        else f"{len(languages)} of Table 1's nine languages"
    )
    lines += [
        "",
        f"Prix-LM (All)'s lead over the fully searched RotatE, hits@1 / MRR points: {'; '.join(leads)}.",
        f"On average over these languages: {lead(mean)}.",
        f"{covered}, one seed; these searches took {seconds:,.0f} CPU s in all"
        + ("." if complete else
           ", so the other languages' searches are left to a run with a GPU or more cores."),
    ]  # fmt: skip
    return "\n".join(lines)


def _point_table(result: dict[str, Any]) -> list[str]:
    """Markdown rows: each grid point's best validation epoch and how its run ended."""
    grid = result["grid"]
    by_point: dict[int, list[dict[str, Any]]] = {}
    for entry in grid:
        by_point.setdefault(entry["point"], []).append(entry)
    last_of_cut = {max(e["point"] for e in grid if e["part"] == part)
                   for part in result["truncated_parts"]}  # fmt: skip
    base = kge_grid("RotatE", "full")[0]
    lines = ["| point | configuration (the base point, one change) | best epoch | validation hits@1 |"
             " validation MRR | how it ended |", "|---:|---|---:|---:|---:|---|"]  # fmt: skip
    for point, entries in sorted(by_point.items()):
        best = max(entries, key=lambda e: e["validation_mrr"])
        change = [f"{k}={entries[0][k]}" for k in CONFIG_KEYS if entries[0][k] != base[k]]
        lines.append(
            f"| {point} | {', '.join(change) or 'base: ' + _base_text(base)} | {best['epochs']} |"
            f" {100 * best['validation_hits_at_1']:.1f} | {100 * best['validation_mrr']:.1f} |"
            f" {_ending(entries, point in last_of_cut)} |"
        )
    return lines


def _base_text(base: dict[str, Any]) -> str:
    return ", ".join(f"{k}={base[k]}" for k in CONFIG_KEYS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work_dir", type=Path, required=True, help="Table 1's work dir")
    parser.add_argument("--languages", default="en", help="comma-separated, each searched alone")
    parser.add_argument("--time_limit", type=float, default=6600.0, help="CPU s per part")
    parser.add_argument("--table1", type=Path, default=Path("results/table1.json"))
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--docs", type=Path, default=None, help="docs/results.md: its block")
    parser.add_argument("--machine", default="", help="where the parts ran, for the JSON")
    parser.add_argument("--ran_as", default="", help="how the parts were started, for the JSON")
    parser.add_argument(
        "--parts",
        nargs="+",
        default=[f"{name}={','.join(map(str, points))}" for name, points in PARTS.items()],
        help="the parallel parts, NAME=POINTS each (default: A=3 B=1,2,5,6,7,8 C=4), less the "
        "points a language's records in the work dir hold",
    )
    args = parser.parse_args()
    parts = parse_parts(args.parts)
    profile = get_profile("full")
    datasets = prepare_data(args.work_dir, PAPER_LANGUAGES.split(","), pivot=profile["pivot"])
    out_dir = args.work_dir / "rotate_check"
    out_dir.mkdir(parents=True, exist_ok=True)
    table1 = json.loads(args.table1.read_text("utf-8"))
    check: dict[str, Any] = {
        "command": f"python results/table1_rotate_check.py --work_dir {args.work_dir} --languages"
        f" {args.languages} --time_limit {args.time_limit:g} --parts {' '.join(args.parts)}"
        f" --output {args.output}",
        "machine": args.machine,
        **({"ran_as": args.ran_as} if args.ran_as else {}),
        "languages": {},
        "parts": {},
    }
    for language in args.languages.split(","):
        records = run_parts(datasets["main"], language, args.time_limit, out_dir, parts)
        check["languages"][language] = merge(records, table1, language)
        check["parts"][language] = {name: {"points": part_points(record), "record": record}
                                    for name, record in records.items()}  # fmt: skip
    write_json(check, args.output)
    if args.docs:
        text = args.docs.read_text("utf-8")
        if START not in text or END not in text:
            raise SystemExit(f"--docs {args.docs}: no {START} ... {END} block to replace")
        head, rest = text.split(START, 1)
        block = f"{START}\n{render(check, str(args.output))}\n{END}"
        with atomic_file(args.docs, "--docs") as staging:
            staging.write_text(head + block + rest.split(END, 1)[1], "utf-8")
    for language, result in check["languages"].items():
        test = {k: result["test"][k] for k in ("hits_at_1", "hits_at_10", "mrr")}
        print(language, json.dumps({"winner": result["winner"], "test": test,
                                    "points_run": result["points_run"]}))  # fmt: skip


if __name__ == "__main__":
    main()
