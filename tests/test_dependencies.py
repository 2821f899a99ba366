"""Every third-party module the package imports is declared in `pyproject.toml`.

A module that only arrives through another package's requirements (as `httpx2` came with
huggingface_hub 2.x but not 1.x) breaks a user's install when that package changes: read
from the source (every `import`, lazy ones included), mapped to distributions by
`importlib.metadata.packages_distributions`.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OWN = {"prixlm", "modeling_prixlm", "train"}
#: Optional modules whose distribution may be absent here (named as in pyproject.toml).
NOT_INSTALLED = {"faiss": "faiss-cpu"}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> dict[str, str]:
    """`{distribution: where}` of the base dependencies and every extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = {"dependencies": project["dependencies"], **project["optional-dependencies"]}
    declared = {}
    for group, requirements in groups.items():
        for requirement in requirements:
            name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)
            declared.setdefault(_normalise(name), group)
    return declared


def _top_level_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_every_imported_distribution_is_declared():
    files = [ROOT / "train.py", *(ROOT / "prixlm").rglob("*.py")]
    files += (ROOT / "modeling_prixlm").rglob("*.py")
    third_party = set()
    for path in files:
        third_party |= {
            (name, path.relative_to(ROOT).as_posix())
            for name in _top_level_imports(path)
            if name not in sys.stdlib_module_names and name not in OWN
        }
    distributions = importlib.metadata.packages_distributions()
    declared = _declared()
    undeclared = sorted(
        f"{module} ({path})"
        for module, path in third_party
        if not any(
            _normalise(d) in declared
            for d in distributions.get(module, [NOT_INSTALLED.get(module, module)])
        )
    )
    assert not undeclared, f"imported but not in pyproject.toml: {undeclared}"


def test_the_check_sees_an_undeclared_import(tmp_path):
    """The scan finds a lazy import inside a function (what the test above relies on)."""
    module = tmp_path / "lazy.py"
    module.write_text("def f():\n    import httpx2.x\n    from yaml import safe_load\n")
    assert _top_level_imports(module) == {"httpx2", "yaml"}
    assert "httpx2" in _declared() and _declared()["pyyaml"] == "dependencies"
