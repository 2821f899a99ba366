"""Knowledge-base data: the N-Triples dump reader, the DBpedia dataset build and the CLDR export.

- `prixlm.data.ntriples`: streaming reader for DBpedia dump files (plain/.bz2/.gz).
- `prixlm.data.dbpedia`: dump files -> Hub-format dataset (Parquet + card), the `datasets` builder.
- `prixlm.data.cldr`: the offline, embedded KB: CLDR (Babel) exported in DBpedia's dump layout.
"""
