"""A tiny `make demo` output: the demo's layout and steps, in seconds instead of minutes.

`<root>/cldr_dumps`, `<root>/dataset` (en, de, ja: the demo's languages), `<root>/run/model`
(a tiny model trained by `train.py` for a few steps, with `candidates.json`,
`relations.json`) and `<root>/link_prediction_test.json` (evaluate_lp on 3 test queries per
language), kept on the release folder's card as the demo does. The README's and the cards'
examples run against it (`outputs/demo/` becomes `<root>/`).
"""

from __future__ import annotations

from pathlib import Path

LANGUAGES = ["en", "de", "ja"]
TINY_TRAINING = {
    "--languages": ",".join(LANGUAGES), "--hidden_size": "32", "--num_hidden_layers": "2",
    "--num_attention_heads": "2", "--intermediate_size": "64", "--tokenizer_vocab_size": "600",
    "--max_steps": "2", "--per_device_train_batch_size": "8",
    "--gradient_accumulation_steps": "1", "--lp_eval_queries": "0", "--report_to": "none",
    "--disable_tqdm": "true",
}  # fmt: skip


def make_tiny_demo_output(root: Path) -> Path:
    """The demo's steps 1-4 into `root` (see the module docstring); returns `root`."""
    import train
    from prixlm.data.cldr.export import export_cldr_kb
    from prixlm.data.dbpedia.build import build_dataset
    from prixlm.link_prediction.evaluate_lp import main as evaluate_main
    from prixlm.release.model_card import write_model_card

    export_cldr_kb(LANGUAGES, root / "cldr_dumps")
    build_dataset(root / "cldr_dumps", root / "dataset", LANGUAGES, progress=False)
    argv = {"--dataset": str(root / "dataset"), "--output_dir": str(root / "run"), **TINY_TRAINING}
    release = train.main([item for pair in argv.items() for item in pair])
    report = evaluate_main(
        ["--model", str(release), "--dataset", str(root / "dataset"), "--languages", "en,de,ja",
         "--limit", "3", "--num_beams", "5", "--output", str(root / "link_prediction_test.json")]
    )  # fmt: skip
    write_model_card(release, evaluations=[report], languages=LANGUAGES, model_name="prixlm-demo")
    return root
