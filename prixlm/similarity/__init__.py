"""Similarity tasks over text embeddings (entity linking, bilingual lexicon induction, ...).

- `embedder`: the `TextEmbedder` interface (`texts -> (n, d)`) and its Prix-LM implementation,
  shared by the similarity tasks and Mirror-BERT tuning.
"""
