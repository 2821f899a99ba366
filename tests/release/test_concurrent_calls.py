"""Calls that overlap in threads (an Inference Endpoint serving requests side by side, a
server decoding with one model from several threads) leave no process-wide state behind.

Each test forces the interleaving that broke them: call A enters, call B enters, A leaves,
then B leaves (events, no sleeps). No model is loaded: the endpoint handler runs a stand-in
pipeline, and `eval_mode` a Linear + Dropout module.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch

from modeling_prixlm import decoding_steps
from modeling_prixlm.decoding_steps import eval_mode

HANDLER_FILE = Path(decoding_steps.__file__).with_name("handler.py")
WAIT_S = 30  # a forced step that never comes fails the test instead of hanging it


def _wait(event: threading.Event) -> None:
    assert event.wait(WAIT_S), "a forced step of the interleaving never came"


def _a_in_b_in_a_out_b_out(
    call: Callable[[str], AbstractContextManager[Any]], while_b_alone: Callable[[], Any]
) -> Any:
    """Run `with call(name): ...` in threads "A" and "B" in the order A enters, B enters,
    A leaves, B leaves; `while_b_alone()` runs in B after A left, its value is returned."""
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, Any] = {}
    errors: list[BaseException] = []

    def a() -> None:
        try:
            with call("A"):
                a_in.set()
                _wait(b_in)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
        finally:
            a_in.set()
            a_out.set()

    def b() -> None:
        try:
            _wait(a_in)
            with call("B"):
                b_in.set()
                _wait(a_out)
                seen["b"] = while_b_alone()
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
        finally:
            b_in.set()

    threads = [threading.Thread(target=a, name="A"), threading.Thread(target=b, name="B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
    assert not errors, errors
    return seen["b"]


# ------------------------------------------------------------------ endpoint handler


class StandInPipeline:
    """What the handler needs of the folder's pipeline: `relation_warning` (a text for any
    relation but "currency") and a call that warns with it, as `PrixLMLinkPrediction`."""

    def __init__(self) -> None:
        self.warned: list[str] = []  # what reached `warnings.warn`
        self.inside: Callable[[], None] = lambda: None  # runs inside every call

    def relation_warning(self, relation: str, language: str) -> str | None:
        if relation == "currency":
            return None
        return f"relation {relation!r} is not one of the relations of language {language!r}"

    def __call__(self, inputs: str, **_: Any) -> list[dict[str, Any]]:
        self.inside()
        warning = self.relation_warning(inputs, "en")
        if warning is not None:
            self.warned.append(warning)
            warnings.warn(warning, stacklevel=2)
        return [{"object": inputs, "score": 0.0}]


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, StandInPipeline, list]]:
    """(handler, its stand-in pipeline, [(thread name, logged message)]): the handler file
    loaded alone, as Inference Endpoints load it."""
    spec = importlib.util.spec_from_file_location("handler_alone", HANDLER_FILE)
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stand_in = StandInPipeline()
    monkeypatch.setattr(module, "pipeline", lambda **_: stand_in)
    logged: list[tuple[str, str]] = []
    keep = logging.Handler()
    keep.emit = lambda record: logged.append((record.threadName, record.getMessage()))
    module.LOGGER.addHandler(keep)
    try:
        yield module.EndpointHandler("folder"), stand_in, logged
    finally:
        module.LOGGER.removeHandler(keep)


def test_overlapping_requests_keep_warning_state_and_log_their_own_warning(served):
    handler, stand_in, logged = served
    gates = {name: (threading.Event(), threading.Event()) for name in "AB"}  # (in, leave)

    def wait_at_gate() -> None:
        entered, leave = gates[threading.current_thread().name]
        entered.set()
        _wait(leave)

    stand_in.inside = wait_at_gate

    @contextmanager
    def request(name: str) -> Iterator[None]:
        """A request of thread `name` ("A" or "B") that stays inside the pipeline until the
        block ends."""
        entered, leave = gates[name]
        answers: list = []
        thread = threading.Thread(
            target=lambda: answers.append(handler({"inputs": name})), name=name
        )
        thread.start()
        _wait(entered)
        try:
            yield
        finally:
            leave.set()
            thread.join(WAIT_S)
        assert answers == [[{"object": name, "score": 0.0}]]

    filters, show_impl = list(warnings.filters), warnings._showwarnmsg_impl
    showwarning = warnings.showwarning
    _a_in_b_in_a_out_b_out(request, lambda: None)
    # nothing of a finished request stays installed process-wide
    assert warnings._showwarnmsg_impl is show_impl
    assert warnings.showwarning is showwarning
    assert warnings.filters == filters
    # each request logs its own warning, once, and the pipeline warned of nothing
    assert sorted(logged) == [
        ("A", "relation 'A' is not one of the relations of language 'en'"),
        ("B", "relation 'B' is not one of the relations of language 'en'"),
    ]
    assert stand_in.warned == []


def test_each_request_logs_its_warning_and_the_pipeline_alone_still_warns(served):
    handler, stand_in, logged = served
    for _ in range(2):  # every request, not only the process's first
        assert handler({"inputs": "Currency"}) == [{"object": "Currency", "score": 0.0}]
    assert handler({"inputs": "currency"}) == [{"object": "currency", "score": 0.0}]
    message = "relation 'Currency' is not one of the relations of language 'en'"
    assert [text for _, text in logged] == [message, message]
    # outside a request the pipeline's own `relation_warning` answers, and it warns
    assert handler.pipeline.relation_warning("Currency", "en") == message
    with pytest.warns(UserWarning, match="relation 'Currency'"):
        handler.pipeline("Currency")
    assert stand_in.warned == [message] and len(logged) == 2

    # a failed request leaves no list behind: the next one logs as usual
    def fail() -> None:
        raise RuntimeError("out of memory")

    stand_in.inside = fail
    with pytest.raises(RuntimeError, match="out of memory"):
        handler({"inputs": "Currency"})
    stand_in.inside = lambda: None
    handler({"inputs": "Currency"})
    assert len(logged) == 3


# ------------------------------------------------------------------ eval_mode


def _dropout_model() -> torch.nn.Module:
    """Linear + Dropout in train mode, the Linear in eval mode (a mixed state)."""
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.5)).train()
    model[0].train(False)
    return model


def _modes(model: torch.nn.Module) -> list[bool]:
    return [module.training for module in model.modules()]


def test_overlapping_eval_mode_calls_decode_in_eval_mode_and_restore_the_callers_modes():
    model = _dropout_model()
    before = _modes(model)
    inputs = torch.ones(64, 4)

    def b_alone() -> tuple[list[bool], bool]:
        with torch.no_grad():  # dropout off: the same output twice
            same = torch.equal(model(inputs), model(inputs))
        return _modes(model), same

    modes, deterministic = _a_in_b_in_a_out_b_out(lambda _: eval_mode(model), b_alone)
    assert modes == [False] * len(before) and deterministic  # B still in eval after A left
    assert _modes(model) == before and model.training  # the caller's (train) modes back
    assert model not in decoding_steps._IN_EVAL


def test_eval_mode_alone_nested_and_raising_as_before():
    model = _dropout_model()
    before = _modes(model)
    with eval_mode(model) as inside:
        assert inside is model and not any(_modes(model))
        with eval_mode(model):
            assert not any(_modes(model))
        assert not any(_modes(model))  # the inner call leaves the outer one's eval mode
    assert _modes(model) == before
    with pytest.raises(RuntimeError, match="boom"), eval_mode(model):
        raise RuntimeError("boom")
    assert _modes(model) == before
    model.eval()  # a model given in eval mode stays in eval mode
    with eval_mode(model):
        pass
    assert not any(_modes(model))
    stand_in = object()  # not a module: passed through
    with eval_mode(stand_in) as inside:
        assert inside is stand_in
