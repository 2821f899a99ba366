"""The Space leaves out, with a warning, the candidate labels that no query can reach beside
a prompt: one such label made it accept a negative prompt budget and refuse every query of
its language ("at most -1147 fit beside its longest en answer")."""

from __future__ import annotations

import json
import shutil
import sys

import pytest
from space_server import SPACE_DIR

sys.path.insert(0, str(SPACE_DIR))
import app  # noqa: E402

#: The tiny models hold 60 tokens; `Japan` is one token of the tiny tokenizer: with a
#: link's shortest prompt (11 tokens) 49 fit, and 70 do not fit the positions at all.
TOO_LONG, FAR_TOO_LONG = " ".join(["Japan"] * 50), " ".join(["Japan"] * 70)


def test_the_space_leaves_out_candidates_no_query_can_reach(released, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(released[2], folder)
    stored = json.loads((folder / "candidates.json").read_text(encoding="utf-8"))
    candidates = {"en": [*stored["en"], TOO_LONG], "de": stored["de"], "fr": [FAR_TOO_LONG]}
    (folder / "candidates.json").write_text(json.dumps(candidates), encoding="utf-8")
    with pytest.warns(UserWarning) as caught:
        space = app.PrixLMSpace(str(folder), num_beams=2)
    try:
        messages = [str(w.message) for w in caught if "candidates of" in str(w.message)]
        assert [m[: m.index(" (e.g. 'Japan Japan")] for m in messages] == [
            f"candidates of 'en': 1 of the {len(stored['en']) + 1} labels are longer than the "
            "49 tokens that the model's positions hold after the shortest prompt: left out, "
            "no query can reach them",
            "candidates of 'fr': 1 of the 1 labels are longer than the 49 tokens that the "
            "model's positions hold after the shortest prompt: the language is left out, no "
            "query can reach them",
        ]
        assert space.languages == ["de", "en"]
        assert space.pipe.candidate_labels["en"] == stored["en"]
        assert space.pipe.candidate_labels["de"] == stored["de"]

        def tokens(label: str) -> int:
            return len(space.pipe.tokenizer(label, add_special_tokens=False)["input_ids"])

        assert space.prompt_budget == {
            language: 60 - max(map(tokens, stored[language])) for language in ("de", "en")
        }
        message, table, _ = space.complete("Germany", "currency", "en", 3)
        assert not message.startswith("⚠️") and list(table.data["object"]) == [
            answer["object"] for answer in space.pipe("Germany | currency | en", top_k=3,
                                                      num_beams=2)
        ]  # fmt: skip
    finally:
        space.close()
