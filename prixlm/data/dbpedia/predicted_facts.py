"""Dump files that hold a model's predicted facts, which a build does not take as source facts.

`python -m prixlm.complete` opens its N-Triples with the comment line
`PREDICTED_FACTS_HEADER` (`# predicted by prixlm.complete: ...`), the Space's Batch tab its
`completed.nt` with `# predicted by prixlm (the Space's Batch tab) ...`: both begin with
`PREDICTED_MARK`. A chosen language's dump file that opens with it (the file renamed to a dump name such as
`mappingbased_objects_ja.nt`, or put first by `cat new_facts_ja.nt ... >`) is refused by
`check_predicted_facts`: a build takes every fact of its dumps as a source fact and draws
test and validation rows from them, so an evaluation of the next model would rank the
earlier model's predictions as gold facts. `allow_predicted=True` (the build's
`--allow_predicted_facts`, recorded in the card's command line) reads them as source facts,
with a warning naming the files.
"""

from __future__ import annotations

import bz2
import logging
from collections.abc import Sequence
from pathlib import Path

from prixlm.data.dbpedia.dumps import KINDS, DumpIndex
from prixlm.data.ntriples_lines import BOM, open_dump

logger = logging.getLogger(__name__)

#: How the N-Triples of a model's predictions open (`complete`'s, the Space's Batch tab's).
PREDICTED_MARK = "# predicted by prixlm"
#: The start of the first line of the N-Triples that `python -m prixlm.complete` writes.
PREDICTED_FACTS_HEADER = f"{PREDICTED_MARK}.complete"


def opens_as_predicted_facts(path: str | Path) -> bool:
    """Whether the dump `path` opens with `PREDICTED_MARK` (after a byte-order mark)."""
    header = PREDICTED_MARK.encode()
    try:
        # a `.bz2` by its first block alone: `open_dump`'s reader decompresses its first
        # 256 KB of input whole, tens of MB of a dump that compresses well (~1 s a file)
        opened = bz2.open(path) if Path(path).suffix.lower() == ".bz2" else open_dump(path)
        with opened as handle:
            head = handle.read(len(BOM) + len(header))
    except (OSError, EOFError):  # unreadable, a cut archive: the build's reader names it
        return False
    return head.removeprefix(BOM).startswith(header)


def check_predicted_facts(
    index: DumpIndex, languages: Sequence[str], *, allow_predicted: bool = False
) -> list[Path]:
    """The chosen `languages`' dump files in `index` that open as predicted facts.

    Raises:
        ValueError: there are some and not `allow_predicted` (the message names them and
            the option that reads them).
    """
    predicted = [
        path
        for language in languages
        for kind in KINDS
        if (path := index.find(kind, language)) is not None and opens_as_predicted_facts(path)
    ]
    if predicted and not allow_predicted:
        raise ValueError(
            f"{', '.join(map(str, predicted))}: facts predicted by a model (the file opens "
            f"with a '{PREDICTED_MARK}' line, as prixlm.complete and the Space write them), "
            "not source facts: a "
            "build draws test and validation rows from every fact, so an evaluation would "
            "rank the model's predictions as gold facts; keep the file out of --dump_dir, "
            "or pass --allow_predicted_facts to read its facts as source facts"
        )
    if predicted:
        logger.warning(
            "reading facts predicted by a model as source facts (--allow_predicted_facts), "
            "drawn into every split: %s",
            ", ".join(map(str, predicted)),
        )
    return predicted


__all__ = [
    "PREDICTED_FACTS_HEADER",
    "PREDICTED_MARK",
    "check_predicted_facts",
    "opens_as_predicted_facts",
]
