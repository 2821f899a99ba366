"""A partial Table 1 page (jobs that failed or were stopped at the deadline) names the
methods and jobs it has no numbers for, and why it has no paired differences; a complete
run's page is unchanged (the toy run of conftest.py's `table1_toy_run`, copied)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("pykeen")

from prixlm.experiments import job_runner, prixlm_jobs, table1  # noqa: E402
from prixlm.experiments.profiles import PROFILES, get_profile  # noqa: E402
from prixlm.experiments.table1_docs import main as docs_main  # noqa: E402
from prixlm.experiments.table1_docs import markers, render  # noqa: E402
from prixlm.experiments.table1_unfinished import (  # noqa: E402
    NO_RANKS,
    no_pairs_line,
    planned_jobs,
    unfinished_section,
)

ROOT = Path(__file__).resolve().parents[2]
JOBS_LINE = "Jobs without a record when this was written (failed, stopped at the deadline, or still running): "  # fmt: skip


def _copy_run(table1_toy_run, tmp_path: Path, drop: list[str]) -> tuple[list[str], Path]:
    """The toy run's argv over a copy of its work folder without the records `drop`, its
    outputs in `tmp_path`; and the page it writes."""
    root, argv, _ = table1_toy_run
    work = tmp_path / "work"
    shutil.copytree(root / "work", work)
    for name in drop:
        (work / "jobs" / f"{name}.json").unlink()
    docs = tmp_path / "results.md"
    moved = {"--work_dir": work, "--results": tmp_path / "table1.json", "--docs": docs,
             "--chart": tmp_path / "table1.png"}  # fmt: skip
    copied = [str(moved[argv[i - 1]]) if i and argv[i - 1] in moved else a for i, a in enumerate(argv)]  # fmt: skip
    return copied, docs


def _block(docs: Path) -> str:
    text = docs.read_text("utf-8")
    start, end = markers("table1")
    return text[text.index(start) + len(start) + 1 : text.index(end) - 1]


def test_failed_prixlm_jobs_are_named_on_the_page(table1_toy_run, tmp_path, monkeypatch):
    """Every Prix-LM job fails after the KGE jobs are done (as when a trained model cannot
    be loaded): the page showed the KGE rows only, with no word of Single and All, and gave
    "the jobs' records keep no per-query test ranks" as the reason for no paired rows."""
    prixlm = ["all-lr1e3", "all-pivot", "single-lr1e3-de", "single-lr1e3-en"]
    argv, docs = _copy_run(table1_toy_run, tmp_path, prixlm)

    def cannot_load(**kwargs):
        raise RuntimeError("the trained model could not be loaded")

    monkeypatch.setattr(prixlm_jobs, "prixlm_job", cannot_load)
    with pytest.raises(SystemExit) as exit_info:
        table1.main(argv)
    assert str(exit_info.value.code).startswith(f"error: jobs failed: {', '.join(prixlm)};")
    block = _block(docs)
    assert "| TransE |" in block and "| Prix-LM (All) |" not in block
    assert (
        "Not measured in this run: Prix-LM (Single), Prix-LM (All). "
        + JOBS_LINE
        + "`all-lr1e3`, `all-pivot`, `single-lr1e3-de`, `single-lr1e3-en`.\n"
    ) in block
    assert (
        "**Paired differences**: none (Prix-LM (All), which each pair compares query by query "
        "with another method, was not measured in this run: its jobs `all-lr1e3`, `all-pivot` "
        "had not finished).\n"
    ) in block
    assert "keep no per-query" not in block
    # the docs command renders the runner's JSON to the same page
    again = tmp_path / "again.md"
    docs_main(["--results", str(tmp_path / "table1.json"), "--docs", str(again),
               "--chart", str(tmp_path / "table1.png")])  # fmt: skip
    assert _block(again) == block


def test_jobs_stopped_at_the_deadline_are_named_on_the_page(table1_toy_run, tmp_path, monkeypatch):
    """Stopped at `--deadline_s` with TransE in de and both Singles to run: the page names
    them; All and RotatE are measured, so their paired difference is shown."""
    argv, docs = _copy_run(
        table1_toy_run, tmp_path, ["kge-TransE-de", "single-lr1e3-de", "single-lr1e3-en"]
    )

    def exit_at_once(status: int) -> None:  # the runner's os._exit would end pytest
        raise SystemExit(status)

    monkeypatch.setattr(job_runner, "_exit_at_once", exit_at_once)
    with pytest.raises(SystemExit) as exit_info:
        table1.main([*argv, "--deadline_s", "0.001"])
    assert exit_info.value.code == 3
    block = _block(docs)
    assert (
        "Not measured in this run: TransE for de, Prix-LM (Single). "
        + JOBS_LINE
        + "`kge-TransE-de`, `single-lr1e3-de`, `single-lr1e3-en`.\n"
    ) in block
    assert "| Prix-LM (All) - RotatE | ours |" in block
    assert "**Paired differences**: none" not in block


def test_all_alone_says_the_methods_it_is_compared_with_are_missing(table1_toy_run, tmp_path):
    """Only All's jobs finished (the others cut at the deadline): no pair, because none of
    the methods All is compared with was measured."""
    root, argv, _ = table1_toy_run
    full = json.loads((root / "table1.json").read_text("utf-8"))
    records = job_runner.load_records(root / "work" / "jobs")
    kept = {name: record for name, record in records.items() if name.startswith("all-")}
    table = table1.assemble(full["profile"], kept, full["kb"], 0.0, full["command"])
    assert not table["paired"]
    assert no_pairs_line(table) == (
        "**Paired differences**: none (Prix-LM (Single), TransE and RotatE, which the pairs "
        "compare query by query with Prix-LM (All), were not measured in this run)."
    )
    page = render(table)
    assert (
        "Not measured in this run: TransE, RotatE, RotatE (union graph), Prix-LM (Single). "
    ) in page
    assert no_pairs_line(table) + "\n" in page


def test_a_complete_run_names_nothing(table1_toy_run):
    """The toy run's plan is its nine jobs, all finished: no line, its paired rows."""
    root, _, table = table1_toy_run
    assert sorted(planned_jobs(table)) == sorted(table["jobs_finished"])
    assert len(table["jobs_finished"]) == 9 and unfinished_section(table) == ""
    assert "Not measured" not in (root / "docs" / "results.md").read_text("utf-8")


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_profile_has_a_plan_to_compare_with(name):
    """Each profile's JSON gives its jobs (a profile the plan cannot be read from would
    leave a partial page without the jobs line)."""
    profile = get_profile(name)
    profile["languages"] = profile["languages"].split(",")  # as `table1.main` records them
    table = {"languages": profile["languages"], "profile": profile}
    languages = len(profile["languages"])
    per_language = 2 + len(profile["single_variants"])  # TransE, RotatE, each Single
    assert len(planned_jobs(table)) == len(profile["all_variants"]) + 1 + languages * per_language
    assert len(set(planned_jobs(table))) == len(planned_jobs(table))


@pytest.mark.parametrize("source", ["results/table1.json", "results/table1_quick.json"])
def test_the_committed_complete_runs_render_as_before(source):
    """The committed runs finished every planned job: no line, the note they always had."""
    table = json.loads((ROOT / source).read_text("utf-8"))
    assert planned_jobs(table) and sorted(planned_jobs(table)) == sorted(table["jobs_finished"])
    assert unfinished_section(table) == ""
    assert NO_RANKS + "\n" in render(table, "table1", source)
