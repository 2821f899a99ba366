"""The toy `make table1` run that test_table1*.py share (made once a session: ~1 min)."""

from __future__ import annotations

import pytest
from tiny_kb import TABLE1_DOCS_KEPT, write_tiny_dumps


@pytest.fixture(scope="session")
def table1_toy_run(tmp_path_factory):
    """(root, argv, table): `table1.main` at the toy profile over two tiny languages; the
    tests that change its work folder put it back as they found it."""
    pytest.importorskip("pykeen")
    from prixlm.experiments import table1

    root = tmp_path_factory.mktemp("table1")
    docs = root / "docs" / "results.md"
    docs.parent.mkdir()
    docs.write_text("# Results\n\nintro\n\n" + TABLE1_DOCS_KEPT, "utf-8")
    argv = [
        "--profile", "toy", "--languages", "en,de", "--work_dir", str(root / "work"),
        "--dump_dir", str(write_tiny_dumps(root / "dumps")), "--workers", "1",
        "--results", str(root / "table1.json"), "--docs", str(docs),
        "--chart", str(root / "docs" / "table1.png"),
    ]  # fmt: skip
    table = table1.main(argv)
    return root, argv, table
