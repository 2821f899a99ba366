"""`prixlm.demo` step 5 completes facts with the K of `--num_beams`, as the pipeline does."""

from __future__ import annotations

import re

from modeling_prixlm.beam_search import predict_objects
from modeling_prixlm.pipeline_prixlm import DEFAULT_NUM_BEAMS as PIPELINE_NUM_BEAMS
from prixlm.data.loading import load_kb
from prixlm.demo import DEFAULT_NUM_BEAMS, complete_test_examples
from prixlm.link_prediction.evaluation import candidate_labels
from prixlm.model_loading import load_prixlm


def printed_objects(text: str) -> list[list[str]]:
    """The objects `complete_examples` printed under each fact, in order."""
    blocks = text.split("\n[")[1:]
    return [re.findall(r"^   [* ] (.+?)\s+-log p = ", block, flags=re.M) for block in blocks]


def test_step_five_decodes_with_the_requested_k(tiny_demo_output, capsys):
    model, tokenizer = load_prixlm(tiny_demo_output / "run" / "model", "cpu")
    dataset = tiny_demo_output / "dataset"
    splits = load_kb(dataset, "en")
    test, candidates = splits["test"], candidate_labels(splits, "en")
    rows = [test[i] for i in range(0, len(test), max(1, len(test) // 3))][:3]

    def top5(num_beams: int) -> list[list[str]]:
        ranked = predict_objects(model, tokenizer, rows, candidates, num_beams=num_beams)
        return [result.labels[:5] for result in ranked]

    assert top5(1) != top5(20)  # K changes what is printed on this model
    for num_beams in (1, 3):
        complete_test_examples(model, tokenizer, dataset, ["en"], num_beams, started=0.0)
        out = capsys.readouterr().out
        assert f"(constrained beam search K={num_beams})" in out.splitlines()[1]
        assert printed_objects(out) == top5(num_beams)


def test_the_demo_default_k_is_the_pipeline_s(monkeypatch):
    import prixlm.demo as demo

    seen = []
    monkeypatch.setattr(demo, "run_demo", seen.append)  # parsed, nothing run
    demo.main([])
    assert seen[0].num_beams == DEFAULT_NUM_BEAMS == PIPELINE_NUM_BEAMS == 50
