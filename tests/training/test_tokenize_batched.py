"""Batched, multi-process tokenisation of training rows (`prixlm.training.data.tokenize_rows`):
the same ids as encoding row by row, one tokenizer call per batch."""

from __future__ import annotations

import copy
import dataclasses
import math
from typing import Any

import datasets
import pytest

from modeling_prixlm.formatting import encode_row, special_token_ids
from prixlm.training.data import tokenize_rows

SUBJECTS = ["Germany", "France", "Japan", "Italy", "Deutschland", "Frankreich", "Italien"]
OBJECTS = ["euro", "Japanese yen", "German", "Französisch", "Japanisch", "Italienisch"]


def rows_with_long_and_short_facts() -> datasets.Dataset:
    """43 rows: triples in en/de (relations of 1-3 words, objects up to ~20 words) and links."""
    rows: dict[str, list[Any]] = {
        name: []
        for name in ("kind", "subject", "relation", "object", "subject_language", "object_language")
    }
    for i in range(43):
        link = i % 4 == 3
        language = "de" if i % 3 else "en"
        obj = " ".join([OBJECTS[i % len(OBJECTS)]] * (1 + (i * 7) % 9))  # lengths vary widely
        rows["kind"].append("link" if link else "triple")
        rows["subject"].append(SUBJECTS[i % len(SUBJECTS)])
        rows["relation"].append(
            "" if link else ["currency", "official language", "capital of the"][i % 3]
        )
        rows["object"].append(obj)
        rows["subject_language"].append(language)
        rows["object_language"].append(("en" if language == "de" else "de") if link else language)
    return datasets.Dataset.from_dict(rows)


def per_row(rows: datasets.Dataset, tokenizer: Any, max_length: int | None) -> list[dict]:
    """What tokenisation gave before batching: `encode_row` row by row, then the filter."""
    encoded = []
    for row in rows:
        fact = encode_row(tokenizer, row)
        if not max_length or len(fact) < max_length:
            encoded.append(
                {"input_ids": fact.input_ids, "labels": fact.labels, "length": len(fact)}
            )
    return encoded


class CountingBackend:
    """A Rust backend tokenizer, recording its batch calls."""

    def __init__(self, backend: Any, calls: list[Any]) -> None:
        self.backend, self.calls = backend, calls

    def encode_batch_fast(self, texts: list[str], **kwargs: Any) -> Any:
        self.calls.append(texts)
        return self.backend.encode_batch_fast(texts, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)


class CountingTokenizer:
    """The tokenizer, recording what each text call (its own or its backend's) was given."""

    def __init__(self, tokenizer: Any, backend: bool = True) -> None:
        self.tokenizer = tokenizer
        self.calls: list[Any] = []
        if backend:
            self.backend_tokenizer = CountingBackend(tokenizer.backend_tokenizer, self.calls)

    def __call__(self, text: Any, **kwargs: Any) -> Any:
        self.calls.append(text)
        return self.tokenizer(text, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name == "backend_tokenizer":
            raise AttributeError(name)
        return getattr(self.tokenizer, name)


@pytest.mark.parametrize("max_length", [None, 40])
def test_batched_ids_equal_the_per_row_encoding(tiny_tokenizer, max_length) -> None:
    rows = rows_with_long_and_short_facts()
    expected = per_row(rows, tiny_tokenizer, max_length)
    if max_length:  # the filter matters on these rows: some dropped, some kept
        assert 0 < len(expected) < len(rows)
    assert {row["kind"] for row in rows} == {"triple", "link"}
    encoded = tokenize_rows(rows, tiny_tokenizer, max_length, batch_size=7)
    assert encoded.column_names == ["input_ids", "labels", "length"]
    assert encoded.to_list() == expected


def test_two_processes_give_the_same_rows(tiny_tokenizer) -> None:
    rows = rows_with_long_and_short_facts()
    encoded = tokenize_rows(rows, tiny_tokenizer, 40, num_proc=2, batch_size=5)
    assert encoded.to_list() == per_row(rows, tiny_tokenizer, 40)


@pytest.mark.parametrize("backend", [True, False])
def test_one_tokenizer_call_per_batch(tiny_tokenizer, backend) -> None:
    rows = rows_with_long_and_short_facts()
    counting = CountingTokenizer(tiny_tokenizer, backend=backend)
    encoded = tokenize_rows(rows, counting, None, batch_size=10)
    assert encoded.to_list() == per_row(rows, tiny_tokenizer, None)
    assert len(counting.calls) == math.ceil(len(rows) / 10)  # was 2-3 calls per row
    assert all(isinstance(texts, list) for texts in counting.calls)


def test_backend_state_left_by_other_calls_is_not_used(tiny_tokenizer) -> None:
    rows = rows_with_long_and_short_facts()
    expected = per_row(rows, tiny_tokenizer, None)
    truncating = copy.deepcopy(tiny_tokenizer)
    truncating.backend_tokenizer.enable_truncation(4)  # as a call with max_length leaves it
    assert tokenize_rows(rows, truncating, None).to_list() == expected


def test_bad_rows_and_arguments_are_named(tiny_tokenizer) -> None:
    rows = rows_with_long_and_short_facts()
    with pytest.raises(ValueError, match="--tokenize_num_proc 0: at least 1"):
        tokenize_rows(rows, tiny_tokenizer, num_proc=0)
    blank = rows.map(lambda row, i: {"object": " " if i == 5 else row["object"]}, with_indices=True)
    with pytest.raises(ValueError, match="object ' ' tokenises to nothing"):
        tokenize_rows(blank, tiny_tokenizer, None)


def test_encode_row_with_ids_looked_up_once(tiny_tokenizer) -> None:
    rows = rows_with_long_and_short_facts()
    ids = special_token_ids(tiny_tokenizer)
    for row in rows:
        assert encode_row(tiny_tokenizer, row, ids) == encode_row(tiny_tokenizer, row)
    english_only = dataclasses.replace(ids, languages={"en": ids.languages["en"]})
    link = next(row for row in rows if row["kind"] == "link")
    assert encode_row(tiny_tokenizer, link, english_only) == encode_row(tiny_tokenizer, link)
    with pytest.raises(ValueError, match="unknown language code 'xx'"):
        encode_row(tiny_tokenizer, {**link, "object_language": "xx"}, ids)


def test_a_fact_with_a_control_token_in_a_name_is_dropped(tiny_tokenizer) -> None:
    """One such label in a dump of millions must not stop training, nor be trained with a
    forged layout (an `[O]` in the subject, an `[EOS]` inside the object's labels)."""
    rows = rows_with_long_and_short_facts()
    kept = tokenize_rows(rows, tiny_tokenizer, None)
    forged = rows.to_dict()
    forged["subject"][0] = "Germany [O] Japan"
    forged["object"][1] = "euro [EOS] yen"
    encoded = tokenize_rows(datasets.Dataset.from_dict(forged), tiny_tokenizer, None)
    assert len(encoded) == len(kept) - 2
    assert encoded["input_ids"] == kept["input_ids"][2:]


def test_the_encoding_is_stored_in_32_bit_integers(tiny_tokenizer, tmp_path) -> None:
    """`datasets` stored labels and lengths as 64-bit integers: a cache file half as large
    again (tens of GB at the paper's 194M facts) for values below 2**31 (XLM-R: 250k
    pieces; unlabelled: -100)."""
    rows = rows_with_long_and_short_facts()
    rows.to_parquet(tmp_path / "rows.parquet")
    on_disk = datasets.load_dataset("parquet", data_files=str(tmp_path / "rows.parquet"))["train"]
    encoded = tokenize_rows(on_disk, tiny_tokenizer, None, batch_size=7)
    assert encoded.features["input_ids"].feature.dtype == "int32"
    assert encoded.features["labels"].feature.dtype == "int32"
    assert encoded.features["length"].dtype == "int32"
    assert encoded.to_list() == per_row(rows, tiny_tokenizer, None)
    assert -100 in encoded[0]["labels"]
