"""Similarity tasks over text embeddings (paper §2.3, §3.3–3.5).

- `embedder`: the `TextEmbedder` interface (`texts -> (n, d)`), Prix-LM's and any encoder's
  embeddings (`load_embedder`), shared by the similarity tasks and Mirror-BERT tuning;
- `mirror`: Mirror-BERT tuning with the Trainer (InfoNCE over string / augmented twin);
- `csls`: CSLS retrieval (k = 10), blockwise; `bli`, `bli_cldr`: bilingual lexicon induction
  (Procrustes + CSLS) and its CLDR dictionaries;
- `xel*`: cross-lingual entity linking; `probing*`: knowledge probing (mLAMA layout);
- `plain_mlm`: the plain-text masked-LM baseline; `study` (+ `study_eval`: one model's
  XEL, BLI and probing), `study_docs`: `make similarity`.
"""
