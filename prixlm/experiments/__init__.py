"""Table 1 of the paper: orchestration (table1), runs (jobs), profiles, the docs (table1_docs)."""
