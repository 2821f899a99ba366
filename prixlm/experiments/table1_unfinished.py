"""What a Table 1 page has no numbers for, said on the page rather than left out.

The runner rewrites `results/table1.json` and its page after every finished job, and after
failed jobs or jobs stopped at `--deadline_s`: such a JSON lacks the rows of the jobs that
did not finish. `table1_docs.render` names them with the lines made here: the methods (or
the languages of a method) without numbers, as the DBP-5L page does ("Not measured in this
run: ..."), the jobs of the run's plan (`table1.plan_jobs` of its `profile`) without a
record in `jobs_finished`, and why there are no paired differences. A complete run's JSON
gives no line and the paired note it always had.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from prixlm.experiments.table1 import KGE_METHODS, PAIRS, UNION, plan_jobs

ALL, SINGLE = "Prix-LM (All)", "Prix-LM (Single)"
#: Table 1's methods, each planned by every run (`table1.plan_jobs`)
METHODS = (*KGE_METHODS, UNION, SINGLE, ALL)
#: the note of a run whose methods are all measured but whose records keep no ranks
NO_RANKS = (
    "**Paired differences**: none (the jobs' records keep no per-query test ranks; "
    "a run of today's code keeps them and shows All against each method query by "
    "query here)."
)


def planned_jobs(table: Mapping[str, Any]) -> list[str]:
    """The job names `table1.plan_jobs` gives the run's `profile` over its `languages`, in
    the plan's order; empty for a JSON whose profile does not say (made by hand, or by a
    runner that recorded less). Only the names are used: paths and digests are stand-ins."""
    profile = table.get("profile")
    if not isinstance(profile, Mapping):
        return []
    profile = {**profile, "languages": list(table["languages"])}
    datasets: dict[str, Path] = defaultdict(lambda: Path("data"))
    digests: dict[str, str] = defaultdict(str, main="", tokenizer="")
    try:
        return list(plan_jobs(profile, Path("work"), datasets, Path("tokenizer"), 0, digests))
    except (KeyError, TypeError, ValueError, AttributeError):  # a profile without a plan
        return []


def unfinished_jobs(table: Mapping[str, Any]) -> list[str]:
    """The planned jobs without a record in `jobs_finished`, sorted (as the runner names
    them); empty for a JSON without `jobs_finished` or a plan."""
    if not isinstance(table.get("jobs_finished"), list):
        return []
    finished = set(table["jobs_finished"])
    return sorted(name for name in planned_jobs(table) if name not in finished)


def job_method(name: str) -> str:
    """The method a planned job's record fills (`table1.assemble`): `all-<variant>`,
    `single-<variant>-<lang>`, `kge-union-RotatE`, `kge-<model>-<lang>`."""
    if name.startswith("all-"):
        return ALL
    if name.startswith("single-"):
        return SINGLE
    if name == "kge-union-RotatE":
        return UNION
    return name.split("-")[1]


def missing_languages(table: Mapping[str, Any], method: str) -> list[str]:
    """The table's languages for which `method` has no cell (every one when it has no row)."""
    cells = table["methods"].get(method) or {}
    return [lang for lang in table["languages"] if lang not in cells]


def not_measured(table: Mapping[str, Any]) -> dict[str, list[str]]:
    """`{method: its languages without numbers}` for each of Table 1's methods that lacks
    some, in `METHODS` order."""
    missing = {method: missing_languages(table, method) for method in METHODS}
    return {method: languages for method, languages in missing.items() if languages}


def _and(words: Sequence[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _jobs(names: Sequence[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def unfinished_section(table: Mapping[str, Any]) -> str:
    """The line "Not measured in this run: ..." (each method without numbers, with the languages it
    lacks where it has some), then the planned jobs that did not finish; empty when
    nothing is missing."""
    missing, jobs = not_measured(table), unfinished_jobs(table)
    languages = table["languages"]
    lines = []
    if missing:
        shown = [method if len(langs) == len(languages) else f"{method} for {_and(langs)}"
                 for method, langs in missing.items()]  # fmt: skip
        lines.append("Not measured in this run: " + ", ".join(shown) + ".")
    if jobs:
        lines.append(
            "Jobs without a record when this was written (failed, stopped at the deadline, "
            f"or still running): {_jobs(jobs)}."
        )
    return " ".join(lines)


def no_pairs_line(table: Mapping[str, Any]) -> str:
    """Why the page has no paired differences: Prix-LM (All), which every pair compares
    query by query with another method, or all the methods it is compared with, not
    measured in this run (naming All's jobs that did not finish); else the records keep no
    per-query ranks."""
    first = ALL  # the first method of every pair
    if missing_languages(table, first):
        jobs = [name for name in unfinished_jobs(table) if job_method(name) == first]
        why = f": its job{'s' if len(jobs) > 1 else ''} {_jobs(jobs)} had not finished" if jobs else ""  # fmt: skip
        return (
            f"**Paired differences**: none ({first}, which each pair compares query by query "
            f"with another method, was not measured in this run{why})."
        )
    others = [second for one, second in PAIRS if one == first]
    lacking = [missing_languages(table, method) for method in others]
    if all(lacking):
        where = "" if all(len(langs) == len(table["languages"]) for langs in lacking) else " in every language"  # fmt: skip
        return (
            f"**Paired differences**: none ({_and(others)}, which the pairs compare query by "
            f"query with {first}, were not measured{where} in this run)."
        )
    return NO_RANKS
