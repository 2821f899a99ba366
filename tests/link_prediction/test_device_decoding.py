"""The device-resident loop of Algorithm 1 (`decode_batch_on_device`) against the host loop.

On the CPU the device-resident loop must give exactly the host loop's ranking (same entities
in the same order, losses equal to float32 rounding: its attention over shared prompts is
computed apart), also with ties everywhere and with children taken in chunks. Where CUDA exists, a test counts the host synchronisations of a decoding: they
must not grow with the number of steps (run it on a GPU with
`python -m pytest -q tests/link_prediction/test_device_decoding.py -k sync`).
"""

from __future__ import annotations

import copy
import warnings

import pytest
import torch
from test_link_prediction import QUERIES, tiny_entities

import modeling_prixlm.beam_search as beam_search
import modeling_prixlm.decoding_steps as decoding_steps
from modeling_prixlm.beam_search import predict_objects
from modeling_prixlm.constrained_decoding import EntityTrie
from modeling_prixlm.decoding_steps import smallest_k
from prixlm.link_prediction.candidate_scoring import default_sizes, score_candidates

QUERIES_X3 = QUERIES * 3  # several batches, queries repeated across and within batches


@pytest.fixture(scope="module")
def setup(tiny_prixlm):
    model, tokenizer = tiny_prixlm
    labels = tiny_entities(tokenizer)
    return model, tokenizer, labels, EntityTrie.from_labels(tokenizer, labels)


def assert_identical(host, device, exact_losses: bool = False):
    """Same entities in the same order; losses equal to float32 rounding (the device loop
    attends through `BeamCache`, the host loop through the fused kernel), or exactly."""
    assert len(host) == len(device)
    for expected, result in zip(host, device, strict=True):
        assert result.entities == expected.entities
        assert result.labels == expected.labels
        if exact_losses:
            assert result.losses == expected.losses  # same float64 sums
        else:
            assert result.losses == pytest.approx(expected.losses, rel=1e-6)


@pytest.mark.parametrize(("num_beams", "batch_size"), [(1, 5), (4, 3), (50, 12)])
def test_device_loop_gives_the_host_ranking(setup, num_beams, batch_size):
    model, tokenizer, _, trie = setup
    host, device = (
        predict_objects(
            model, tokenizer, QUERIES_X3, trie, num_beams, batch_size, device_resident=resident
        )
        for resident in (False, True)
    )
    assert_identical(host, device)
    assert sum(len(r.entities) for r in host) > len(QUERIES_X3) * num_beams // 2


def test_children_in_chunks_give_the_same_ranking(setup, monkeypatch):
    model, tokenizer, _, trie = setup
    host = predict_objects(model, tokenizer, QUERIES, trie, 6, device_resident=False)
    monkeypatch.setattr(decoding_steps, "_CHILDREN_BUDGET", 1)  # chunks of K columns
    assert max(trie.max_children()) > 6, "the test needs a node wider than one chunk"
    assert_identical(
        host, predict_objects(model, tokenizer, QUERIES, trie, 6, device_resident=True)
    )


def test_rows_shrink_to_the_bound_with_the_same_ranking(setup, monkeypatch):
    """Beams per query shrink to the open grandchildren two steps ahead: fewer dead rows."""
    model, tokenizer, _, trie = setup
    rows, best_children = [], beam_search.best_children

    def counting(trie, state, *args):
        rows.append(state.numel())
        return best_children(trie, state, *args)

    monkeypatch.setattr(beam_search, "best_children", counting)
    host = predict_objects(model, tokenizer, QUERIES, trie, 50, device_resident=False)
    device = predict_objects(model, tokenizer, QUERIES, trie, 50, device_resident=True)
    assert_identical(host, device)
    assert max(rows) == len(QUERIES) * 50 and rows[-1] < len(QUERIES) * 50, rows


def test_padded_logits_give_the_same_ranking(setup, monkeypatch):
    """The LM head over the vocabulary padded to 64 columns (what a GPU runs), on the CPU."""
    model, tokenizer, _, trie = setup
    host = predict_objects(model, tokenizer, QUERIES, trie, 8, device_resident=False)
    calls = []
    decoding_logits = type(model.lm_head).decoding_logits

    def counted(self, hidden):
        calls.append(hidden.shape[0])
        return decoding_logits(self, hidden)

    monkeypatch.setattr(decoding_steps, "_pads_logits", lambda model: True)
    monkeypatch.setattr(type(model.lm_head), "decoding_logits", counted)
    assert_identical(
        host, predict_objects(model, tokenizer, QUERIES, trie, 8, device_resident=True)
    )
    assert calls, "the padded head was not used"


def test_a_model_without_beam_cache_support_decodes_with_its_own_cache(setup, monkeypatch):
    """A model saved before `BeamCache` (no `supports_beam_cache`): the rows keep the
    model's own cache, same ranking."""
    model, tokenizer, _, trie = setup
    host = predict_objects(model, tokenizer, QUERIES, trie, 6, device_resident=False)
    monkeypatch.setattr(type(model), "supports_beam_cache", False)
    caches = []
    run_rows = decoding_steps.run_rows

    def recording(*args, **kwargs):
        logits, rows = run_rows(*args, **kwargs)
        caches.append(type(rows.cache).__name__)
        return logits, rows

    monkeypatch.setattr(beam_search, "run_rows", recording)
    device = predict_objects(model, tokenizer, QUERIES, trie, 6, device_resident=True)
    assert_identical(host, device, exact_losses=True)  # the same forward as the host loop
    assert set(caches) == {"DynamicCache"}


def test_ties_everywhere_are_broken_as_on_the_host(setup):
    """A model whose logits are all equal: every extension of a depth ties."""
    model, tokenizer, _, trie = setup
    flat = copy.deepcopy(model)
    with torch.no_grad():
        flat.lm_head.decoder.weight.zero_()
        flat.lm_head.decoder.bias.zero_()
    host = predict_objects(flat, tokenizer, QUERIES, trie, 5, device_resident=False)
    assert len(set(host[0].losses)) < len(host[0].losses), "no ties: the test is void"
    assert_identical(
        host,
        predict_objects(flat, tokenizer, QUERIES, trie, 5, device_resident=True),
        exact_losses=True,
    )


def test_a_bidirectional_model_without_cache(setup, tiny_tokenizer):
    from tiny_models import make_tiny_model

    _, tokenizer, _, trie = setup
    model = make_tiny_model(tiny_tokenizer, object_attention="bidirectional", seed=1)
    host, device = (
        predict_objects(model, tokenizer, QUERIES, trie, 3, device_resident=resident)
        for resident in (False, True)
    )
    # re-encoded in full at every step, in batches of other widths (rows that finished are
    # dropped): the same ranking, losses equal to float32 rounding
    assert_identical(host, device, exact_losses=False)


def test_smallest_k_is_a_stable_top_k():
    values = torch.tensor([[1.0, 0.0, 1.0, 0.0, 2.0], [3.0, 3.0, 3.0, 3.0, 3.0]])
    assert smallest_k(values, 3).tolist() == [[1, 3, 0], [0, 1, 2]]
    generator = torch.Generator().manual_seed(0)
    values = torch.randint(0, 4, (50, 40), generator=generator).double()
    values[values == 3] = float("inf")
    for k in (1, 7, 40):
        expected = torch.sort(values, dim=1, stable=True).indices[:, :k]
        assert torch.equal(smallest_k(values, k), expected)


def test_padded_children_equal_the_ragged_children(setup):
    *_, trie = setup
    states = torch.tensor([0, 5, -1, 17, 3, trie.num_nodes - 1])
    rows, tokens, children = trie.children(states)
    first, count = trie.child_ranges(states)
    token, child, valid = trie.children_padded(first, count, 0, int(count.max()))
    assert torch.equal(valid.sum(1), torch.bincount(rows, minlength=states.numel()))
    assert torch.equal(token[valid], tokens)
    assert torch.equal(child[valid], children)
    # a chunk further right holds the same children
    token2, child2, valid2 = trie.children_padded(first, count, 2, int(count.max()) - 2)
    assert torch.equal(token2[valid2], token[:, 2:][valid[:, 2:]])
    widths = trie.max_children()
    depth = torch.searchsorted(trie.depth_offsets, torch.arange(trie.num_nodes), right=True) - 1
    per_node = torch.bincount(trie.parents_and_tokens()[0][1:], minlength=trie.num_nodes)
    assert widths == [int(per_node[depth == d].max()) for d in range(trie.max_length)]


def test_moving_a_trie_twice_moves_it_once(setup):
    *_, trie = setup
    assert trie.to("cpu") is trie
    moved = trie.to("meta")
    assert moved is trie.to("meta") and moved.edge_keys.device.type == "meta"
    assert moved.max_children() == trie.max_children()


def test_full_ranking_defaults_follow_the_device(setup):
    assert default_sizes("cpu") == (4, 256)
    assert default_sizes("cuda") == (8, 8192)
    model, tokenizer, labels, _ = setup
    explicit = score_candidates(model, tokenizer, QUERIES[:2], labels, batch_size=4, max_rows=256)
    assert torch.equal(score_candidates(model, tokenizer, QUERIES[:2], labels), explicit)


def test_beam_rows_follow_the_device_and_its_memory(setup, monkeypatch):
    """1,024 rows per forward on the CPU; on a CUDA device 8,192 where the logits fit an
    eighth of its memory, halved on smaller cards, never below 1,024."""
    gib, vocab = 1 << 30, 250_015
    assert beam_search.rows_for_memory(139 * gib, vocab) == 8192  # H200
    assert beam_search.rows_for_memory(80 * gib, vocab) == 8192  # 8.2 GB <= 10 GiB
    assert beam_search.rows_for_memory(40 * gib, vocab) == 4096
    assert beam_search.rows_for_memory(24 * gib, vocab) == 2048
    assert beam_search.rows_for_memory(8 * gib, vocab) == 1024
    assert beam_search.rows_for_memory(80 * gib, 10_000) == 8192  # small vocabulary
    model, tokenizer, labels, trie = setup
    assert beam_search.default_max_rows(model) == 1024
    explicit = predict_objects(model, tokenizer, QUERIES_X3, trie, num_beams=4, max_rows=1024)
    assert predict_objects(model, tokenizer, QUERIES_X3, trie, num_beams=4) == explicit

    class Properties:
        total_memory = 24 * gib

    monkeypatch.setattr(beam_search, "model_device", lambda _: torch.device("cuda", 0))
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda _: Properties)
    vocab = model.config.vocab_size  # tiny: 8,192 rows fit any card
    assert beam_search.default_max_rows(model) == beam_search.rows_for_memory(24 * gib, vocab)
    assert beam_search.default_max_rows(model) == 8192


@pytest.mark.skipif(not torch.cuda.is_available(), reason="counts CUDA host synchronisations")
def test_sync_count_does_not_grow_with_the_steps(setup):
    """Synchronising reads of one batch (what `set_sync_debug_mode` reports: `.item()`,
    `.cpu()`, `nonzero`, blocking copies): a few at its start and end (prompt copies, the
    prompt's mask check, the completions' copy), none per step: a shallow and a deep trie
    (one step per token) must cost the same number. (The loop's wait on a CUDA event two
    steps behind is not one: the device has the next forwards queued by then.)"""
    model, tokenizer, labels, _ = setup
    model = copy.deepcopy(model).cuda()
    shallow = EntityTrie.from_labels(tokenizer, [label for label in labels if " " not in label])
    deep = EntityTrie.from_labels(tokenizer, labels)
    assert deep.max_length >= shallow.max_length + 2

    def syncs(trie: EntityTrie) -> int:
        predict_objects(model, tokenizer, QUERIES, trie, 4, batch_size=len(QUERIES))  # warm
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                predict_objects(model, tokenizer, QUERIES, trie, 4, batch_size=len(QUERIES))
            finally:
                torch.cuda.set_sync_debug_mode("default")
        return sum("synchroniz" in str(w.message) for w in caught)

    counts = syncs(shallow), syncs(deep)
    assert counts[0] == counts[1], counts
    assert counts[1] <= 8, counts


def test_gpu_benchmark_dry_run_on_the_cpu(tmp_path):
    """`bench/bench_lp_gpu.py --device cpu --tiny`: both loops, identical rankings, the JSON
    the GPU run writes, and the ratio on the last line."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    output = tmp_path / "bench_lp_gpu.json"
    done = subprocess.run(
        [sys.executable, str(root / "bench" / "bench_lp_gpu.py"), "--device", "cpu", "--tiny"]
        + ["--queries", "4", "--entities", "1000,200", "--output", str(output)]
        + ["--after_only_rows", "128"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PRIXLM_NUM_THREADS": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(output.read_text())
    assert report["device"].startswith("cpu")
    assert set(report["queries_per_s"]) == {"before", "after"}
    assert report["entities"] == 1000 and report["num_beams"] == 8
    assert report["rankings_identical"] is True
    assert "--tiny" in report["command"]
    (extra,) = [r for r in report["runs"] if r.get("max_rows") == 128]
    assert extra["loop"] == "after" and extra["entities"] == 1000 and extra["queries_per_s"] > 0
    assert extra["vs_after_at_64_rows"]["same_top1"] == 1.0
    assert report["full_ranking"]["max_abs_difference_to_a_cache_free_forward"] < 1e-4
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("speed ratio (after / before, 1000 entities, K=8): ")
    assert last.endswith("x")
