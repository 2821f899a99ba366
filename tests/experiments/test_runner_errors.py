"""The results runners and their docs commands on bad input: one `error:` line naming the
argument or the file (and line), exit status 2, no traceback, checked before any work, and
nothing of the user's overwritten. Each of these cases was a traceback or silently ignored."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _error_line(capsys, module: str, argv: list[str]) -> str:
    """The one `error:` line of `module`'s `main(argv)`, which must exit 2 without a
    traceback (warnings aside)."""
    with pytest.raises(SystemExit) as exit_info:
        importlib.import_module(module).main([str(arg) for arg in argv])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("warning: ")]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def _no_work(monkeypatch, module: str, *names: str) -> None:
    """Replace `module`'s work functions: a check that let bad input through fails at once."""

    def work(*args, **kwargs):
        raise AssertionError("went on to the work with bad input")

    for name in names:
        monkeypatch.setattr(f"{module}.{name}", work)


def test_ablations_unknown_language_is_one_line(tmp_path, capsys):
    line = _error_line(
        capsys, "prixlm.experiments.ablations",
        ["--languages", "xx", "--work_dir", tmp_path / "w"],
    )  # fmt: skip
    assert "--languages: unknown CLDR locale(s) ['xx']" in line


@pytest.mark.parametrize(
    ("text", "message"),
    [('{"languages": ["en"], "runs": {', "not valid JSON (Expecting"),
     ("[1, 2]", "not an ablations file (no 'runs' object)")],
)  # fmt: skip
def test_ablations_output_that_is_not_its_json_is_refused_and_kept(
    tmp_path, capsys, monkeypatch, text, message
):
    _no_work(monkeypatch, "prixlm.experiments.ablations", "prepare_data", "prixlm_job")
    output = tmp_path / "abl.json"
    output.write_text(text, "utf-8")
    argv = ["--output", output, "--work_dir", tmp_path / "w"]
    line = _error_line(capsys, "prixlm.experiments.ablations", argv)
    assert line.startswith(f"error: --output {output}: {message}")
    assert output.read_text("utf-8") == text and not (tmp_path / "w").exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [("nowhere.json", "--merge_into {path}: No such file or directory"),
     ("bad.json", "--merge_into {path}: not valid JSON"),
     ("list.json", "--merge_into {path}: not a Table 1 results file (a JSON object expected"),
     ("dbp5l.json", "--merge_into {path}: not a Table 1 results file: methods["),
     ("no_methods.json", "--merge_into {path}: not a Table 1 results file: no 'methods'")],
)  # fmt: skip
def test_ablations_merge_into_is_checked_before_any_run(
    tmp_path, capsys, monkeypatch, name, message
):
    """It was read only after every run (hours), unchecked: a typo lost the merge."""
    _no_work(monkeypatch, "prixlm.experiments.ablations", "prepare_data", "prixlm_job")
    contents = {"bad.json": '{"a":', "list.json": "[]",
                "dbp5l.json": (ROOT / "results" / "dbp5l.json").read_text("utf-8"),
                "no_methods.json": json.dumps({"languages": ["en"]})}  # fmt: skip
    path = tmp_path / name
    if name in contents:
        path.write_text(contents[name], "utf-8")
    argv = ["--merge_into", path, "--work_dir", tmp_path / "w"]
    line = _error_line(capsys, "prixlm.experiments.ablations", argv)
    assert message.format(path=path) in line
    assert not (tmp_path / "w").exists()
    if name in contents:
        assert path.read_text("utf-8") == contents[name]


def test_ablations_merge_into_a_table1_file_passes_the_check(tmp_path, monkeypatch):
    from prixlm.experiments import ablations

    class Checked(Exception):
        pass

    def prepare_data(*args, **kwargs):
        raise Checked

    monkeypatch.setattr(ablations, "prepare_data", prepare_data)
    with pytest.raises(Checked):
        ablations.main(["--merge_into", str(ROOT / "results" / "table1.json"),
                        "--work_dir", str(tmp_path / "w")])  # fmt: skip


@pytest.mark.parametrize(
    ("module", "extra"),
    [("prixlm.experiments.ablations", []),
     ("prixlm.experiments.dbp5l", ["--profile", "toy", "--data", "{layout}"])],
)  # fmt: skip
def test_a_work_dir_that_is_a_file_is_one_line_and_the_file_is_kept(
    tmp_path, capsys, monkeypatch, module, extra
):
    if module.endswith("dbp5l"):
        pytest.importorskip("pykeen")
    layout = _layout(tmp_path / "kens")
    work_dir = tmp_path / "bad.json"
    work_dir.write_text('{"a":\n', "utf-8")
    argv = [arg.format(layout=layout) for arg in extra] + ["--work_dir", str(work_dir)]
    line = _error_line(capsys, module, argv)
    assert line == f"error: {work_dir}: File exists"
    assert work_dir.read_text("utf-8") == '{"a":\n'


def _layout(root: Path, train_en: str = "0\t0\t1\n1\t0\t0\n") -> Path:
    """A KEnS-layout folder of en and ja (`train_en`: en's train split)."""
    (root / "entity").mkdir(parents=True)
    (root / "kg").mkdir()
    (root / "seed_alignlinks").mkdir()
    (root / "relations.txt").write_text("http://dbpedia.org/ontology/country\n", "utf-8")
    for lang, host in (("en", "dbpedia.org"), ("ja", "ja.dbpedia.org")):
        names = "".join(f"http://{host}/resource/E{i}\n" for i in range(3))
        (root / "entity" / f"{lang}.tsv").write_text(names, "utf-8")
        for split in ("train", "val", "test"):
            text = train_en if (lang, split) == ("en", "train") else "0\t0\t1\n"
            (root / "kg" / f"{lang}-{split}.tsv").write_text(text, "utf-8")
    (root / "seed_alignlinks" / "ja-en.tsv").write_text("0.0\t0.0\n", "utf-8")
    return root


def test_dbp5l_a_malformed_layout_line_names_its_file_and_line(tmp_path, capsys):
    pytest.importorskip("pykeen")
    layout = _layout(tmp_path / "kens", train_en="0\t0\t1\n3\t0\n")
    argv = ["--profile", "toy", "--data", layout, "--work_dir", tmp_path / "w"]
    line = _error_line(capsys, "prixlm.experiments.dbp5l", argv)
    assert f"{layout}/kg/en-train.tsv:2: expected 3 tab-separated ids" in line
    assert not (tmp_path / "w" / "data").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [(None, "--published {path}: no such file"),
     ('{"X":', "--published {path}: not valid JSON"),
     ('{"X": {"en": 3, "source": "s"}}', "--published {path}: 'X': expected {{language:"),
     ('{"X": {"en": {"mrr": 30}, "source": "s"}}',
      "--published {path}: 'X': en mrr=30 is not in [0, 1]")],
)  # fmt: skip
def test_dbp5l_published_is_checked_before_any_work(tmp_path, capsys, monkeypatch, text, message):
    """A --published path that does not exist was silently ignored (no published rows)."""
    pytest.importorskip("pykeen")
    _no_work(monkeypatch, "prixlm.experiments.dbp5l", "prepare_dataset", "prepare_tokenizer")
    path = tmp_path / "typo.json"
    if text is not None:
        path.write_text(text, "utf-8")
    argv = ["--profile", "toy", "--data", _layout(tmp_path / "kens"), "--work_dir",
            tmp_path / "w", "--published", path]  # fmt: skip
    line = _error_line(capsys, "prixlm.experiments.dbp5l", argv)
    assert message.format(path=path) in line
    assert not (tmp_path / "w").exists()


def test_dbp5l_default_published_file_is_in_the_package():
    """The default --published is the package's own file (package data): always there, so a
    missing file is always an error."""
    pytest.importorskip("pykeen")
    from prixlm.experiments import dbp5l
    from prixlm.experiments.published import PUBLISHED_FILE

    assert PUBLISHED_FILE.is_file() and dbp5l.load_published(PUBLISHED_FILE)
    assert "dbp5l_published.json" in (ROOT / "pyproject.toml").read_text("utf-8")


def _docs_argv(tmp_path, module, results):
    """`(docs, argv)`: a page holding `kept` and the docs command's arguments for `results`
    (table1_docs also writes a chart)."""
    docs = tmp_path / "results.md"
    docs.write_text("# Results\n\nkept\n", "utf-8")
    argv = ["--results", results, "--docs", docs]
    if module.endswith("table1_docs"):
        argv += ["--chart", tmp_path / "t.png"]
    return docs, argv


@pytest.mark.parametrize(
    ("module", "other", "message"),
    [("prixlm.experiments.table1_docs", "dbp5l.json",
      "--results {path}: not a Table 1 results file: methods['TransE']['el'] has no 'hits_at_3' "
      "(a DBP-5L results file: render it with python -m prixlm.experiments.dbp5l_docs)"),
     ("prixlm.experiments.dbp5l_docs", "table1.json",
      "--results {path}: not a DBP-5L results file: no 'methods_by_protocol' object (a Table 1 "
      "results file: render it with python -m prixlm.experiments.table1_docs)"),
     ("prixlm.experiments.table1_docs", "nowhere.json",
      "--results {path}: No such file or directory"),
     ("prixlm.experiments.dbp5l_docs", "nowhere.json",
      "--results {path}: No such file or directory")],
)  # fmt: skip
def test_docs_commands_refuse_the_other_results_file(tmp_path, capsys, module, other, message):
    """Each was a KeyError traceback (given the other runner's JSON), or exit status 1."""
    results = ROOT / "results" / other
    docs, argv = _docs_argv(tmp_path, module, results)
    line = _error_line(capsys, module, argv)
    assert line == "error: " + message.format(path=results)
    assert docs.read_text("utf-8") == "# Results\n\nkept\n" and not (tmp_path / "t.png").exists()


@pytest.mark.parametrize(
    ("module", "source", "cell", "value", "shown"),
    [("prixlm.experiments.table1_docs", "table1.json", ("methods", "TransE", "en"), "0.38",
      "'0.38'"),
     ("prixlm.experiments.table1_docs", "table1.json", ("methods", "TransE", "en"), None, "None"),
     ("prixlm.experiments.table1_docs", "table1.json", ("methods", "TransE", "en"), 38.8, "38.8"),
     ("prixlm.experiments.table1_docs", "table1.json", ("methods", "TransE", "en"),
      float("nan"), "nan"),
     ("prixlm.experiments.dbp5l_docs", "dbp5l.json",
      ("methods_by_protocol", "ours", "TransE", "el"), "0.38", "'0.38'"),
     ("prixlm.experiments.dbp5l_docs", "dbp5l.json",
      ("methods_by_protocol", "ours", "TransE", "el"), None, "None"),
     ("prixlm.experiments.dbp5l_docs", "dbp5l.json",
      ("methods_by_protocol", "ours", "TransE", "el"), 38.8, "38.8")],
)  # fmt: skip
def test_docs_commands_refuse_a_metric_that_is_not_a_fraction(
    tmp_path, capsys, module, source, cell, value, shown
):
    """A metric written by hand as a string or null was a TypeError traceback; a NaN or a
    percentage (38.8 for 0.388) was rendered as `nan` or `3880.0` into the docs."""
    table = json.loads((ROOT / "results" / source).read_text("utf-8"))
    node = table
    for key in cell:
        node = node[key]
    node["mrr"] = value
    results = tmp_path / "results.json"
    results.write_text(json.dumps(table), "utf-8")
    docs, argv = _docs_argv(tmp_path, module, results)
    line = _error_line(capsys, module, argv)
    path = "".join(f"[{key!r}]" for key in cell[1:])
    assert line == (
        f"error: --results {results}: {cell[0]}{path}['mrr'] is {shown}: "
        "expected a fraction from 0 to 1"
    )
    assert docs.read_text("utf-8") == "# Results\n\nkept\n" and not (tmp_path / "t.png").exists()
