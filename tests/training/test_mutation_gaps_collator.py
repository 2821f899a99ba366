"""Exact values where a mutation-testing round found gaps: the collator's position budget
and best-fit-decreasing packing."""

from __future__ import annotations

import pytest

from prixlm.training.collator import PrixLMCollator

OBJECT = 9


def fact(length: int, first: int = 10) -> dict:
    """`length` tokens: `[O]` second (or alone), distinct ids from `first`, the rest labels."""
    ids = [first + i for i in range(length)]
    ids[min(1, length - 1)] = OBJECT
    return {"input_ids": ids, "labels": [-100] * min(2, length) + ids[2:]}


def test_a_fact_one_token_over_the_position_budget_is_refused():
    collator = PrixLMCollator(pad_token_id=1, object_token_id=OBJECT, position_budget=5)
    batch = collator([fact(5)])  # exactly the budget: checked here, not in the model
    assert batch["input_ids"].shape == (1, 5)
    assert batch["check_inputs"] is False
    with pytest.raises(ValueError, match=r"feature 1: 6 tokens, more than the model's 5 positions"):
        collator([fact(5), fact(6)])


def rows_of(batch) -> list[list[int]]:
    """Each row's facts (by feature index), in the order they sit in the row."""
    rows = []
    for row in batch["fact_ids"].tolist():
        rows.append([f for i, f in enumerate(row) if f >= 0 and (i == 0 or row[i - 1] != f)])
    return rows


def test_packing_is_best_fit_decreasing():
    collator = PrixLMCollator(
        pad_token_id=1, packing=True, pack_length=10, object_logits_only=False
    )
    features = [fact(n, first=10 * n) for n in (6, 5, 4, 3, 2)]
    batch = collator(features)
    assert batch["input_ids"].shape == (2, 10)
    # 6 opens row 0 (room 4), 5 opens row 1 (room 5), 4 fills row 0, 3 and 2 fill row 1
    assert rows_of(batch) == [[0, 2], [1, 3, 4]]
    assert batch["attention_mask"].tolist() == [[1] * 10, [1] * 10]
    assert batch["input_ids"][0].tolist() == features[0]["input_ids"] + features[2]["input_ids"]
    assert batch["input_ids"][1].tolist() == (
        features[1]["input_ids"] + features[3]["input_ids"] + features[4]["input_ids"]
    )
    assert batch["position_ids"][1].tolist() == [2, 3, 4, 5, 6, 2, 3, 4, 2, 3]


def test_packing_fills_the_row_with_the_least_room():
    # 5 opens row 0 (room 3), 4 opens row 1 (room 4): 3 goes to row 0 (best fit), not row 1
    collator = PrixLMCollator(pad_token_id=1, packing=True, pack_length=8, object_logits_only=False)
    batch = collator([fact(n, first=10 * n) for n in (5, 4, 3)])
    assert batch["input_ids"].shape == (2, 8)
    assert rows_of(batch) == [[0, 2], [1]]
    assert batch["attention_mask"].sum(dim=1).tolist() == [8, 4]


def test_two_open_rows_with_the_same_room_both_stay_open():
    # 6 and 6 open two rows with room 4 each: both 4s fit, one in each
    collator = PrixLMCollator(
        pad_token_id=1, packing=True, pack_length=10, object_logits_only=False
    )
    batch = collator([fact(n, first=10 * i) for i, n in enumerate((6, 6, 4, 4))])
    assert batch["input_ids"].shape == (2, 10)
    assert sorted(rows_of(batch)) == [[0, 3], [1, 2]]
    assert batch["attention_mask"].sum().item() == 20


def test_a_fact_that_exactly_fills_the_room_left_shares_the_row():
    collator = PrixLMCollator(pad_token_id=1, packing=True, pack_length=4, object_logits_only=False)
    batch = collator([fact(3), fact(1, first=50)])
    assert batch["input_ids"].tolist() == [[10, OBJECT, 12, OBJECT]]
    assert batch["fact_ids"].tolist() == [[0, 0, 0, 1]]
    assert batch["position_ids"].tolist() == [[2, 3, 4, 2]]
