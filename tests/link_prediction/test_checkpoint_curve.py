"""The checkpoint curve's files (`lp_curve.csv`, `lp_curve.png`) are replaced whole."""

from __future__ import annotations

import errno

import pytest

from prixlm.link_prediction import checkpoint_callback
from prixlm.link_prediction.checkpoint_callback import LinkPredictionCallback


def test_a_failed_rewrite_leaves_the_last_curve_whole(tmp_path, monkeypatch):
    """They were written in place: a run killed or out of disk while writing left a cut
    file, which the similarity study reads and the model card copies."""
    callback = LinkPredictionCallback(lambda model, language: {}, ["en"], tmp_path)
    callback.records = [{"step": 10, "lp_en/hits_at_1": 0.25, "lp_en/mrr": 0.3}]
    callback.write([{"step": 10, "loss": 2.0}])
    png = (tmp_path / "lp_curve.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "lp_curve.csv").read_text().splitlines()[1].startswith("10,")

    def cut(records, log_history, path):
        path.write_bytes(png[:100])  # part of a PNG, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint_callback, "plot_curves", cut)
    callback.records.append({"step": 20, "lp_en/hits_at_1": 0.5, "lp_en/mrr": 0.6})
    with pytest.raises(OSError, match="lp_curve.png"):
        callback.write([{"step": 20, "loss": 1.0}])
    assert (tmp_path / "lp_curve.png").read_bytes() == png
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lp_curve.csv", "lp_curve.png"]
