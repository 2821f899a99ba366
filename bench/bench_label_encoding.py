"""Tokenising a language's candidate labels and building their trie: transformers' batch call
and a control-token check per label (before) vs one batch through the Rust backend and the
control tokens looked up once (`modeling_prixlm.label_encoding.encode_labels`, ours).

Run::

    .venv/bin/python bench/bench_label_encoding.py [--labels 100000] [--repeats 3]

The tokenizer is the demo's kind (`_prixlm_bench.fact_tokenizer`: a Unigram tokenizer trained
on the CLDR KB's names of the paper's nine languages, with the Prix-LM tokens). The labels
are real-ish multilingual names: the KB's ~11.8k distinct names, then `name (other name)`
disambiguations up to `--labels`, as a large KB's candidates are. Each way builds
`EntityTrie.from_labels`' trie of them, `--repeats` times (best kept), alternating:

- **text call**: `tokenizer(labels, add_special_tokens=False)` (transformers makes a Python
  `BatchEncoding` entry per label), then `check_no_control_tokens` per label;
- **backend batch**: `EntityTrie.from_labels` (the backend's `encode_batch_fast`, the control
  tokens looked up once).

Both must give the same ids and the same trie (checked). The last line is the ratio of the
seconds.
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _prixlm_bench import fact_tokenizer, interleaved_times, load_facts, print_best  # noqa: E402

from modeling_prixlm.constrained_decoding import EntityTrie  # noqa: E402
from modeling_prixlm.formatting import check_no_control_tokens, special_token_ids  # noqa: E402


def synthetic_labels(names: list[str], count: int) -> list[str]:
    """`count` labels: `names`, then `name (other name)` disambiguations."""
    labels, n, i = list(names[:count]), len(names), 0
    while len(labels) < count:
        labels.append(f"{names[i % n]} ({names[(i // n + 1 + i * 7) % n]})")
        i += 1
    return labels


def text_call_trie(tokenizer: Any, labels: list[str]) -> EntityTrie:
    """The trie as `from_labels` built it before: a text call, a check per label."""
    composed = [unicodedata.normalize("NFC", label) for label in labels]
    encoded = tokenizer(composed, add_special_tokens=False, verbose=False)["input_ids"]
    eos = special_token_ids(tokenizer, ()).end_of_object
    for label, ids in zip(labels, encoded, strict=True):
        check_no_control_tokens(tokenizer, label, ids, "candidate entity")
    return EntityTrie.from_token_ids(
        (list(ids) + [eos] for ids in encoded), eos, len(tokenizer), labels
    )


def same_trie(first: EntityTrie, second: EntityTrie) -> bool:
    tensors = ("edge_keys", "entity_nodes", "depth_offsets")
    return first.labels == second.labels and all(
        torch.equal(getattr(first, name), getattr(second, name)) for name in tensors
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    facts = load_facts()
    names = list(dict.fromkeys(name for fact in facts for name in (fact[0], fact[2])))
    tokenizer = fact_tokenizer(facts)
    labels = synthetic_labels(names, args.labels)
    print(f"{len(labels):,} labels ({len(set(labels)):,} distinct), tokenizer of "
          f"{len(tokenizer):,} pieces")  # fmt: skip
    tries: dict[str, EntityTrie] = {}
    paths = {
        "text call": lambda: tries.__setitem__("text call", text_call_trie(tokenizer, labels)),
        "backend batch": lambda: tries.__setitem__(
            "backend batch", EntityTrie.from_labels(tokenizer, labels)
        ),
    }
    times = interleaved_times(paths, 0, args.repeats)
    if not same_trie(tries["text call"], tries["backend batch"]):
        raise SystemExit("the two ways built different tries")
    print(f"same ids and trie: yes ({tries['backend batch']!r})")
    print_best(
        {name: min(seconds) for name, seconds in times.items()}, len(labels), "label", places=4
    )


if __name__ == "__main__":
    main()
