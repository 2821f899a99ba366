"""A command that fails while a progress bar is drawn ends the bar's line before its
`error:` line, and the bar is not drawn again below it."""

from __future__ import annotations

import pytest
import tqdm.std


def test_error_during_ranking_is_on_a_line_of_its_own(tiny_demo_output, monkeypatch, capsys):
    import prixlm.link_prediction.evaluation as evaluation
    from prixlm.cli import UsageError
    from prixlm.link_prediction.evaluate_lp import main

    real, calls = evaluation.predict_objects, []

    def fails_third(*args, **kwargs):  # a batch after the bar is drawn
        calls.append(1)
        if len(calls) == 3:
            raise UsageError("scores are not finite")
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluation, "predict_objects", fails_third)
    argv = [
        "--model", str(tiny_demo_output / "run" / "model"),
        "--dataset", str(tiny_demo_output / "dataset"), "--languages", "en",
        "--limit", "12", "--num_beams", "5", "--batch_size", "4",
    ]  # fmt: skip
    with pytest.raises(SystemExit) as ended:
        main(argv)
    assert ended.value.code == 2
    err = capsys.readouterr().err
    lines = err.replace("\r", "\n").splitlines()
    assert "link prediction (beam):  67%" in err  # drawn: 8 of 12 queries ranked
    assert [line for line in lines if "error:" in line] == ["error: scores are not finite"]
    assert err.endswith("\nerror: scores are not finite\n")
    assert not list(getattr(tqdm.std.tqdm, "_instances", ()))  # none left to draw later
