"""`docs/dbp5l_search.png` as drawn from a DBP-5L JSON: each grid point one colour in every
panel, so the one legend (in the first panel) names every line."""

from __future__ import annotations

from prixlm.experiments.dbp5l_chart import write_search_chart


def _search(points: list[dict], winner: dict) -> dict:
    """A KGE search record: each point at epochs 10 and 20."""
    grid = [{**point, "epochs": epochs, "validation_mrr": mrr}
            for point in points for epochs, mrr in ((10, 0.1), (20, 0.2))]  # fmt: skip
    return {"grid": grid, "winner": {**winner, "epochs": 20}}


BASE = {"model": "TransE", "learning_rate": 0.01, "margin": 6.0}
SMALL_LR = {**BASE, "learning_rate": 0.003}
ROTATE = {"model": "RotatE", "learning_rate": 0.03, "margin": 9.0}
ROTATE_MARGIN = {**ROTATE, "margin": 6.0}


def test_a_point_has_one_colour_in_every_panel_and_the_legend_names_each(tmp_path, drawn):
    """`de` has no TransE search yet (a run under way): its RotatE lines took the axes'
    first colours, those the legend gives the TransE points, and its points were named
    by no legend entry in the colour they had."""
    table = {
        "languages": ["en", "de"],
        "details": {
            "TransE": {"en": _search([BASE, SMALL_LR], SMALL_LR)},
            "RotatE": {
                "en": _search([ROTATE, ROTATE_MARGIN], ROTATE),
                "de": _search([ROTATE, ROTATE_MARGIN], ROTATE_MARGIN),
            },
        },
    }
    write_search_chart(table, tmp_path / "search.png")
    en, de = drawn[-1].axes
    colours: dict[str, set] = {}
    for axis in (en, de):
        for line in axis.get_lines():
            if not line.get_label().startswith("_"):  # not a winner's ring
                colours.setdefault(line.get_label(), set()).add(line.get_color())
    assert set(colours) == {"TransE base", "TransE learning_rate 0.003", "RotatE base",
                            "RotatE margin 6.0"}  # fmt: skip
    assert all(len(found) == 1 for found in colours.values())  # the same in both panels
    assert len({next(iter(found)) for found in colours.values()}) == 4  # and told apart
    legend = en.get_legend()
    named = {text.get_text(): handle.get_color()
             for text, handle in zip(legend.get_texts(), legend.legend_handles, strict=True)}  # fmt: skip
    assert named == {label: next(iter(found)) for label, found in colours.items()}
    assert [line.get_ydata().tolist() for line in de.get_lines() if line.get_label() ==
            "RotatE base"] == [[0.1, 0.2]]  # fmt: skip
