"""modeling_prixlm.constrained_decoding: EntityTrie and TrieConstrainedLogitsProcessor."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import PrefixConstrainedLogitsProcessor

from modeling_prixlm.constrained_decoding import EntityTrie
from modeling_prixlm.formatting import encode_object
from modeling_prixlm.trie_logits_processor import TrieConstrainedLogitsProcessor

EOS = 9
# shared prefixes, an entity that is a prefix of another (5 6 | 5 6 7), a duplicate (row 4)
SEQUENCES = [[5, 6, EOS], [5, 6, 7, EOS], [5, 8, EOS], [4, EOS], [5, 6, EOS], [2, 3, 3, 3, EOS]]


def prefix_dict(sequences):
    """The naive reference: every prefix -> set of next tokens."""
    allowed: dict[tuple[int, ...], set[int]] = {}
    for sequence in sequences:
        for i, token in enumerate(sequence):
            allowed.setdefault(tuple(sequence[:i]), set()).add(token)
    return allowed


@pytest.fixture(scope="module")
def trie():
    return EntityTrie.from_token_ids(SEQUENCES, EOS)


def test_structure_by_hand(trie):
    assert trie.num_entities == 6
    assert trie.num_nodes == 1 + 14  # the root + every distinct non-empty prefix
    assert trie.max_length == 5
    assert trie.allowed_tokens([]) == [2, 4, 5]
    assert trie.allowed_tokens([5]) == [6, 8]
    assert trie.allowed_tokens([5, 6]) == [7, EOS]  # a prefix entity and its extension
    assert trie.allowed_tokens([5, 6, EOS]) == []
    assert trie.allowed_tokens([7]) == []
    assert trie.entity_lengths().tolist() == [3, 4, 3, 2, 3, 5]
    for index, sequence in enumerate(SEQUENCES):
        assert trie.token_ids(index) == sequence


def test_identical_tokenisations_collapse(trie):
    assert int(trie.entity_nodes[0]) == int(trie.entity_nodes[4])
    assert trie.entity_of(trie.entity_nodes).tolist() == [0, 1, 2, 3, 0, 5]
    assert trie.entity_of(torch.tensor([0, 1])).tolist() == [-1, -1]  # root, inner node


def test_random_trie_matches_a_dict_of_prefixes():
    generator = torch.Generator().manual_seed(0)
    sequences = set()
    while len(sequences) < 400:
        length = int(torch.randint(1, 7, (1,), generator=generator))
        body = torch.randint(
            0, 6, (length,), generator=generator
        ).tolist()  # tiny alphabet: sharing
        sequences.add(tuple(body) + (99,))
    sequences = sorted(sequences)
    trie = EntityTrie.from_token_ids(sequences, 99, vocab_size=100)
    reference = prefix_dict(sequences)
    prefixes = list(reference)
    width = max(map(len, prefixes))
    padded = torch.tensor([list(p) + [0] * (width - len(p)) for p in prefixes])
    lengths = torch.tensor([len(p) for p in prefixes])
    states = torch.zeros(len(prefixes), dtype=torch.long)
    for column in range(width):  # walk each prefix only along its own length
        stepped = trie.step(states, padded[:, column])
        states = torch.where(column < lengths, stepped, states)
    assert bool((states >= 0).all())
    rows, tokens, children = trie.children(states)
    for row, prefix in enumerate(prefixes):
        assert tokens[rows == row].tolist() == sorted(reference[prefix]), prefix
    # children really are the nodes reached by `step`
    assert torch.equal(trie.step(states[rows], tokens), children)
    # impossible continuations die, and dead states stay dead
    dead = trie.step(torch.zeros(3, dtype=torch.long), torch.tensor([6, 99, 100]))
    assert dead.tolist() == [-1, -1, -1]
    assert trie.children(dead)[0].numel() == 0
    assert trie.walk(torch.tensor([[6, 0, 0]])).tolist() == [-1]


def test_save_and_load_round_trip(tmp_path, trie):
    labelled = EntityTrie.from_token_ids(
        SEQUENCES, EOS, labels=["Köln", "東京", "a b", "x", "Köln (dup)", "ünïcödé"]
    )
    path = tmp_path / "trie.safetensors"
    labelled.save(str(path))
    assert not path.read_bytes().startswith(b"\x80")  # not a pickle
    loaded = EntityTrie.load(str(path))
    for name in ("edge_keys", "entity_nodes", "depth_offsets"):
        assert torch.equal(getattr(loaded, name), getattr(labelled, name))
    assert (loaded.stride, loaded.eos_token_id) == (labelled.stride, labelled.eos_token_id)
    assert loaded.labels == labelled.labels
    trie.save(str(path))
    assert EntityTrie.load(str(path)).labels is None


def test_load_rejects_other_files(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "other.safetensors"
    save_file({"x": torch.zeros(1)}, str(path), metadata={"format": "pt"})
    with pytest.raises(ValueError, match="not an EntityTrie"):
        EntityTrie.load(str(path))


@pytest.mark.parametrize(
    ("sequences", "message"),
    [
        ([], "no candidate"),
        ([[5, 6]], "does not end with"),
        ([[5, EOS, 6, EOS]], "occurs inside"),
        ([[EOS]], "no token before"),
        ([[-1, EOS]], r"\[0, "),
    ],
)
def test_bad_sequences(sequences, message):
    with pytest.raises(ValueError, match=message):
        EntityTrie.from_token_ids(sequences, EOS)


def test_from_labels_tokenises_like_encode_object(tiny_tokenizer):
    labels = ["euro", "Japanese", "Japanese yen", "Swiss franc", "German", "Euro", "日本円"]
    trie = EntityTrie.from_labels(tiny_tokenizer, labels)
    for index, label in enumerate(labels):
        assert trie.token_ids(index) == encode_object(tiny_tokenizer, label)
    assert trie.labels == labels
    assert trie.stride == len(tiny_tokenizer)
    with pytest.raises(ValueError, match="tokenises to nothing"):
        EntityTrie.from_labels(tiny_tokenizer, ["euro", ""])
    with pytest.raises(ValueError, match="no candidate"):
        EntityTrie.from_labels(tiny_tokenizer, [])


@pytest.mark.parametrize("inplace", [True, False])
def test_processor_masks_each_row_to_its_trie_state(trie, inplace):
    prompt_length = 3
    generator = torch.Generator().manual_seed(1)
    cases = [[5, 6], [2, 3], [5, 8], [5, 6], [4, EOS]]  # one generated length for all rows
    prompt = torch.randint(0, 12, (len(cases), prompt_length), generator=generator)
    input_ids = torch.cat([prompt, torch.tensor(cases)], 1)
    scores = torch.randn(len(cases), 12, generator=generator)
    original = scores.clone()
    out = TrieConstrainedLogitsProcessor(trie, prompt_length, inplace=inplace)(input_ids, scores)
    assert (out.data_ptr() == scores.data_ptr()) == inplace
    if not inplace:
        assert torch.equal(scores, original)
    for row, prefix in enumerate(cases):
        allowed = trie.allowed_tokens(prefix)
        finite = torch.isfinite(out[row]).nonzero()[:, 0].tolist()
        if allowed:
            assert finite == allowed
            assert torch.equal(out[row, allowed], original[row, allowed])
        else:  # the finished entity "4": only [EOS], at the lowest score
            assert finite == [EOS] and out[row, EOS] == torch.finfo(out.dtype).min


def test_processor_equals_prefix_constrained_processor_on_live_rows(trie):
    prompt_length, num_beams = 2, 3
    generator = torch.Generator().manual_seed(2)
    prefixes = [[5, 6], [5, 8], [2, 3], [5, 6], [2, 3], [5, 8]]  # 2 queries x 3 beams
    input_ids = torch.cat(
        [torch.randint(0, 12, (6, prompt_length), generator=generator), torch.tensor(prefixes)], 1
    )
    scores = torch.log_softmax(torch.randn(6, 12, generator=generator), -1)
    baseline = PrefixConstrainedLogitsProcessor(
        lambda batch_id, sent: trie.allowed_tokens(sent[prompt_length:].tolist()), num_beams
    )
    expected = baseline(input_ids, scores.clone())
    assert torch.equal(
        TrieConstrainedLogitsProcessor(trie, prompt_length)(input_ids, scores), expected
    )


def test_root_rows_take_the_broadcast_path():
    # one state (the root) allowing most of the vocabulary: the dense path
    sequences = [[t, 50] for t in range(40)]
    trie = EntityTrie.from_token_ids(sequences, 50, vocab_size=51)
    input_ids = torch.zeros(4, 5, dtype=torch.long)
    scores = torch.randn(4, 51)
    original = scores.clone()
    out = TrieConstrainedLogitsProcessor(trie, prompt_length=5)(input_ids, scores)
    assert torch.equal(out[:, :40], original[:, :40])
    assert bool(torch.isneginf(out[:, 40:]).all())


def test_rows_without_continuation_do_not_crash(trie):
    prompt_length = 1
    # a finished entity, an impossible prefix, a live prefix
    input_ids = torch.tensor([[0, 4, EOS], [0, 7, 7], [0, 5, 6]])
    scores = torch.zeros(3, 12)
    out = TrieConstrainedLogitsProcessor(trie, prompt_length)(input_ids, scores)
    lowest = torch.finfo(out.dtype).min
    for row in (0, 1):
        assert out[row, EOS] == lowest
        assert int(torch.isfinite(out[row]).sum()) == 1
    assert torch.isfinite(out[2]).nonzero()[:, 0].tolist() == [7, EOS]


def test_processor_rejects_a_too_small_vocabulary(trie):
    with pytest.raises(ValueError, match="columns"):
        TrieConstrainedLogitsProcessor(trie, 1)(
            torch.zeros(1, 1, dtype=torch.long), torch.zeros(1, 5)
        )


def test_folder_works_copied_alone(tmp_path):
    """Hub custom code: the folder, copied under another name, imports nothing of prixlm."""
    source = Path(__file__).resolve().parents[2] / "modeling_prixlm"
    shutil.copytree(source, tmp_path / "hub_copy", ignore=shutil.ignore_patterns("__pycache__"))
    script = (
        "import sys\n"
        "from hub_copy.constrained_decoding import EntityTrie\n"
        "from hub_copy.trie_logits_processor import TrieConstrainedLogitsProcessor\n"
        "import torch\n"
        "trie = EntityTrie.from_token_ids([[5, 6, 9], [5, 9]], 9)\n"
        "out = TrieConstrainedLogitsProcessor(trie, 1)(torch.tensor([[0, 5]]), torch.zeros(1, 10))\n"
        "assert torch.isfinite(out[0]).nonzero()[:, 0].tolist() == [6, 9]\n"
        "assert not any(m == 'prixlm' or m.startswith(('prixlm.', 'modeling_prixlm')) for m in sys.modules)\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.strip() == "ok"


def test_empty_labels_and_device_copy(tmp_path):
    trie = EntityTrie.from_token_ids([[5, EOS]], EOS, labels=[""])
    trie.save(str(tmp_path / "t.safetensors"))
    assert EntityTrie.load(str(tmp_path / "t.safetensors")).labels == [""]
    moved = trie.to("cpu")
    assert torch.equal(moved.edge_keys, trie.edge_keys) and moved.labels == trie.labels
