"""The summary `prixlm.completion.measure` prints names the JSON it wrote, and calls link
projection an oracle of the CLDR KB only for a report of that KB. On any KB it cited
`results/completion.json` and said "On the CLDR KB every language holds the same facts"."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from prixlm.completion.measure import main
from prixlm.completion.results_docs import results_block

ROOT = Path(__file__).resolve().parents[2]
CLDR_SENTENCE = "On the CLDR KB every language\nholds the same facts and every entity is linked"
CONDITION = (
    "Where every language holds\nthe same facts and every entity is linked (as on the CLDR "
    "KB), link projection is an oracle."
)


def _committed() -> dict:
    return json.loads((ROOT / "results" / "completion.json").read_text(encoding="utf-8"))


def _with_source(dataset: Path, folder: Path, source: str) -> Path:
    """A copy of `dataset` whose card names `source` in `source_datasets`, as a build does."""
    shutil.copytree(dataset, folder)
    card = (folder / "README.md").read_text(encoding="utf-8")
    card = card.replace("---\n", f"---\nsource_datasets:\n- extended|{source}\n", 1)
    (folder / "README.md").write_text(card, encoding="utf-8")
    return folder


def test_the_printed_summary_names_the_output_and_no_cldr_kb_for_another_kb(
    completion_kb, tmp_path, capsys
):
    dataset, model = completion_kb
    dataset = _with_source(dataset, tmp_path / "own_kb", "dbpedia")
    output = tmp_path / "measure_de.json"
    main(
        [
            "--model", str(model), "--dataset", str(dataset), "--target_language", "de",
            "--num_beams", "5", "--output", str(output),
        ]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert f"**Measured** (`{output}`, " in printed
    assert "results/completion.json" not in printed
    assert CLDR_SENTENCE not in printed and CONDITION in printed
    assert "this small model is far from the\nlink projection" not in printed
    assert "Command (exact):\n" in printed  # no notes: no earlier commands recorded
    assert printed.rstrip().endswith(results_block(json.loads(output.read_text("utf-8"))))


def test_a_report_of_the_cldr_kb_keeps_its_sentence(completion_kb, tmp_path, monkeypatch):
    """Told by the dataset's card (`source_datasets: extended|cldr_kb`, as an export's build
    writes it), else by the JSON's notes, as the committed JSON's."""
    from prixlm.completion.results_docs import cldr_kb

    dataset = _with_source(completion_kb[0], tmp_path / "cldr", "cldr_kb")
    report = {
        **_committed(),
        "notes": {},
        "command": f"measure --dataset {dataset} --output x.json",
    }
    assert cldr_kb(report) is True and CLDR_SENTENCE in results_block(report)
    own = _with_source(completion_kb[0], tmp_path / "own", "dbpedia")
    report["command"] = f"measure --dataset {own} --output x.json"
    assert cldr_kb(report) is False and CONDITION in results_block(report)
    # the recorded command keeps `~/` as typed: the card is read in the home folder
    monkeypatch.setenv("HOME", str(tmp_path))
    report["command"] = "measure --dataset ~/cldr --output x.json"
    assert cldr_kb(report) is True
    report["command"] = f"measure --dataset {tmp_path / 'gone'} --output x.json"  # no card
    assert cldr_kb(report) is None and CLDR_SENTENCE not in results_block(report)
    assert cldr_kb(_committed()) is True  # its dataset folder is not here: its notes say
    assert "**Measured** (`results/completion.json`, " in results_block(_committed())


def test_the_output_is_read_from_the_recorded_command():
    from prixlm.completion.results_docs import command_argument

    command = (
        "python -m prixlm.completion.measure --output a.json --dataset 'my kb' --output=b.json"
    )
    assert command_argument(command, "--output") == "b.json"
    assert command_argument(command, "--dataset") == "my kb"
    assert command_argument(command, "--plot") is None
    assert command_argument("measure --output 'unbalanced", "--output") is None
