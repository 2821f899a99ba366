"""Table 1 of the paper: orchestration (table1), runs (jobs), scoring, the report."""
