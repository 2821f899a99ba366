"""A report of `evaluate_lp --dtype bfloat16` (or float16) of a release is another evaluation
than its float32 one: the card keeps both and says which weights each ranked with. The
report's key left its precision out, so a half-precision report replaced the kept float32
one of the same split on the card, and nothing on the card said so."""

from __future__ import annotations

import json

from huggingface_hub import ModelCard
from test_evaluate_lp import save_model_and_dataset

from prixlm.link_prediction.evaluate_lp import main as evaluate_lp_main
from prixlm.release.model_card import main as model_card_main


def test_a_half_precision_report_is_kept_beside_the_float32_one_and_named(
    tiny_prixlm, tmp_path, recwarn
):
    root = save_model_and_dataset(tiny_prixlm, tmp_path)[0]
    folder = root / "model"
    for dtype in ("float32", "bfloat16"):
        report = tmp_path / f"{dtype}.json"
        evaluate_lp_main(["--model", str(folder), "--dataset", str(root / "data"),
                          "--languages", "en", "--mode", "full", "--dtype", dtype,
                          "--output", str(report)])  # fmt: skip
        model_card_main([str(folder), "--evaluation", str(report)])
    kept = json.loads((folder / "evaluation_results.json").read_text(encoding="utf-8"))
    assert sorted(r["dtype"] for r in kept) == ["bfloat16", "float32"]
    text = (folder / "README.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| data | en | test |")]
    assert len(rows) == 2
    assert sum("bfloat16" in row for row in rows) == 1
    configs = [e.metric_config for e in ModelCard(text).data.eval_results]
    assert sum("bfloat16" in config for config in configs) == len(configs) // 2
