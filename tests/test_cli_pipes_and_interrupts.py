"""Ends of a command that are no user error: stdout closed by its reader (`cmd | head`),
Ctrl-C; and commands whose stdout is data (JSON) or whose inputs are all checked first."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from tiny_models import TINY_FACTS

ROOT = Path(__file__).resolve().parents[1]


def _python(script: str, **kwargs) -> subprocess.Popen:
    """`python -c script` from the repository, offline, its stdout and stderr piped."""
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


class _ClosedPipe:
    """A stdout whose reader has gone (`| true`): every write raises `BrokenPipeError`."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        pass


@pytest.fixture(scope="module")
def saved(tiny_prixlm, tmp_path_factory):
    """A saved tiny model and a one-language Parquet dataset with a test split."""
    from datasets import Dataset

    model, tokenizer = tiny_prixlm
    root = tmp_path_factory.mktemp("pipes")
    model.save_pretrained(root / "model")
    tokenizer.save_pretrained(root / "model")
    objects = defaultdict(set)
    for subject, relation, obj in TINY_FACTS:
        objects[subject, relation].add(obj)
    rows = [
        {"kind": "triple", "subject": s, "relation": r, "object": o,
         "subject_language": "en", "object_language": "en",
         "all_objects": sorted(objects[s, r])}
        for s, r, o in TINY_FACTS
    ]  # fmt: skip
    (root / "data" / "en").mkdir(parents=True)
    Dataset.from_list(rows[:-3]).to_parquet(root / "data" / "en" / "train.parquet")
    Dataset.from_list(rows[-3:]).to_parquet(root / "data" / "en" / "test.parquet")
    (root / "data" / "README.md").write_text(
        "---\nconfigs:\n- config_name: en\n  data_files:\n"
        "  - split: train\n    path: en/train.parquet\n"
        "  - split: test\n    path: en/test.parquet\n---\n",
        encoding="utf-8",
    )
    return root


def test_a_closed_stdout_keeps_the_report_and_exits_quietly(saved, monkeypatch, capsys):
    from prixlm.link_prediction.evaluate_lp import main

    output = saved / "report.json"
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "--model", str(saved / "model"), "--dataset", str(saved / "data"),
                "--languages", "en", "--split", "test", "--num_beams", "3",
                "--output", str(output),
            ]
        )  # fmt: skip
    assert exit_info.value.code == 141  # what a shell reports for SIGPIPE
    assert "error:" not in capsys.readouterr().err
    assert json.loads(output.read_text("utf-8"))["results"]["en"]["num_queries"] > 0


def test_a_real_closed_pipe_exits_141_without_a_word():
    """Its reader gone, the command stops at its next write; nothing on stderr, not even
    the interpreter's complaint about flushing stdout at exit."""
    script = (
        "from prixlm.cli import user_errors\n"
        "with user_errors():\n"
        "    for _ in range(10**6):\n"
        "        print('row ' * 20)\n"
    )
    process = _python(script)
    process.stdout.readline()
    process.stdout.close()  # `| head -1`
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 141
    assert stderr == ""


def test_ctrl_c_prints_interrupted_and_exits_130():
    script = (
        "import time, transformers.modeling_utils\n"
        "from prixlm.cli import user_errors\n"
        "with user_errors():\n"
        "    print('ready', flush=True)\n"
        "    time.sleep(60)\n"
    )
    # Ctrl-C's default in the child, whatever this run inherited (a shell runs a command it
    # puts in the background with SIGINT ignored)
    process = _python(script, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert process.stdout.readline().strip() == "ready"
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr
    assert stderr.strip() == "interrupted"


def test_kge_search_prints_only_its_json_record_on_stdout(tmp_path, capsys, monkeypatch):
    pytest.importorskip("pykeen")
    monkeypatch.syspath_prepend(str(Path(__file__).parent / "experiments"))
    from tiny_kb import write_tiny_dumps

    from prixlm.data.dbpedia.build import main as build
    from prixlm.experiments import kge_search

    dumps = write_tiny_dumps(tmp_path / "dumps")
    data = str(tmp_path / "data")
    assert build(["--dump_dir", str(dumps), "--output_dir", data, "--no_progress"]) == 0
    capsys.readouterr()
    record = kge_search.main(
        ["--dataset", data, "--language", "en", "--model", "TransE", "--profile", "toy",
         "--grid_points", "1"]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert json.loads(captured.out)["winner"] == record["winner"]  # `> kge.json` is JSON
    assert "TransE en" in captured.err  # the progress, per grid point


def test_bli_cldr_checks_every_pair_before_writing_any(tmp_path, capsys):
    from prixlm.similarity.bli_cldr import main

    output = tmp_path / "dictionaries"
    with pytest.raises(SystemExit) as exit_info:
        main(["--pairs", "en-de,en-zz", "--output_dir", str(output)])
    assert exit_info.value.code == 2
    assert "en-zz" in capsys.readouterr().err
    assert not output.exists() or not any(output.iterdir())
