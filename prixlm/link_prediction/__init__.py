"""Link prediction: constrained decoding (Algorithm 1), exact candidate scoring, ranking, evaluation.

- `decoding`: `predict_objects` (beam search over the entity trie, Algorithm 1); re-exports the
  Hub code's `modeling_prixlm.beam_search`, its one home (a release folder runs it alone).
- `candidate_scoring`: `score_candidates`, the exact log-likelihood of every candidate (full ranking).
- `scorer`: the `CandidateScorer` interface (`(queries, candidates) -> scores`) and `evaluate_scorer`,
  the one filtered ranking path of Prix-LM (`PrixLMScorer`) and the KGE baselines.
- `decoding_steps`: the model calls both share (prompts, cached prefixes, candidate rows);
  re-exports `modeling_prixlm.decoding_steps`.
- `ranking`: filtered ranks with realistic ties, hits@k, MRR; the rules themselves live in
  `ranking_rules` (stdlib only), which the `evaluate_metrics/` folders carry.
- `evaluate_lp`: the `python -m prixlm.link_prediction.evaluate_lp` command.
- `precision`: the half-precision warning of `prixlm.predict_objects` and the evaluation API.
- `checkpoint_callback`: link prediction at every checkpoint during training (Fig. 2).
"""
