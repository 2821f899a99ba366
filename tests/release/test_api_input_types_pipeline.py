"""The release pipeline with the inputs and keyword arguments transformers' pipelines take:
a tuple of queries, `batch_size=` and `num_workers=`, generators and `KeyDataset`s with
`batch_size`, NumPy integers as parameters."""

from __future__ import annotations

import numpy as np
import pytest
from datasets import Dataset
from transformers import pipeline
from transformers.pipelines.pt_utils import KeyDataset

QUERIES = ["Germany | currency", "France | official language", "Germany | official language"]
CALL = {"top_k": 2, "num_beams": 4}


def _same(answers, expected) -> bool:
    """The same objects in the same order, scores equal up to float rounding (a batch of
    other queries pads differently)."""
    assert [[a["object"] for a in answer] for answer in answers] == [
        [e["object"] for e in answer] for answer in expected
    ]
    scores = [a["score"] for answer in answers for a in answer]
    return scores == pytest.approx([e["score"] for answer in expected for e in answer], abs=1e-4)


@pytest.fixture(scope="module")
def pipe(released):
    """The tiny release folder's pipeline, loaded as a Hub user loads it."""
    return pipeline(model=str(released[2]), trust_remote_code=True)


@pytest.fixture(scope="module")
def expected(pipe):
    """The answers of `QUERIES` as a list, decoded together."""
    answers = pipe(list(QUERIES), **CALL)
    assert len(answers) == 3 and all(len(answer) == 2 for answer in answers)
    return answers


def test_a_tuple_is_a_batch_like_a_list(pipe, expected):
    assert _same(pipe(tuple(QUERIES), **CALL), expected)
    assert _same(pipe(("Germany | currency",), **CALL), expected[:1])  # a list of one answer list


def test_batch_size_and_num_workers_are_accepted_with_a_list(pipe, expected):
    assert _same(pipe(list(QUERIES), batch_size=2, num_workers=0, **CALL), expected)


def _forward_sizes(pipe, monkeypatch) -> list[int]:
    """The number of queries of each forward of `pipe` from now on (decoded together)."""
    sizes: list[int] = []
    forward = type(pipe).forward
    monkeypatch.setattr(
        type(pipe), "forward", lambda self, batch, **kw: sizes.append(len(batch["queries"]))
        or forward(self, batch, **kw),
    )  # fmt: skip
    return sizes


def test_a_long_list_with_batch_size_is_decoded_in_chunks(pipe, expected, monkeypatch):
    """300 queries (over the 256 of one call) with batch_size=16: every answer, in order,
    decoded 16 at a time; without batch_size the list is refused."""
    queries = list(QUERIES) * 100
    with pytest.raises(ValueError, match="300 queries in one call; at most 256"):
        pipe(queries, **CALL)
    chunks = _forward_sizes(pipe, monkeypatch)
    answers = pipe(queries, batch_size=16, **CALL)
    assert isinstance(answers, list) and chunks == [16] * 18 + [12]
    assert _same(answers, expected * 100)


def test_a_short_list_with_batch_size_is_decoded_batch_size_at_a_time(pipe, expected, monkeypatch):
    """Three queries (under the 256 of one call) with batch_size=2: decoded 2 then 1."""
    chunks = _forward_sizes(pipe, monkeypatch)
    assert _same(pipe(list(QUERIES), batch_size=2, **CALL), expected)
    assert chunks == [2, 1]


@pytest.mark.parametrize("batch", [{}, {"batch_size": 2}])
@pytest.mark.parametrize("inputs", [[], ()])
def test_an_empty_list_is_refused_with_or_without_batch_size(pipe, inputs, batch):
    with pytest.raises(ValueError, match=r"^no inputs: pass a query or a non-empty list"):
        pipe(inputs, **batch, **CALL)


def test_a_list_with_batch_size_is_checked_whole_before_any_decoding(pipe, monkeypatch):
    """A bad input at the end of a list refuses the call before its first chunk is decoded
    (as one call does), with the same error."""
    forwards = []
    forward = type(pipe).forward
    monkeypatch.setattr(
        type(pipe), "forward", lambda self, *a, **kw: forwards.append(1) or forward(self, *a, **kw)
    )
    inputs = [*QUERIES, "no separator here"]
    with pytest.raises(ValueError, match="input 'no separator here'") as whole:
        pipe(inputs, **CALL)
    with pytest.raises(ValueError, match="input 'no separator here'") as chunked:
        pipe(inputs, batch_size=1, **CALL)
    assert str(chunked.value) == str(whole.value) and forwards == []


@pytest.mark.parametrize("inputs", [list(QUERIES), tuple(QUERIES), "Germany | currency"])
@pytest.mark.parametrize("batch_size", [0, -1, 257, 2.0, "2", True])
def test_a_bad_batch_size_is_refused_for_every_input(pipe, inputs, batch_size):
    with pytest.raises(ValueError, match=r"batch_size=.*(expected an integer >= 1|at most 256)"):
        pipe(inputs, batch_size=batch_size, **CALL)


@pytest.mark.parametrize("batch_size", [1, 2, 5, np.int64(2)])
def test_a_generator_with_batch_size_answers_each_query(pipe, expected, batch_size):
    answers = pipe((query for query in QUERIES), batch_size=batch_size, **CALL)
    assert _same(list(answers), expected)


def test_a_key_dataset_with_batch_size_answers_each_query(pipe, expected):
    rows = KeyDataset(Dataset.from_dict({"text": QUERIES}), "text")
    assert _same(list(pipe(rows, batch_size=2, **CALL)), expected)
    assert _same(list(pipe(rows, **CALL)), expected)  # transformers' own path, one at a time


@pytest.mark.parametrize("kind", ["generator", "key_dataset"])
def test_a_stream_with_batch_size_is_decoded_in_chunks_of_that_size(
    pipe, expected, monkeypatch, kind
):
    """7 queries with batch_size=3: decoded 3, 3 and 1 at a time, every answer in order."""
    queries = (list(QUERIES) * 3)[:7]
    stream = (
        (query for query in queries)
        if kind == "generator"
        else KeyDataset(Dataset.from_dict({"text": queries}), "text")
    )
    chunks = []
    decode = type(pipe)._decode_together
    monkeypatch.setattr(
        type(pipe), "_decode_together", lambda self, items, *rest: chunks.append(len(items))
        or decode(self, items, *rest),
    )  # fmt: skip
    answers = pipe(stream, batch_size=3, **CALL)
    assert chunks == []  # nothing decoded before the first answer is asked for
    assert _same(list(answers), (expected * 3)[:7])
    assert chunks == [3, 3, 1]


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"batch_size": 0}, r"batch_size=0: expected an integer >= 1"),
        ({"batch_size": 2, "top_k": 0}, r"top_k=0: expected an integer >= 1"),
    ],
)
def test_a_stream_s_bad_parameters_are_refused_at_the_call(pipe, arguments, message):
    with pytest.raises(ValueError, match=message):
        pipe((query for query in QUERIES), **arguments)  # before any answer is asked for


def test_numpy_integers_are_accepted_as_parameters(pipe, expected):
    answer = pipe("Germany | currency", top_k=np.int64(2), num_beams=np.int32(4))
    assert _same([answer], expected[:1])
    with pytest.raises(ValueError, match=r"top_k=True: expected an integer >= 1"):
        pipe("Germany | currency", top_k=True)
