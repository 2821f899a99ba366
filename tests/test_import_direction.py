"""The layout's import rules, read from the source (no import needed):

- the library `prixlm/` imports neither the entry points (`train`, the command-line modules)
  nor the Hub folders that import it (`dataset_builders`, `evaluate_metrics`);
- `modeling_prixlm/` (what a Hub repo runs) imports only torch, transformers (and its own
  requirement safetensors), the standard library and its own flat folder (relative imports).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Command-line modules: thin argument parsers over library code; nothing imports them.
CLI_MODULES = {
    "train",
    "prixlm.demo",
    "prixlm.complete",
    "prixlm.link_prediction.evaluate_lp",
}
#: Packages that import the library and are imported by nothing in it.
HUB_FOLDERS = {"train", "dataset_builders", "evaluate_metrics"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str, int]]:
    """`(line, module, level)` of every import in `path` (`from a import b` gives `a.b` too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            found.append((node.lineno, module, node.level))
            found += [(node.lineno, f"{module}.{a.name}", node.level) for a in node.names]
    return found


def _library_files() -> list[Path]:
    return sorted((ROOT / "prixlm").rglob("*.py"))


@pytest.mark.parametrize("path", _library_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_library_imports_no_entry_point_and_no_hub_folder(path):
    own = _module_name(path)
    wrong = [
        f"{path.relative_to(ROOT)}:{line}: imports {module}"
        for line, module, level in _imports(path)
        if level == 0
        and module != own
        and (module in CLI_MODULES or module.split(".")[0] in HUB_FOLDERS)
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    "path", sorted((ROOT / "modeling_prixlm").glob("*.py")), ids=lambda p: p.name
)
def test_hub_code_imports_only_torch_transformers_and_itself(path):
    # safetensors: a requirement of transformers itself, so present wherever transformers is
    allowed = {"torch", "transformers", "safetensors"} | set(sys.stdlib_module_names)
    wrong = [
        f"{path.name}:{line}: imports {module}"
        for line, module, level in _imports(path)
        if level == 0 and module.split(".")[0] not in allowed
    ]
    assert not wrong, "\n".join(wrong)


def test_the_rules_see_a_wrong_import(tmp_path, monkeypatch):
    """The checks above can fail: planted wrong imports are found."""
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    planted = tmp_path / "prixlm" / "planted.py"
    planted.parent.mkdir()
    planted.write_text("import train\nfrom prixlm.demo import main\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="imports train") as failure:
        test_the_library_imports_no_entry_point_and_no_hub_folder(planted)
    assert "imports prixlm.demo" in str(failure.value)
    hub = tmp_path / "modeling_x.py"
    hub.write_text("import datasets\nfrom . import formatting\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="imports datasets"):
        test_hub_code_imports_only_torch_transformers_and_itself(hub)
