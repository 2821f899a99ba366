"""Files that several commands change a part of, or write as a pair, keep every command's
part when two finish at once (`prixlm.outputs.atomic.updating`): each test runs two real
processes in the order that lost an update (`two_writers`: A is about to write, B reads or
writes the file meanwhile)."""

from __future__ import annotations

import json
import shutil

import pytest
from lock_holder import lock_held
from two_writers import ROOT, run_two

from prixlm.completion.output import default_tsv_path
from prixlm.experiments import dbp5l_docs, table1_docs
from prixlm.experiments.table1 import write_outputs
from prixlm.outputs import atomic
from prixlm.similarity.study_docs import render, write_docs


def _ok(*done) -> None:
    for process in done:
        assert process.returncode == 0, process.stderr[-3000:]


def test_table1_and_dbp5l_blocks_written_at_once_are_both_kept(tmp_path):
    table1, dbp5l = tmp_path / "table1.json", tmp_path / "dbp5l.json"
    shutil.copy(ROOT / "results" / "table1.json", table1)
    shutil.copy(ROOT / "results" / "dbp5l.json", dbp5l)
    page, chart = tmp_path / "docs" / "results.md", tmp_path / "docs" / "table1.png"
    page.parent.mkdir()
    page.write_text("# Results\n", "utf-8")
    a = f"""
from two_writers import pause_before
from prixlm.experiments import table1_docs
pause_before(table1_docs, "atomic_file")  # it has read the page; the page is written next
table1_docs.main(["--results", {str(table1)!r}, "--docs", {str(page)!r}, "--chart", {str(chart)!r}])
"""
    b = f"""
from two_writers import signal_after, signal_on_lock_wait
from prixlm.experiments import dbp5l_docs
signal_on_lock_wait()
signal_after(dbp5l_docs, "replace_block")  # it has read the page
dbp5l_docs.main(["--results", {str(dbp5l)!r}, "--docs", {str(page)!r}])
"""
    _ok(*run_two(a, b, tmp_path / "signals"))

    one_after_the_other = tmp_path / "sequential" / "results.md"
    one_after_the_other.parent.mkdir()
    one_after_the_other.write_text("# Results\n", "utf-8")
    table = json.loads(table1.read_text("utf-8"))
    table1_docs.write_report(table, one_after_the_other, one_after_the_other.parent / chart.name)
    dbp5l_docs.write_docs(json.loads(dbp5l.read_text("utf-8")), one_after_the_other)
    text = page.read_text("utf-8").replace(table1.as_posix(), "results/table1.json")
    text = text.replace(dbp5l.as_posix(), "results/dbp5l.json")
    assert table1_docs.START in text and dbp5l_docs.START in text
    assert text == one_after_the_other.read_text("utf-8")
    assert sorted(p.name for p in page.parent.iterdir()) == sorted(
        p.name for p in one_after_the_other.parent.iterdir()
    )  # no staging or marker left


def _table1_and_ablations() -> tuple[dict, dict]:
    table = json.loads((ROOT / "results" / "table1.json").read_text("utf-8"))
    return table, table.pop("ablations")


def test_an_ablations_merge_and_a_table1_refresh_at_once_keep_both(tmp_path):
    earlier, ablations = _table1_and_ablations()
    results = tmp_path / "table1.json"
    results.write_text(json.dumps(earlier), "utf-8")  # the last refresh's, no ablations yet
    new = {**earlier, "wall_seconds": 12345.0}  # this refresh's
    (tmp_path / "new.json").write_text(json.dumps(new), "utf-8")
    (tmp_path / "ablations.json").write_text(json.dumps(ablations), "utf-8")
    docs, chart = tmp_path / "results.md", tmp_path / "table1.png"
    a = f"""
import json
from two_writers import pause_before
from prixlm.experiments import table1
pause_before(table1, "write_json")  # the refresh is about to write the JSON
table = json.loads(open({str(tmp_path / "new.json")!r}).read())
table1.write_outputs(table, {str(results)!r}, {str(docs)!r}, {str(chart)!r})
"""
    b = f"""
import json
from pathlib import Path
from two_writers import signal_after, signal_on_lock_wait
from prixlm.experiments import ablations
signal_on_lock_wait()
signal_after(ablations, "write_json")  # it has read the file and written it back
result = json.loads(open({str(tmp_path / "ablations.json")!r}).read())
ablations.merge_ablations(result, Path({str(results)!r}))
"""
    _ok(*run_two(a, b, tmp_path / "signals"))
    final = json.loads(results.read_text("utf-8"))
    assert final["wall_seconds"] == 12345.0  # the refresh's table
    assert final["ablations"] == ablations  # and the merge (on the page from the next refresh)


def test_a_table1_refresh_keeps_the_merged_ablations(tmp_path):
    """`make table1` again after `ablations --merge_into results/table1.json`: the refresh
    wrote the table without them (JSON and page)."""
    earlier, ablations = _table1_and_ablations()
    results = tmp_path / "table1.json"
    results.write_text(json.dumps({**earlier, "ablations": ablations}), "utf-8")
    docs, chart = tmp_path / "results.md", tmp_path / "table1.png"
    write_outputs({**earlier, "wall_seconds": 1.0}, results, docs, chart)
    final = json.loads(results.read_text("utf-8"))
    assert final["wall_seconds"] == 1.0 and final["ablations"] == ablations
    assert "### Ablations (Prix-LM All on en, de, ja" in docs.read_text("utf-8")


def test_two_completions_into_one_output_at_once_leave_one_runs_pair(tmp_path):
    nt = tmp_path / "new_facts.nt"
    proposal = """
from prixlm.completion.knowledge import CompletionQuery
from prixlm.completion.propose import Proposal
query = CompletionQuery("http://e/s", "S", "http://r/p", "p")
proposals = [Proposal(query, "http://e/{0}", "{0}", 0.9, 1)]
"""
    a = f"""
from pathlib import Path
from two_writers import pause_before
from prixlm.completion import output
from prixlm.outputs import atomic
{proposal.format("A")}
pause_before(atomic, "publish", lambda staging, final, *rest: Path(final).suffix == ".nt")
output.write_proposals(proposals, {str(nt)!r}, {str(default_tsv_path(nt))!r}, "# run A\\n")
"""
    b = f"""
from two_writers import signal_after, signal_on_lock_wait
from prixlm.completion import output
{proposal.format("B")}
signal_on_lock_wait()
signal_after(output, "write_proposals")
output.write_proposals(proposals, {str(nt)!r}, {str(default_tsv_path(nt))!r}, "# run B\\n")
"""
    _ok(*run_two(a, b, tmp_path / "signals"))
    ntriples = nt.read_text("utf-8").splitlines()
    tsv = default_tsv_path(nt).read_text("utf-8").splitlines()
    assert ntriples[0] == "# run B"  # the run that finished last: its pair, both files
    assert ntriples[1].startswith("<http://e/s> <http://r/p> <http://e/B>")
    assert tsv[1].split("\t")[4:6] == ["http://e/B", "B"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "new_facts.nt", "new_facts.tsv", "signals"
    ]  # fmt: skip


def test_two_similarity_pages_written_at_once_leave_one_studys_page_and_chart(tmp_path):
    study = json.loads((ROOT / "results" / "similarity.json").read_text("utf-8"))
    for name, hits in (("a", 0.25), ("b", 0.75)):  # two studies: other last points
        curve = [*study["curve"][:-1], {**study["curve"][-1], "lp_hits_at_1": hits}]
        (tmp_path / f"{name}.json").write_text(json.dumps({**study, "curve": curve}), "utf-8")
    page, chart = tmp_path / "docs" / "similarity.md", tmp_path / "docs" / "similarity_curve.png"
    script = """
import json
from pathlib import Path
from prixlm.similarity import study_docs
results = json.loads(Path({0!r}).read_text("utf-8"))
study_docs.write_docs(results, Path({1!r}), Path({2!r}))
"""
    a = f"""
from pathlib import Path
from two_writers import pause_before
from prixlm.outputs import atomic
pause_before(atomic, "publish", lambda staging, final, *rest: Path(final).suffix == ".md")
{script.format(str(tmp_path / "a.json"), str(page), str(chart))}
"""
    b = f"""
from two_writers import signal_after, signal_on_lock_wait
from prixlm.similarity import study_docs
signal_on_lock_wait()
signal_after(study_docs, "write_docs")
{script.format(str(tmp_path / "b.json"), str(page), str(chart))}
"""
    _ok(*run_two(a, b, tmp_path / "signals"))
    b_study = json.loads((tmp_path / "b.json").read_text("utf-8"))
    assert page.read_text("utf-8") == render(b_study, chart.name)  # the last to finish: B
    alone = tmp_path / "alone"
    alone.mkdir()
    write_docs(b_study, alone / page.name, alone / chart.name)
    assert chart.read_bytes() == (alone / chart.name).read_bytes()  # B's chart beside it


def test_an_update_waited_for_in_vain_names_the_writer(tmp_path, monkeypatch):
    """Another process holding the file's lock past `UPDATE_WAIT_S`: the message of a
    refused writer, naming that process."""
    page = tmp_path / "results.md"
    monkeypatch.setattr(atomic, "UPDATE_WAIT_S", 0.2)
    with lock_held(page) as pid, pytest.raises(atomic.OutputLockedError) as error:
        with atomic.updating(page, "--docs"):
            page.write_text("mine", "utf-8")
    assert str(error.value).startswith(f"--docs {page}: process {pid} on ")
    assert "is writing it; wait until it ends, or choose another --docs" in str(error.value)
    assert not page.exists()
