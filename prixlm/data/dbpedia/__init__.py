"""Prix-LM's multilingual KB data from DBpedia-format dumps (paper §3, Table 1).

dump files -> `dumps` (find them) -> `convert` (each file, or part of a large one, into a
Parquet record file, in parallel: `read_blocks`, vectorised; `read_rows`, the row-by-row
reference) -> DuckDB SQL: `tables` (labels, facts, links, entity ids) -> `splits`
(protocols, inverse filter, filter lists, length filter; `dataset_rows`, what it returns)
-> `output` + `card` (size-bounded Parquet shards per config/split, `README.md`) ->
`load_dataset(folder, "de")`.
`schema` declares the rows, the record files' columns, config and split names, split
defaults and RDF terms; `build` is the CLI and `build_dataset` (`--profile`: `profile`;
the options: `build_arguments`);
`dataset_builders/prixlm_dbpedia/prixlm_dbpedia.py` holds `PrixLMDBpedia`, the `datasets` builder over
the same build.

Names are imported lazily: `schema` (used by the CLDR exporter) and `python -m ...build`
do not pull in `datasets` and `pyarrow` through this package.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOMES = {
    "relation_words": "tables",  # prixlm.data.relation_names
    "EngineOptions": "engine",
    "FEATURES": "output",
    "COLUMNS": "schema",
    "Row": "schema",
    "SplitSettings": "schema",
    "DatasetRows": "dataset_rows",
    "build_rows": "splits",
    "inverse_relations_of": "splits",
    "build_dataset": "build",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"prixlm.data.dbpedia.{_HOMES[name]}"), name)
    raise AttributeError(name)


__all__ = sorted(_HOMES)
