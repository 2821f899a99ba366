"""prixlm.completion.measure: the threshold is inclusive, and a language votes once per object."""

from __future__ import annotations

import pytest

from prixlm.completion.knowledge import CompletionQuery, Evidence
from prixlm.completion.measure import Scored, link_projection, precision_recall


def test_a_proposal_scored_at_the_threshold_is_kept():
    """precision@t counts the proposals with score >= t: one exactly at t is kept."""
    counts = precision_recall([Scored("s", "r", "o", 0.5)], {("s", "r"): {"o"}}, 0.5)
    assert counts == {
        "threshold": 0.5,
        "proposals": 1,
        "judged": 1,
        "correct": 1,
        "precision": 1.0,
        "recall": 1.0,
    }
    # just above the score: nothing kept
    above = precision_recall([Scored("s", "r", "o", 0.5)], {("s", "r"): {"o"}}, 0.5000001)
    assert (above["proposals"], above["correct"], above["precision"]) == (0, 0, None)


def test_link_projection_counts_a_language_once_per_target_object():
    """Two de objects linked to the same target object are one de vote: the score is the
    share of evidence languages naming it (1 of 2), not the number of evidence rows."""
    query = CompletionQuery("s", "S", "r", "R")
    query.evidence += [
        Evidence("de", "de:a", "A", "t:T"),
        Evidence("de", "de:b", "B", "t:T"),
        Evidence("fr", "fr:u", "U", "t:U"),
    ]
    assert link_projection([query]) == [
        Scored("s", "r", "t:T", pytest.approx(0.5)),
        Scored("s", "r", "t:U", pytest.approx(0.5)),
    ]
