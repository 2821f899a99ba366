"""Every ```python block of README.md runs, in order, against a tiny `make demo` output.

The tiny output has the demo's layout (`<root>/dataset`, `<root>/run/model`): a CLDR KB
built with the real builder and a tiny model trained by `train.py` for a few steps. The
README's `outputs/demo/` becomes `<root>/`; a block that raises fails the test with the
README line in the traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
DEMO_OUTPUT = "outputs/demo/"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(line number, code) of every ```python block."""
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in BLOCK.finditer(text)]


def test_python_blocks_are_found():
    blocks = python_blocks(
        "text\n```python\nx = 1\n```\n\n```bash\nls\n```\n```python\ny = 2\n```\n"
    )
    assert blocks == [(3, "x = 1\n"), (10, "y = 2\n")]
    readme_blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert any(f"{DEMO_OUTPUT}run/model" in code for _, code in readme_blocks)


def test_every_readme_python_block_runs(tiny_demo_output, capsys):
    namespace: dict = {"__name__": "readme"}
    for line, code in python_blocks(README.read_text(encoding="utf-8")):
        code = code.replace(DEMO_OUTPUT, f"{tiny_demo_output}/")
        # Blank lines keep the README's line numbers in tracebacks.
        exec(compile("\n" * (line - 1) + code, str(README), "exec"), namespace)
    ranked = namespace["ranked"]
    assert len(ranked) == 1 and len(ranked[0].labels) >= 5
    assert set(ranked[0].labels) <= set(namespace["candidates"])
    assert str(ranked[0].labels[:5]) in capsys.readouterr().out
