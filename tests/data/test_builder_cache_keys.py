"""The `PrixLMDBpedia` builder's cache key: every module the rows are read and named through,
and dumps rewritten with their size and modification time restored."""

from __future__ import annotations

import ast
import os
import shutil
from pathlib import Path

import pytest
from dbpedia_dumps import write_dumps

import dataset_builders.prixlm_dbpedia.prixlm_dbpedia as builder_module
import prixlm
import prixlm.data.relation_names
from dataset_builders.prixlm_dbpedia.prixlm_dbpedia import PrixLMDBpedia

ROW_MODULES = ("ntriples.py", "ntriples_grammar.py", "ntriples_lines.py", "relation_names.py")
#: `prixlm` modules the build imports that decide no row: not followed, not in the digest.
NOT_ROW_CODE = {
    "prixlm.library_bars",
    "prixlm.cli",
    "prixlm.outputs.atomic",
    "prixlm.model_loading",
    "prixlm.hub.licenses",
}


def _prixlm_imports(path: Path) -> set[str]:
    """The `prixlm.*` names that `path` imports anywhere: each module, and `module.name` for
    each name of a `from module import name`."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name.startswith("prixlm.")}


def _imported_modules(package: Path) -> set[Path]:
    """The source files of the `prixlm` modules outside `package` that its modules import,
    directly or through each other, except `NOT_ROW_CODE`."""
    root = Path(prixlm.__file__).resolve().parent
    found: set[Path] = set()
    todo = list(package.glob("*.py"))
    while todo:
        for name in sorted(_prixlm_imports(todo.pop()) - NOT_ROW_CODE):
            base = root.joinpath(*name.split(".")[1:])
            path = next((c for c in (base.with_suffix(".py"), base / "__init__.py")
                         if c.is_file()), None)  # fmt: skip
            if path is None or path in found or path.is_relative_to(package.resolve()):
                continue
            found.add(path)
            todo.append(path)
    return found


def test_the_build_code_holds_the_modules_the_rows_are_read_and_named_through() -> None:
    """The digest read only `prixlm/data/dbpedia/*.py` and the builder: the dump reader
    (`prixlm.data.ntriples*`) and the relation names (`prixlm.data.relation_names`), which
    the build imports from outside that folder, were left out."""
    data = Path(prixlm.data.relation_names.__file__).resolve().parent
    code = {path.resolve() for path in builder_module.BUILD_CODE}
    assert {data / name for name in ROW_MODULES} <= code
    assert data / "loading.py" not in code  # no module the build imports
    assert not any(path.name == "cli.py" or "outputs" in path.parts for path in code)
    # every module the build imports from outside its package, and only those
    package = builder_module.BUILD_PACKAGE.resolve()
    outside = {path for path in code if path.is_file() and path.parent != package}
    assert outside - {Path(builder_module.__file__).resolve()} == _imported_modules(package)


def test_an_edited_relation_names_module_is_built_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Editing `relation_words` and building again into the same cache served the relation
    texts of the earlier code."""
    original = Path(prixlm.data.relation_names.__file__).resolve()
    copy = tmp_path / "relation_names.py"  # edited below, in place of the installed one
    shutil.copyfile(original, copy)
    code = tuple(copy if path.resolve() == original else path for path in builder_module.BUILD_CODE)
    monkeypatch.setattr(builder_module, "BUILD_CODE", code)
    dumps = write_dumps(tmp_path / "dumps")
    cache = str(tmp_path / "cache")
    first = PrixLMDBpedia(config_name="de", data_dir=str(dumps), cache_dir=cache)
    same = PrixLMDBpedia(config_name="de", data_dir=str(dumps), cache_dir=cache)
    assert same.config_id == first.config_id  # unchanged code and dumps: the cache serves them
    copy.write_text(copy.read_text(encoding="utf-8") + "\n# other relation words\n", "utf-8")
    edited = PrixLMDBpedia(config_name="de", data_dir=str(dumps), cache_dir=cache)
    assert edited.config_id != first.config_id
    assert edited.cache_dir != first.cache_dir


def test_a_dump_rewritten_with_its_size_and_mtime_restored_is_built_again(
    tmp_path: Path,
) -> None:
    """The dump fingerprint was paths, sizes and mtimes: a labels file rewritten at the same
    size with its mtime restored (`cp -p`, `rsync -a`, `tar x`) gave the cached rows."""
    dumps = write_dumps(tmp_path / "dumps")
    cache = str(tmp_path / "cache")
    first = PrixLMDBpedia(config_name="de", data_dir=str(dumps), cache_dir=cache)
    first.download_and_prepare()
    assert "Deutschland" in first.as_dataset(split="train")["subject"]
    labels = dumps / "labels_de.ttl"
    before = labels.stat()
    text = labels.read_text(encoding="utf-8")
    assert '"Deutschland"@de' in text
    labels.write_text(text.replace('"Deutschland"@de', '"Deutschlanx"@de'), encoding="utf-8")
    os.utime(labels, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = labels.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    second = PrixLMDBpedia(config_name="de", data_dir=str(dumps), cache_dir=cache)
    assert second.config_id != first.config_id
    second.download_and_prepare()
    subjects = second.as_dataset(split="train")["subject"]
    assert "Deutschlanx" in subjects and "Deutschland" not in subjects


def test_languages_as_a_comma_separated_string_are_its_codes(tmp_path: Path) -> None:
    """`languages="de,en"` (as `build --languages` takes them) built the languages `d`, `e`
    and `,` and failed with "no labels file for language 'd'": a string is its codes."""
    dumps = write_dumps(tmp_path / "dumps")
    cache = str(tmp_path / "cache")
    rows = {}
    for given in (("de", "en"), "de, en", "de,en"):
        builder = PrixLMDBpedia(
            config_name="all",
            data_dir=str(dumps),
            cache_dir=cache,
            languages=given,
            link_languages="en" if isinstance(given, str) else ("en",),
        )
        assert builder.config.languages == ("de", "en")
        assert builder.config.link_languages == ("en",)
        builder.download_and_prepare()
        rows[given] = builder.as_dataset(split="train").to_list()
    assert {row["subject_language"] for row in rows[("de", "en")]} == {"de", "en"}
    assert rows["de, en"] == rows["de,en"] == rows[("de", "en")]
