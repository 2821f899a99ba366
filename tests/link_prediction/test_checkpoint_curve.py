"""The checkpoint curve's files (`lp_curve.csv`, `lp_curve.png`) are replaced whole, and its
evaluations run in fp32 (as `evaluate_lp`) also in a mixed-precision run."""

from __future__ import annotations

import copy
import errno
from types import SimpleNamespace

import pytest
from test_link_prediction import QUERIES, tiny_entities
from tiny_models import make_tiny_model

from modeling_prixlm.beam_search import predict_objects
from modeling_prixlm.constrained_decoding import EntityTrie
from prixlm.link_prediction import checkpoint_callback
from prixlm.link_prediction.checkpoint_callback import LinkPredictionCallback, own_forward


def test_a_failed_rewrite_leaves_the_last_curve_whole(tmp_path, monkeypatch):
    """They were written in place: a run killed or out of disk while writing left a cut
    file, which the similarity study reads and the model card copies; and the CSV was
    replaced before the plot was written, so a failed plot left it beside an older plot."""
    callback = LinkPredictionCallback(lambda model, language: {}, ["en"], tmp_path)
    callback.records = [{"step": 10, "lp_en/hits_at_1": 0.25, "lp_en/mrr": 0.3}]
    callback.write([{"step": 10, "loss": 2.0}])
    png, csv = (tmp_path / "lp_curve.png").read_bytes(), (tmp_path / "lp_curve.csv").read_text()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert csv.splitlines()[1].startswith("10,")

    def cut(records, log_history, path, *split):
        path.write_bytes(png[:100])  # part of a PNG, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint_callback, "plot_curves", cut)
    callback.records.append({"step": 20, "lp_en/hits_at_1": 0.5, "lp_en/mrr": 0.6})
    with pytest.raises(OSError, match="lp_curve.png"):
        callback.write([{"step": 20, "loss": 1.0}])
    assert (tmp_path / "lp_curve.png").read_bytes() == png
    # the pair is replaced together: the CSV of step 20 was left beside the plot of step 10
    assert (tmp_path / "lp_curve.csv").read_text() == csv
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lp_curve.csv", "lp_curve.png"]


def _first_losses(tokenizer, trie):
    """An evaluator: the best loss of each of `QUERIES` (beam search, K=4)."""

    def evaluate(model, language):
        ranked = predict_objects(model, tokenizer, QUERIES, trie, 4)
        return {f"loss_{i}": result.losses[0] for i, result in enumerate(ranked)}

    return evaluate


@pytest.fixture
def fresh_accelerator_state():
    """accelerate keeps one process-wide state: a test's bf16 `Accelerator` meets the state
    an earlier test (a Trainer's) left, and leaves its own to the next test. The state
    before is put back after: objects made earlier (a session fixture's `TrainingArguments`
    holds the process state) keep working whatever order the tests run in."""
    from accelerate.state import AcceleratorState, PartialState

    saved = dict(PartialState._shared_state), dict(AcceleratorState._shared_state)
    AcceleratorState._reset_state(reset_partial_state=True)
    yield
    AcceleratorState._reset_state(reset_partial_state=True)
    PartialState._shared_state.update(saved[0])
    AcceleratorState._shared_state.update(saved[1])


def test_a_bf16_run_evaluates_in_fp32_as_evaluate_lp(
    tiny_tokenizer, tmp_path, fresh_accelerator_state
):
    """accelerate wraps a mixed-precision model's `forward` in autocast (`--bf16`); the
    checkpoint evaluation called it, so the curve, `train_results.json` and the card held
    bf16 numbers that `evaluate_lp` (fp32) does not give the same weights."""
    from accelerate import Accelerator

    reference = make_tiny_model(tiny_tokenizer, dropout=0.0)
    model = Accelerator(mixed_precision="bf16", cpu=True).prepare_model(copy.deepcopy(reference))
    wrapped = model.__dict__["forward"]
    trie = EntityTrie.from_labels(tiny_tokenizer, tiny_entities(tiny_tokenizer))
    evaluate = _first_losses(tiny_tokenizer, trie)
    fp32 = evaluate(reference, "en")
    assert evaluate(model, "en") != fp32  # the wrapped forward: bf16 matrix products
    callback = LinkPredictionCallback(evaluate, ["en"], tmp_path, at_start=True)
    state = SimpleNamespace(is_world_process_zero=True, global_step=0, log_history=[])
    model.train()
    callback.on_train_begin(None, state, None, model=model)
    assert callback.records == [{"step": 0, **{f"lp_en/{k}": v for k, v in fp32.items()}}]
    assert model.__dict__["forward"] is wrapped and model.training  # as before, for training


def test_the_wrapped_forward_comes_back_after_a_failed_evaluation(
    tiny_tokenizer, tmp_path, fresh_accelerator_state
):
    from accelerate import Accelerator

    model = Accelerator(mixed_precision="bf16", cpu=True).prepare_model(
        make_tiny_model(tiny_tokenizer, dropout=0.0)
    )
    wrapped = model.__dict__["forward"]
    seen = []

    def failing(model, language):
        seen.append(model.forward == model._original_forward)
        raise RuntimeError("evaluation failed")

    callback = LinkPredictionCallback(failing, ["en"], tmp_path)
    state = SimpleNamespace(is_world_process_zero=True, global_step=5, log_history=[])
    with pytest.raises(RuntimeError, match="evaluation failed"):
        callback._run(None, state, model)
    assert seen == [True]
    assert model.__dict__["forward"] is wrapped
    # a model that accelerate did not wrap keeps its class's forward
    plain = make_tiny_model(tiny_tokenizer, dropout=0.0)
    with own_forward(plain):
        assert "forward" not in plain.__dict__
    assert "forward" not in plain.__dict__
