"""What a build made, as Python objects: per-language counts and the rows of its shards.

`splits.build_rows` returns a `DatasetRows` (its statistics and inverse relations); the
build adds the Parquet shards (`output`), which `DatasetRows.triples` and `links` read back
as `schema.Row` lists on first access.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from prixlm.data.dbpedia.schema import COLUMNS, LINKS, SPLITS, Row, SplitSettings


@dataclass
class LanguageStats:
    """Counts of one language for the dataset card (paper Table 1 and more)."""

    labelled_entities: int = 0
    entities: int = 0
    triples: int = 0
    splits: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    removed_inverse: int = 0
    removed_length: int = 0
    links: int = 0
    facts: int = 0  # facts between labelled entities, before any filter
    # Read but not kept (`drops`): fact lines and links with an end that has no label in
    # its language, `owl:sameAs` lines whose target's language is unknown (and the
    # smallest such target IRI).
    unlabelled_facts: int = 0
    unlabelled_links: int = 0
    unknown_target_links: int = 0
    unknown_target_example: str = ""


class _ShardRows(Mapping):
    """`{split: [Row, ...]}` of one config, read from its Parquet shards on first access."""

    def __init__(self, owner: DatasetRows, config: str) -> None:
        self._owner, self._config = owner, config
        self._loaded: dict[str, list[Row]] = {}

    def __getitem__(self, split: str) -> list[Row]:
        if split not in SPLITS:
            raise KeyError(split)
        if split not in self._loaded:
            self._loaded[split] = self._owner.read(self._config, split)
        return self._loaded[split]

    def __iter__(self) -> Iterator[str]:
        return iter(SPLITS if self._config != LINKS else ("train",))

    def __len__(self) -> int:
        return len(SPLITS) if self._config != LINKS else 1


@dataclass
class DatasetRows:
    """What a build made: statistics, the inverse relations, and its Parquet shards.

    `shards[config][split]` lists the files (relative to `folder`) in row order;
    `triples[language][split]` and `links` read them as `schema.Row` lists on first access
    (a build without an output folder holds them in memory).
    """

    stats: dict[str, LanguageStats]
    inverse_relations: dict[str, list[str]]
    settings: SplitSettings
    folder: Path | None = None
    shards: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # The IRIs that link lines join into groups (`drops.fill_stats`; None: not counted).
    linked_iris: int | None = None
    triples: dict[str, Mapping[str, list[Row]]] = field(init=False)

    def __post_init__(self) -> None:
        self.triples = {language: _ShardRows(self, language) for language in self.stats}
        self._links: list[Row] | None = None

    @property
    def links(self) -> list[Row]:
        """Both directions of every link (the `links` config's train split)."""
        if self._links is None:
            self._links = self.read(LINKS, "train")
        return self._links

    def read(self, config: str, split: str) -> list[Row]:
        """The rows of `config`'s `split`, in file order (empty without files)."""
        import pyarrow.parquet as pq

        rows: list[Row] = []
        for path in self.shards.get(config, {}).get(split, []):
            if self.folder is None:
                raise ValueError("the build's files are gone: no rows to read")
            table = pq.read_table(self.folder / path, columns=list(COLUMNS))
            rows += [Row(**values) for values in table.to_pylist()]
        return rows

    def load(self) -> None:
        """Read every row into memory (before the build's folder goes away)."""
        for by_split in self.triples.values():
            for split in by_split:
                by_split[split]  # noqa: B018 (reads the split)
        self.links  # noqa: B018


__all__ = ["DatasetRows", "LanguageStats"]
