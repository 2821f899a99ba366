"""Link prediction: constrained decoding (Algorithm 1), exact candidate scoring, ranking, evaluation.

- `decoding`: `predict_objects` (beam search over the entity trie), `score_candidates` (full ranking).
- `decoding_steps`: the model calls both share (prompts, cached prefixes, candidate rows).
- `ranking`: filtered ranks with realistic ties, hits@k, MRR (the metrics wrap these).
- `evaluate_lp`: the `python -m prixlm.link_prediction.evaluate_lp` command.
- `checkpoint_callback`: link prediction at every checkpoint during training (Fig. 2).
"""
