"""`PrixLMDBpedia`: the same build as a `datasets.GeneratorBasedBuilder`.

It runs `prixlm.data.dbpedia.build.build_dataset` (the DuckDB build) into a folder of its cache
(`<cache>/prixlm_dbpedia_build/<config id>`) and yields the rows of that build's Parquet
shards, in file order.

Usable directly (the Hub no longer runs loading scripts; the Hub path is the Parquet
folder written by `build`)::

    builder = PrixLMDBpedia(config_name="de", data_dir="path/to/dumps")
    builder.download_and_prepare()
    german = builder.as_dataset()          # train / validation / test

Config names: a language code (its triples), `links` (train links) or `all` (every
language's train triples plus the links; validation/test the union of the languages').
Config fields `languages` (default: every language with a labels and an object-facts
file in `data_dir`; a tuple of codes or a comma-separated string, `"de,en"`),
`link_languages` (the same forms),
`split_protocol`, `test_fraction`, `validation_fraction`, `inverse_threshold` and `seed`
mean what they mean for `build`.

The cache (`datasets`' config id) is keyed on the config's fields, the dump files (paths,
sizes, modification times, inodes and change times: `dumps_digest`) and
`build_code_digest()`, the source of the build code (the build package, the `prixlm` modules
it reads and names rows through, this file): dumps exported again (also with their old
modification times restored), or an edited or upgraded build, are built again instead of
served from the cache of the earlier ones. A change of the dumps' metadata only (`chmod`,
`touch`) builds again too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import datasets
import pyarrow.parquet as pq

import prixlm
import prixlm.data.dbpedia
from prixlm.data.dbpedia.card import CITATION
from prixlm.data.dbpedia.dumps import DumpIndex, normalize_language, select_languages
from prixlm.data.dbpedia.output import FEATURES, data_files
from prixlm.data.dbpedia.schema import ALL, COLUMNS, LINKS, SplitSettings
from prixlm.data.load_cache import file_state

_DEFAULTS = SplitSettings()

#: The build package (`prixlm/data/dbpedia/`).
BUILD_PACKAGE = Path(prixlm.data.dbpedia.__file__).parent

#: The `prixlm` modules outside the build package that it imports (directly or through each
#: other): the dump reader, the relation names, the cards' language codes. Messages and
#: argument parsing (`prixlm.cli`), progress bars (`prixlm.library_bars`), the card's licence id
#: check (`prixlm.hub.licenses`), how finished files are written (`prixlm.outputs`) and
#: whether a `--tokenizer` folder's code may run (`model_loading`) decide no row and are
#: left out. A test keeps this list equal to the build's imports.
ROW_MODULES = ("data/iri_chars.py", "data/ntriples.py", "data/ntriples_grammar.py",
               "data/ntriples_lines.py", "data/relation_names.py", "hub/languages.py")  # fmt: skip

#: The code the built rows depend on: the build package's modules, `ROW_MODULES` and this
#: file.
BUILD_CODE: tuple[Path, ...] = (
    BUILD_PACKAGE,
    *(Path(prixlm.__file__).parent / name for name in ROW_MODULES),
    Path(__file__),
)


def build_code_digest() -> str:
    """sha256 (16 hex digits) of the source files in `BUILD_CODE` (its folders' `*.py`), as
    installed: an edited or upgraded build gives another digest. Functions patched at run
    time are not seen."""
    digest = hashlib.sha256()
    for root in BUILD_CODE:
        for path in sorted(root.glob("*.py")) if root.is_dir() else [root]:
            digest.update(f"{path.name}\t".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def dumps_digest(folder: str | Path, paths: Iterable[Path]) -> str:
    """sha256 (16 hex digits) of the state of the files `paths` under `folder`: each one's
    path relative to `folder` and `prixlm.data.load_cache.file_state` (size, mtime, inode,
    ctime), so that a dump rewritten with its size and mtime restored (`cp -p`, `rsync -a`,
    `tar x`) gives another digest."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        name = path.relative_to(folder).as_posix()
        digest.update(f"{name}\t{file_state(path)}\n".encode())
    return digest.hexdigest()[:16]


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

    def __post_init__(self) -> None:
        """`languages` and `link_languages` as `build`'s options also take them: a
        comma-separated string (`"de,en"`, or `"de"`) is its codes, not its characters
        (which built `d`, `e` and `,` and failed with "no labels file for language 'd'")."""
        from prixlm.data.dbpedia.build import listed_codes  # as `build` reads `--languages`

        super().__post_init__()
        for name in ("languages", "link_languages"):
            value = getattr(self, name)
            if isinstance(value, str):
                setattr(self, name, tuple(listed_codes(value)))

    def create_config_id(self, config_kwargs: dict, custom_features=None) -> str:
        """`datasets`' id (name + the given fields), plus the digest of the build code and
        a fingerprint of the dump files under `data_dir`, its subfolders included as the
        dump scan finds them (`dumps_digest`): dumps exported again into the same folder,
        or an edited build, are built again, not served from the cache of the earlier
        ones."""
        config_id = super().create_config_id(config_kwargs, custom_features)
        config_id += f"-code-{build_code_digest()}"
        folder = config_kwargs.get("data_dir")
        if folder is None or not Path(folder).is_dir():
            return config_id
        files = (path for path in Path(folder).rglob("*") if path.is_file())
        return f"{config_id}-dumps-{dumps_digest(folder, files)}"

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
        from prixlm.data.dbpedia.build import build_dataset

        config = self.config
        if not config.data_dir:
            raise ValueError("PrixLMDBpedia needs data_dir=<folder with the dump files>")
        languages = select_languages(DumpIndex.scan(config.data_dir), config.languages)
        name = config.name if config.name in (LINKS, ALL) else normalize_language(config.name)
        if name not in (LINKS, ALL, *languages):
            raise ValueError(
                f"config {config.name!r}: expected {LINKS!r}, {ALL!r} or one of {languages}"
            )
        # The same build as the CLI, into a folder of this builder's cache.
        folder = Path(self._cache_dir_root) / "prixlm_dbpedia_build" / self.config_id
        rows, _ = build_dataset(
            config.data_dir,
            folder,
            languages,
            settings=config.settings(),
            link_languages=config.link_languages,
            strict=config.strict,
        )
        files = data_files(
            path
            for by_split in rows.shards.values()
            for paths in by_split.values()
            for path in paths
        )
        if name not in files:  # `links` of dumps without links: an empty DatasetDict before
            raise ValueError(
                f"config {config.name!r}: the dumps give no rows for it; configs: {sorted(files)}"
            )
        splits = files[name]
        return [  # like the Parquet layout, a split without rows is left out
            datasets.SplitGenerator(
                name=split, gen_kwargs={"paths": [str(folder / path) for path in paths]}
            )
            for split, paths in splits.items()
        ]

    def _generate_examples(self, paths: list[str]):
        index = 0
        for path in paths:
            for batch in pq.ParquetFile(path).iter_batches(columns=list(COLUMNS)):
                for row in batch.to_pylist():
                    yield index, row
                    index += 1


__all__ = [
    "BUILD_CODE",
    "ROW_MODULES",
    "PrixLMDBpedia",
    "PrixLMDBpediaConfig",
    "build_code_digest",
    "dumps_digest",
]
