"""BLI dictionaries: `source<TAB>target` files and the one written form of a word.

Torch-free, so that writing dictionaries (`prixlm.similarity.bli_cldr`) loads no model
code; `prixlm.similarity.bli` evaluates with them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from pathlib import Path

Pair = tuple[str, str]


def clean_word(word: str) -> str:
    """`word` composed (NFC), with each run of whitespace one space and none at the ends.

    Two spellings with the same cleaned form embed alike (the embedder composes every text,
    its tokenizer splits on any whitespace), so BLI counts them as one word.
    """
    return " ".join(unicodedata.normalize("NFC", word).split())


def clean_pairs(pairs: Sequence[Pair]) -> list[Pair]:
    """`pairs` with both sides `clean_word`-ed, in order (a repeat stays a repeat)."""
    return [(clean_word(source), clean_word(target)) for source, target in pairs]


def read_dictionary(path: str | Path) -> list[Pair]:
    """`(source, target)` pairs of a `source<TAB>target` file (blank lines skipped).

    Each side is `clean_word`-ed; a line repeated (or repeated up to spelling) is returned
    each time, as `evaluate_bli` counts a repeated test pair once.

    Raises:
        ValueError: `<file>:<line>: ...` for a line without exactly one tab or with an empty
            side.
    """
    pairs: list[Pair] = []
    with open(path, encoding="utf-8-sig") as lines:  # a BOM is no part of a word
        for number, line in enumerate(lines, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = [clean_word(field) for field in line.split("\t")]
            if len(fields) != 2 or not fields[0] or not fields[1]:
                raise ValueError(
                    f"{path}:{number}: expected 'source<TAB>target', got {line[:80]!r}"
                )
            pairs.append((fields[0], fields[1]))
    return pairs


def write_dictionary(pairs: Sequence[Pair], path: str | Path) -> None:
    """Write `pairs` as `source<TAB>target` lines (atomically)."""
    from prixlm.outputs.atomic import atomic_file

    for source, target in pairs:
        if "\t" in source + target or "\n" in source + target:
            raise ValueError(f"pair {(source, target)!r} contains a tab or a newline")
    with atomic_file(path) as staging:
        staging.write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
