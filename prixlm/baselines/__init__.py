"""PyKEEN knowledge-graph-embedding baselines (TransE, RotatE) on our splits."""
