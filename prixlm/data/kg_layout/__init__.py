"""Bring your own knowledge graph: the KEnS / SS-AGA layout (DBP-5L) as a Prix-LM dataset.

`read` reads the layout's files into ids and labels (malformed lines as `file:line`),
`convert` writes the Prix-LM dataset folder (the DBpedia build's format, the benchmark's own
splits), `__main__` is the command line::

    python -m prixlm.data.kg_layout --input_dir dbp5l/ --output_dir dbp5l_dataset/ \\
        [--languages el,en,es,fr,ja]
"""

from prixlm.data.kg_layout.convert import ConversionStats, LanguageCounts, convert_layout
from prixlm.data.kg_layout.read import LayoutError, entity_label, find_layout

__all__ = [
    "ConversionStats",
    "LanguageCounts",
    "LayoutError",
    "convert_layout",
    "entity_label",
    "find_layout",
]
