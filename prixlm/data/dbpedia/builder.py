"""`PrixLMDBpedia`: the same construction as a `datasets.GeneratorBasedBuilder`.

Usable directly (the Hub no longer runs loading scripts; the Hub path is the Parquet
folder written by `build`)::

    builder = PrixLMDBpedia(config_name="de", data_dir="path/to/dumps")
    builder.download_and_prepare()
    german = builder.as_dataset()          # train / validation / test

Config names: a language code (its triples), `links` (train links) or `all` (every
language's train triples plus the links; validation/test the union of the languages').
Config fields `languages` (default: every language with a labels and an object-facts
file in `data_dir`),
`link_languages`,
`split_protocol`, `test_fraction`, `validation_fraction`, `inverse_threshold` and `seed`
mean what they mean for `build`, whose Parquet files hold the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import datasets

from prixlm.data.dbpedia.card import CITATION
from prixlm.data.dbpedia.dumps import DumpIndex, normalize_language
from prixlm.data.dbpedia.output import FEATURES
from prixlm.data.dbpedia.schema import ALL, LINKS, SPLITS, Row, SplitSettings
from prixlm.data.dbpedia.splits import DatasetRows

_DEFAULTS = SplitSettings()


@dataclass
class PrixLMDBpediaConfig(datasets.BuilderConfig):
    """A language code, `links` or `all`, plus the build settings (defaults: `SplitSettings`)."""

    languages: tuple[str, ...] | None = None
    link_languages: tuple[str, ...] | None = None
    split_protocol: str = _DEFAULTS.protocol
    test_fraction: float = _DEFAULTS.test_fraction
    validation_fraction: float = _DEFAULTS.validation_fraction
    inverse_threshold: float = _DEFAULTS.inverse_threshold
    seed: int = _DEFAULTS.seed
    strict: bool = False

    def settings(self) -> SplitSettings:
        """The split settings of this config."""
        return SplitSettings(
            protocol=self.split_protocol,
            test_fraction=self.test_fraction,
            validation_fraction=self.validation_fraction,
            inverse_threshold=self.inverse_threshold,
            seed=self.seed,
        )


class PrixLMDBpedia(datasets.GeneratorBasedBuilder):
    """Prix-LM triples and links from DBpedia-format dumps in `data_dir`."""

    BUILDER_CONFIG_CLASS = PrixLMDBpediaConfig
    BUILDER_CONFIGS: list[PrixLMDBpediaConfig] = []  # any language code, `links`, `all`
    VERSION = datasets.Version("1.0.0")

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description="Prix-LM multilingual KB triples and cross-lingual links",
            features=FEATURES,
            citation=CITATION,
        )

    def _split_generators(
        self, dl_manager: datasets.DownloadManager
    ) -> list[datasets.SplitGenerator]:
        from prixlm.data.dbpedia.build import build_dataset, select_languages

        config = self.config
        if not config.data_dir:
            raise ValueError("PrixLMDBpedia needs data_dir=<folder with the dump files>")
        languages = select_languages(DumpIndex.scan(config.data_dir), config.languages)
        name = config.name if config.name in (LINKS, ALL) else normalize_language(config.name)
        if name not in (LINKS, ALL, *languages):
            raise ValueError(
                f"config {config.name!r}: expected {LINKS!r}, {ALL!r} or one of {languages}"
            )
        rows, _ = build_dataset(
            config.data_dir,
            None,
            languages,
            settings=config.settings(),
            link_languages=config.link_languages,
            strict=config.strict,
        )
        splits = ("train",) if name == LINKS else SPLITS
        selected = {split: _config_rows(rows, name, split) for split in splits}
        return [  # like the Parquet layout, a split without rows is left out
            datasets.SplitGenerator(name=split, gen_kwargs={"rows": split_rows})
            for split, split_rows in selected.items()
            if split_rows
        ]

    def _generate_examples(self, rows: list[Row]):
        for index, row in enumerate(rows):
            yield index, row._asdict()


def _config_rows(rows: DatasetRows, name: str, split: str) -> list[Row]:
    """The rows of config `name` in `split` (same order as the Parquet files)."""
    if name == LINKS:
        return rows.links
    if name == ALL:
        merged = [row for by_split in rows.triples.values() for row in by_split[split]]
        return merged + rows.links if split == "train" else merged
    return rows.triples[name][split]


__all__ = ["PrixLMDBpedia", "PrixLMDBpediaConfig"]
