"""The published DBP-5L figures file: every number sourced, fractions, rendered as a table."""

from __future__ import annotations

import json
import re

import pytest

from prixlm.experiments.published import load_published, published_markdown


def test_the_committed_file_loads_and_renders():
    systems = load_published()
    assert systems["SS-AGA (hits@1, leaderboard mirror)"]["el"] == {"hits_at_1": 0.308}
    assert all(entry["source"] and entry["source_kind"] for entry in systems.values())
    table = published_markdown(systems)
    assert "| system | el | ja | es | fr | en |" in table
    assert (
        "| KEnS (variant not stated) | 26.4 / - / - | 32.9 / - / - | 25.2 / - / - | - / - / - |"
        in table
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"el": {"mrr": 0.3}}, "no source"),
        ({"source": "x", "de": {"mrr": 0.3}}, "unknown language 'de'"),
        ({"source": "x", "el": {"mr": 3.0}}, "unknown metric 'mr'"),
        ({"source": "x", "el": {"mrr": 35.3}}, "el mrr=35.3 is not in [0, 1]"),
    ],
)
def test_bad_entries_are_named(tmp_path, entry, message):
    path = tmp_path / "published.json"
    path.write_text(json.dumps({"_about": "notes", "System": entry}), encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        load_published(path)
    assert "'System'" in str(error.value)
