"""Every ```python and ```bash block of README.md and of the demo's cards runs.

They run, in order, against a tiny `make demo` output (`tests/demo_output.py`: the demo's
layout and steps, a tiny model): the README's `outputs/demo/` becomes that folder. A python
block runs in one namespace shared by the document's blocks (a block that raises fails the
test with the document's line in the traceback); each bash line runs as the command it is
(`python -m X ...` as `runpy` would, in this process), and must not fail. Lines that do not
name `outputs/demo/` are recipes for data the user brings (DBpedia dumps, GPUs) and are left
out, as are `make` lines (`make demo` is what the tiny output stands for, `make test` is
this suite).

Expected outputs are written `print(...)  # -> value` (or on the next comment line): each
`# -> ` line is one printed line. On the tiny output only their number is checked (a tiny
model answers differently); when `outputs/demo` (or `PRIXLM_DEMO_OUTPUT`) holds a real
`make demo` output, the README's python blocks run against it too and every printed line
must be the one shown.
"""

from __future__ import annotations

import os
import re
import runpy
import shlex
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DEMO_OUTPUT = "outputs/demo/"
BLOCK = re.compile(r"^```(python|bash)\n(.*?)^```", re.DOTALL | re.MULTILINE)
EXPECTED = re.compile(r"#\s*->\s*(.*?)\s*$")


def blocks(text: str, language: str) -> list[tuple[int, str]]:
    """(line number, code) of every ```<language> block."""
    return [
        (text.count("\n", 0, m.start()) + 2, m.group(2))
        for m in BLOCK.finditer(text)
        if m.group(1) == language
    ]


def python_blocks(text: str) -> list[tuple[int, str]]:
    return blocks(text, "python")


def expected_lines(code: str) -> list[str]:
    """The `# -> value` outputs of a block, in order."""
    return [m.group(1) for line in code.splitlines() if (m := EXPECTED.search(line))]


def run_python(text: str, source: Path, root: Path, capsys) -> tuple[dict, list[str], list[str]]:
    """Run the python blocks of `text` with `outputs/demo/` -> `root`; returns the namespace,
    the printed lines and the expected ones."""
    namespace: dict = {"__name__": "readme"}
    printed, expected = [], []
    for line, code in python_blocks(text):
        code = code.replace(DEMO_OUTPUT, f"{root}/")
        capsys.readouterr()
        # Blank lines keep the document's line numbers in tracebacks.
        exec(compile("\n" * (line - 1) + code, str(source), "exec"), namespace)
        printed += capsys.readouterr().out.splitlines()
        expected += expected_lines(code)
    return namespace, printed, expected


def run_bash_line(command: str, root: Path, monkeypatch) -> None:
    """One documented command, run as `python -m X` would (in this process)."""
    argv = shlex.split(command.replace(DEMO_OUTPUT, f"{root}/"), comments=True)
    assert argv[:2] == ["python", "-m"], f"not a `python -m` command: {command}"
    monkeypatch.setattr(sys, "argv", [argv[2], *argv[3:]])
    try:
        runpy.run_module(argv[2], run_name="__main__", alter_sys=True)
    except SystemExit as done:
        assert done.code in (None, 0), f"exit {done.code}: {command}"


def bash_commands(text: str) -> list[str]:
    """The commands on the demo's outputs (those naming `outputs/demo/`); recipes for data a
    user brings (DBpedia dumps, GPUs) are left out. Continuation lines are joined."""
    commands = []
    for _, code in blocks(text, "bash"):
        for line in code.replace("\\\n", " ").splitlines():
            if DEMO_OUTPUT in line and not line.lstrip().startswith(("#", "make ")):
                commands.append(line.strip())
    return commands


def test_blocks_and_expected_outputs_are_found():
    text = "t\n```python\nx = 1\nprint(x)  # -> 1\n```\n\n```bash\nls\n```\n```python\ny = 2\n```\n"
    assert python_blocks(text) == [(3, "x = 1\nprint(x)  # -> 1\n"), (11, "y = 2\n")]
    assert blocks(text, "bash") == [(8, "ls\n")]
    assert expected_lines("print(a)  # -> ['Russia', 'Brazil']\n# -> x y\n") == [
        "['Russia', 'Brazil']",
        "x y",
    ]
    readme = README.read_text(encoding="utf-8")
    assert any(f"{DEMO_OUTPUT}run/model" in code for _, code in python_blocks(readme))
    assert len(bash_commands(readme)) >= 5


def test_every_readme_python_block_runs(tiny_demo_output, capsys):
    text = README.read_text(encoding="utf-8")
    namespace, printed, expected = run_python(text, README, tiny_demo_output, capsys)
    ranked = namespace["ranked"]
    assert len(ranked) == 2 and all(len(r.labels) >= 3 for r in ranked)
    assert set(ranked[0].labels) <= set(namespace["candidates"])
    assert len(printed) == len(expected) >= 4  # every print has its expected output shown


def test_every_readme_bash_command_runs(tiny_demo_output, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for command in bash_commands(README.read_text(encoding="utf-8")):
        run_bash_line(command, tiny_demo_output, monkeypatch)
    assert (tiny_demo_output / "new_facts_ja.nt").is_file()
    assert "card: # prixlm-demo; datasets: ['me/prixlm-cldr-kb']" in capsys.readouterr().out


def test_every_card_block_runs(tiny_demo_output, monkeypatch, capsys):
    """The model card and the dataset card of the demo's outputs: their python and bash
    blocks run as written (they name the local folders until published)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for card in (tiny_demo_output / "run" / "model" / "README.md", tiny_demo_output / "dataset" / "README.md"):  # fmt: skip
        text = card.read_text(encoding="utf-8").replace("PATH_OR_REPO", str(card.parent))
        assert python_blocks(text), card
        run_python(text, card, tiny_demo_output, capsys)
        for command in bash_commands(text):
            run_bash_line(command, tiny_demo_output, monkeypatch)


def real_demo_output() -> Path | None:
    folder = Path(os.environ.get("PRIXLM_DEMO_OUTPUT", ROOT / DEMO_OUTPUT))
    return folder if (folder / "run" / "model" / "config.json").is_file() else None


@pytest.mark.skipif(real_demo_output() is None, reason="no `make demo` output to compare with")
def test_readme_expected_outputs_are_the_demo_model_s(capsys):
    text = README.read_text(encoding="utf-8")
    _, printed, expected = run_python(text, README, real_demo_output(), capsys)
    assert printed == expected


def test_train_docstring_command_runs_on_the_demo_output(tiny_demo_output, capsys):
    """`train.py`'s first documented command, on the demo's dataset (tiny sizes appended)."""
    from demo_output import TINY_TRAINING

    import train

    docstring = train.__doc__ or ""
    start = docstring.index("python train.py")
    command = docstring[start : docstring.index("\n    #", start)].replace("\\\n", " ")
    argv = shlex.split(command.replace(DEMO_OUTPUT, f"{tiny_demo_output}/"))[2:]
    tiny = {k: v for k, v in TINY_TRAINING.items() if k != "--languages"}
    release = train.main([*argv, "--save_steps", "2", *(x for pair in tiny.items() for x in pair)])
    assert (release / "relations.json").is_file() and "--languages en,de,ja" in command


def test_metric_cards_pipeline_examples_run_and_name_a_label_of_the_model(tiny_demo_output, capsys):
    """The metric cards' python blocks run against the demo's model, and the gold each
    pipeline example scores is a label that model can answer: the metrics compare labels
    exactly, so a gold the KB spells otherwise ("euro" for CLDR's "Euro") scores a model that
    answers right as a miss, with no error."""
    import ast
    import json

    candidates = json.loads((tiny_demo_output / "run" / "model" / "candidates.json").read_text())
    for name in ("hits_at_k", "mrr"):
        card = ROOT / "evaluate_metrics" / name / "README.md"
        text = card.read_text(encoding="utf-8").replace("path/to/prixlm/", f"{ROOT}/")
        namespace, _, _ = run_python(text, card, tiny_demo_output, capsys)
        assert namespace["answers"] and namespace["answers"][0], card
        pipeline_block = next(code for _, code in python_blocks(text) if "pipeline(" in code)
        queries = re.search(r"complete\(\s*(\[.*?\]), top_k", pipeline_block, re.DOTALL)
        golds = re.search(r"references=(\[.*?\])", pipeline_block)
        assert queries and golds, card
        asked, golds = ast.literal_eval(queries[1]), ast.literal_eval(golds[1])
        for query, gold in zip(asked, golds, strict=True):
            assert gold in candidates[query["language"]], (card, gold)
