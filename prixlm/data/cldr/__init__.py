"""An offline multilingual KB from Unicode CLDR (via Babel), written as DBpedia dump files.

What the KB holds and how it is made: `dataset_builders/cldr_kb/README.md` (the card of
an exported KB); the command line and `export_cldr_kb` live in `export.py`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PAPER_LOCALES", "all_locales", "export_cldr_kb"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `python -m prixlm.data.cldr.export` does not import export twice.
    if name in __all__:
        from prixlm.data.cldr import export

        return getattr(export, name)
    raise AttributeError(name)
