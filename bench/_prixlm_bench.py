"""Shared set-up of the model benchmarks (`bench_train_step.py`, `bench_generation_cache.py`,
`bench_object_logits.py`): real facts, the embedded tokenizer, batches and timing.

Not a benchmark itself. Facts are the embedded CLDR KB's triples in the paper's nine
languages, labelled as `prixlm.data.cldr` exports them; the tokenizer is the
embedded default (a Unigram tokenizer in XLM-R's layout, `vocab_size=8000` asked for)
with the Prix-LM tokens added.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modeling_prixlm.formatting import (  # noqa: E402
    IGNORE_INDEX,
    EncodedFact,
    add_prixlm_tokens,
    encode_triple,
    within_length,
)
from prixlm.data.cldr.dump_format import dbpedia_language  # noqa: E402
from prixlm.data.cldr.export import PAPER_LOCALES, build_locale_kb  # noqa: E402
from prixlm.training.tokenizer_training import train_tokenizer  # noqa: E402

Triple = tuple[str, str, str]


def set_threads(threads: int) -> int:
    """Set torch's intra- and inter-op threads deliberately (shared 2-core machine)."""
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set in this process
        pass
    return torch.get_num_threads()


def machine_line(threads: int) -> str:
    """One line naming the machine and the torch set-up of this run."""
    return (
        f"machine: {os.cpu_count()} CPU cores visible, torch {torch.__version__}, "
        f"torch.set_num_threads({threads}) -> {torch.get_num_threads()} threads"
    )


def load_facts(locales: Sequence[str] = PAPER_LOCALES) -> list[Triple]:
    """(subject label, relation, object label) of every CLDR KB triple of `locales`."""
    facts: list[Triple] = []
    for locale_id in locales:
        kb = build_locale_kb(locale_id)
        facts += [(kb.labels[f.subject], f.relation, kb.labels[f.object]) for f in kb.facts]
    return facts


def fact_tokenizer(
    facts: Sequence[Triple], vocab_size: int = 8000, locales: Sequence[str] = PAPER_LOCALES
) -> Any:
    """The embedded default tokenizer trained on the facts' names, with the Prix-LM tokens."""
    tokenizer = train_tokenizer([part for fact in facts for part in fact], vocab_size=vocab_size)
    add_prixlm_tokens(tokenizer, [dbpedia_language(locale_id) for locale_id in locales])
    return tokenizer


def encode_facts(tokenizer: Any, facts: Sequence[Triple]) -> list[EncodedFact]:
    """Encode the facts, dropping those of 30 tokens or more (the paper's filter)."""
    encoded = (encode_triple(tokenizer, *fact) for fact in facts)
    return [fact for fact in encoded if within_length(fact)]


@dataclass(frozen=True)
class Batch:
    """A right-padded batch: `input_ids`, `attention_mask`, `labels`, all `(batch, length)`."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor

    @property
    def label_count(self) -> int:
        return int((self.labels[:, 1:] != IGNORE_INDEX).sum())


def right_padded(facts: Sequence[EncodedFact], pad_token_id: int) -> Batch:
    """Right-pad `facts` to the longest: pad id, mask 0 and label -100 on padding."""
    length = max(len(fact) for fact in facts)
    input_ids = torch.full((len(facts), length), pad_token_id, dtype=torch.long)
    labels = torch.full((len(facts), length), IGNORE_INDEX, dtype=torch.long)
    attention_mask = torch.zeros((len(facts), length), dtype=torch.long)
    for row, fact in enumerate(facts):
        input_ids[row, : len(fact)] = torch.tensor(fact.input_ids)
        labels[row, : len(fact)] = torch.tensor(fact.labels)
        attention_mask[row, : len(fact)] = 1
    return Batch(input_ids, attention_mask, labels)


def sample_batches(
    facts: Sequence[EncodedFact], batch_size: int, count: int, pad_token_id: int, seed: int = 0
) -> list[Batch]:
    """`count` right-padded batches of `batch_size` facts drawn at random (fixed seed)."""
    rng = random.Random(seed)
    return [right_padded(rng.sample(list(facts), batch_size), pad_token_id) for _ in range(count)]


def interleaved_times(
    steps: dict[str, Callable[[], object]], warmup: int, repeats: int
) -> dict[str, list[float]]:
    """Wall seconds of each step function, `repeats` times after `warmup` untimed calls.

    The functions run in turn (A, B, A, B, ...) so that load from other jobs on the shared
    machine falls on all of them alike.
    """
    for _ in range(warmup):
        for step in steps.values():
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return times


def print_best(best: dict[str, float], count: int, unit: str, places: int = 2) -> None:
    """The markdown table of each path's best seconds and milliseconds per `unit` (`count`
    units a run), then the ratio of the first path's seconds to the last's."""
    print(f"| path | seconds (best) | ms per {unit} |")
    print("|---|---:|---:|")
    for name, seconds in best.items():
        print(f"| {name} | {seconds:.{places}f} | {1000 * seconds / count:.{places}f} |")
    first, last = list(best)[0], list(best)[-1]
    print(f"ratio {first} / {last}: {best[first] / best[last]:.2f}x")


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def spread(values: Sequence[float]) -> str:
    """`min-max` of timings in milliseconds, for the table."""
    return f"{1000 * min(values):.1f}-{1000 * max(values):.1f}"
