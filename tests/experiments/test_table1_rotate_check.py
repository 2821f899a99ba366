"""`results/table1_rotate_check.py`: its part layouts, the records it reuses, its docs block."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from prixlm.experiments.profiles import kge_grid

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def check():
    """The script as a module (results/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "table1_rotate_check", ROOT / "results" / "table1_rotate_check.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_parts_are_read_from_their_specs(check):
    assert check.parse_parts(["D=1,2,4", "E=3,5,6,7,8"]) == {"D": [1, 2, 4], "E": [3, 5, 6, 7, 8]}
    assert check.parse_parts(["A=3", "B=1,2,5,6,7,8", "C=4"]) == check.PARTS


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (
            ["D=1,2,4", "E=3,5,6,7"],
            "each of the points 1..8 exactly once (they hold [1, 2, 3, 4, 5, 6, 7])",
        ),
        (["D=1,2,4,5", "E=3,5,6,7,8"], "exactly once (they hold [1, 2, 3, 4, 5, 5, 6, 7, 8])"),
        (["D=1,2,x"], "--parts 'D=1,2,x': expected NAME=POINTS"),
        (["D-1=1,2,3,4,5,6,7,8"], "a part's name is letters and digits"),
    ],
)
def test_a_layout_that_misses_or_repeats_a_point_is_refused_naming_parts(check, specs, message):
    with pytest.raises(SystemExit, match="--parts") as error:
        check.parse_parts(specs)
    assert message in str(error.value)


def _record(points: list[int]) -> dict:
    """A part record whose grid holds one 25-epoch evaluation of each of `points`."""
    grid = kge_grid("RotatE", "full")
    return {"grid": [{**grid[point - 1], "epochs": 25, "validation_mrr": 0.1} for point in points]}


def test_records_of_another_layout_are_the_parts_and_nothing_runs(check, tmp_path):
    for name, points in {"D": [1, 2, 4], "E": [3, 5, 6, 7, 8]}.items():
        (tmp_path / f"rotate-fi-{name}.json").write_text(json.dumps(_record(points)))
    (tmp_path / "rotate-en-A.json").write_text(json.dumps(_record([3])))
    # the data path does not exist: a search started here would fail the call
    found = check.run_parts(tmp_path / "absent", "fi", 10.0, tmp_path, check.PARTS)
    assert {name: check.part_points(r) for name, r in found.items()} == {
        "D": [1, 2, 4],
        "E": [3, 5, 6, 7, 8],
    }


def test_a_layout_whose_records_all_exist_runs_nothing(check, tmp_path):
    for name, points in check.PARTS.items():
        (tmp_path / f"rotate-en-{name}.json").write_text(json.dumps(_record(points)))
    found = check.run_parts(tmp_path / "absent", "en", 10.0, tmp_path, check.PARTS)
    assert found == {name: _record(points) for name, points in check.PARTS.items()}


def test_committed_docs_block_is_the_rendering_of_the_committed_json(check):
    committed = json.loads((ROOT / "results" / "table1_rotate_check.json").read_text("utf-8"))
    docs = (ROOT / "docs" / "results.md").read_text("utf-8")
    block = docs.split(check.START, 1)[1].split(check.END, 1)[0]
    assert block.strip("\n") == check.render(committed, "results/table1_rotate_check.json")
    for language, parts in committed["parts"].items():
        held = [p for part in parts.values() for p in check.part_points(part["record"])]
        assert check.covers_grid(held), language
        assert all(part["points"] == check.part_points(part["record"]) for part in parts.values())


def test_reproduction_is_counted_over_every_evaluation_table1_ran(check):
    """Points 1 and 6 share their dimension and rate: matched by grid position, not by those."""
    grid = kge_grid("RotatE", "full")

    def entry(point: int, epochs: int, mrr: float) -> dict:
        return {**grid[point - 1], "epochs": epochs, "validation_mrr": mrr,
                "validation_hits_at_1": mrr / 2}  # fmt: skip

    metrics = {"fi": {"hits_at_1": 0.2, "hits_at_10": 0.5, "mrr": 0.3}}
    records = {
        "D": {"grid": [entry(1, 25, 0.1), entry(1, 50, 0.2), entry(3, 25, 0.15)],
              "validation": metrics, "test": metrics, "winner": grid[0], "seconds": 1.0,
              "grid_truncated": False},
        "E": {"grid": [entry(6, 25, 0.11), entry(6, 50, 0.21)], "validation": metrics,
              "test": metrics, "winner": grid[5], "seconds": 1.0, "grid_truncated": False},
    }  # fmt: skip
    table1 = {
        "details": {"RotatE": {"fi": {"winner": grid[0], "grid": [
            entry(1, 25, 0.1), entry(1, 50, 0.2), entry(3, 25, 0.16), entry(3, 50, 0.2)]}}},
        "methods": {"RotatE": metrics},
    }  # fmt: skip
    merged = check.merge(records, table1, "fi")
    # equal: point 1 at 25 and 50 (not point 6's entries of the same dimension and rate);
    # point 3 at 25 differs, at 50 was not run here
    assert merged["table1_points_reproduced"] == {"compared": 4, "equal": 2}
    assert merged["points_run"] == [1, 3, 6]
    assert merged["table1_points_run"] == 2


def test_records_holding_every_point_are_used_even_under_a_layout_naming_them_otherwise(
    check, tmp_path
):
    """fi's D and E hold 1..8; a layout D, E, F for another language must not run an F for fi."""
    for name, points in {"D": [1, 2, 4], "E": [3, 5, 6, 7, 8]}.items():
        (tmp_path / f"rotate-fi-{name}.json").write_text(json.dumps(_record(points)))
    layout = check.parse_parts(["D=1,4", "F=2,8", "E=3,5,6,7"])
    found = check.run_parts(tmp_path / "absent", "fi", 10.0, tmp_path, layout)
    assert sorted(found) == ["D", "E"]


def test_records_that_repeat_a_point_are_refused_naming_the_work_dir(check, tmp_path):
    """The layout's records all exist (nothing runs) but A trained point 2, not 3: an error."""
    for name, points in {**check.PARTS, "A": [2]}.items():
        (tmp_path / f"rotate-en-{name}.json").write_text(json.dumps(_record(points)))
    with pytest.raises(SystemExit, match="trained the points") as error:
        check.run_parts(tmp_path / "absent", "en", 10.0, tmp_path, check.PARTS)
    assert str(tmp_path) in str(error.value)
    assert "[1, 2, 2, 4, 5, 6, 7, 8]" in str(error.value)


def test_a_layout_runs_only_the_points_no_record_holds(check):
    """fi stopped after the one-point parts P1, P2, P8: the layout runs D's 4 and E whole; a
    record named D from another layout (points 1, 2) makes the rest of D `D48`."""
    layout = check.parse_parts(["D=1,2,4,8", "E=3,5,6,7"])
    assert check.plan_parts(layout, {1, 2, 8}, {"P1", "P2", "P8"}) == {
        "D": [4],
        "E": [3, 5, 6, 7],
    }
    assert check.plan_parts(layout, {1, 2}, {"D"}) == {"D48": [4, 8], "E": [3, 5, 6, 7]}
    assert check.plan_parts(layout, set(range(1, 9)), {"D", "E"}) == {}


def test_a_stopped_check_goes_on_with_the_missing_points(check, tmp_path, monkeypatch):
    """The searches started (a stand-in writes each part's record) get only the missing points,
    and the language's records are the finished ones plus the new."""
    for name, points in {"P1": [1], "P2": [2], "P8": [8]}.items():
        (tmp_path / f"rotate-fi-{name}.json").write_text(json.dumps(_record(points)))
    started = {}

    class Search:
        def __init__(self, command, env):
            points = [int(p) for p in command[command.index("--points") + 1].split(",")]
            output = Path(command[command.index("--output") + 1])
            started[output.name] = points
            output.write_text(json.dumps(_record(points)), encoding="utf-8")

        def wait(self) -> int:
            return 0

    monkeypatch.setattr(check.subprocess, "Popen", Search)
    layout = check.parse_parts(["D=1,2,4,8", "E=3,5,6,7"])
    records = check.run_parts(tmp_path / "absent", "fi", 10.0, tmp_path, layout)
    assert started == {"rotate-fi-D.json": [4], "rotate-fi-E.json": [3, 5, 6, 7]}
    assert {name: check.part_points(r) for name, r in records.items()} == {
        "P1": [1], "P2": [2], "P8": [8], "D": [4], "E": [3, 5, 6, 7]
    }  # fmt: skip
