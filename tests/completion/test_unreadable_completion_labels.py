"""Completion with a target label holding a control token's text (`Radio [O]`): the trie
refused the whole candidate list and `complete` exited 2. The label is left out with a
warning, and it is not counted as too long."""

from __future__ import annotations

import pytest

from prixlm.completion.knowledge import CompletionQuery
from prixlm.completion.propose import fit_to_model


def test_an_unreadable_label_is_left_out_of_completion(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    query = CompletionQuery("s", "Germany", "r", "currency")
    candidates = {"euro": ["e"], "Radio [O]": ["r"], "German": ["g"]}
    with pytest.warns(UserWarning, match="completion: 1 of the 3 candidate labels"):
        queries, kept, unencodable = fit_to_model(model, tokenizer, [query], candidates)
    assert kept == {"euro": ["e"], "German": ["g"]}
    assert (queries, unencodable) == ([query], 0)
