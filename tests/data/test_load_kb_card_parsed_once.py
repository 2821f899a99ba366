"""A job reads its dataset's card at every `load_kb`, `config_names` and `has_config` (a
training run, its checkpoint evaluations and the candidates of each language: ~50 reads in a
demo, ~130 in a toy Table 1 run); the card's YAML is parsed once per text, not once per
read, and a card rewritten with other text (even of the same size and mtime) is read anew."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from dbpedia_dumps import write_dumps

from prixlm.data.dbpedia.build import build_dataset
from prixlm.data.loading import config_names, has_config, load_kb, local_data_files


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("parsed_once")
    folder = root / "built"
    build_dataset(write_dumps(root / "dumps"), folder, ["en", "de"])
    return folder


def _card_parses(monkeypatch: pytest.MonkeyPatch, card: Path) -> list[str]:
    """The YAML texts parsed from now on that are `card`'s metadata block (each parse)."""
    block = card.read_text("utf-8").split("---")[1]
    parsed: list[str] = []
    real = yaml.safe_load

    def counted(stream, *args, **kwargs):
        if isinstance(stream, str) and stream.strip() == block.strip():
            parsed.append(stream)
        return real(stream, *args, **kwargs)

    monkeypatch.setattr(yaml, "safe_load", counted)
    return parsed


def test_reads_of_one_card_parse_its_yaml_at_most_once(
    built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parses = _card_parses(monkeypatch, built / "README.md")
    rows = {
        (language, split): load_kb(built, language, split=split).num_rows
        for language in ("en", "de")
        for split in ("train", "test")
    }
    assert all(rows.values())
    assert sorted(config_names(built)) == ["all", "de", "en", "links"]
    assert has_config(built, "en") and not has_config(built, "fr")
    files = local_data_files(built, "en")
    assert set(files) >= {"train", "test"}
    files["train"].append("changed by a caller")  # a caller's change: not kept for the next
    assert "changed by a caller" not in local_data_files(built, "en")["train"]
    assert len(parses) <= 1  # 9 reads above: 9 parses before


def test_a_card_rewritten_with_the_same_size_and_mtime_is_read_anew(
    built: Path, tmp_path: Path
) -> None:
    import shutil

    folder = tmp_path / "kb"
    shutil.copytree(built, folder)
    card = folder / "README.md"
    assert sorted(config_names(folder)) == ["all", "de", "en", "links"]
    before = os.stat(card)
    text = card.read_text("utf-8")
    block_end = text.index("\n---", 4)  # the YAML block: `config_name: de` is there first
    assert 0 < text.index("config_name: de\n") < block_end
    card.write_text(text.replace("config_name: de\n", "config_name: dx\n", 1), "utf-8")
    os.utime(card, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(card).st_size == before.st_size
    assert sorted(config_names(folder)) == ["all", "dx", "en", "links"]
    assert has_config(folder, "dx") and not has_config(folder, "de")
