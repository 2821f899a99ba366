"""Prix-LM's multilingual KB data from DBpedia-format dumps (paper §3, Table 1).

dump files -> `dumps` (find and stream them) -> `construction` (labels, facts, links,
entity ids) -> `splits` (protocols, inverse filter, filter lists, length filter) ->
`output` + `card` (Parquet per config/split, `README.md`) -> `load_dataset(folder, "de")`.
`build` is the CLI; `builder.PrixLMDBpedia` the `datasets` builder over the same steps.
"""

from prixlm.data.dbpedia.builder import PrixLMDBpedia, PrixLMDBpediaConfig
from prixlm.data.dbpedia.construction import (
    KnowledgeBase,
    build_knowledge_base,
    relation_words,
)
from prixlm.data.dbpedia.output import FEATURES
from prixlm.data.dbpedia.splits import (
    COLUMNS,
    DatasetRows,
    SplitSettings,
    build_rows,
    inverse_relations,
)


def __getattr__(name: str):
    # `build` is also run as `python -m ...build`: import it lazily so that runpy does not
    # find it imported already.
    if name in ("build_dataset", "tokenized_length"):
        from prixlm.data.dbpedia import build

        return getattr(build, name)
    raise AttributeError(name)


__all__ = [
    "COLUMNS",
    "FEATURES",
    "DatasetRows",
    "KnowledgeBase",
    "PrixLMDBpedia",
    "PrixLMDBpediaConfig",
    "SplitSettings",
    "build_dataset",
    "build_knowledge_base",
    "build_rows",
    "inverse_relations",
    "relation_words",
    "tokenized_length",
]
