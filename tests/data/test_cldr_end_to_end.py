"""CLDR export -> Prix-LM builder -> Parquet + card -> `load_dataset(folder, lang)` offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import DatasetCard

from prixlm.data.cldr.export import export_cldr_kb
from prixlm.data.dbpedia.build import main

LANGUAGES = ("en", "de", "fr", "ja")
CURRENCY = "http://dbpedia.org/ontology/currency"
GERMANY_EURO = {"en": ("Germany", "Euro"), "de": ("Deutschland", "Euro")}
GERMANY_EURO |= {"fr": ("Allemagne", "euro"), "ja": ("ドイツ", "ユーロ")}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cldr")
    export_cldr_kb(list(LANGUAGES), root / "dumps", progress=False)
    arguments = ["--dump_dir", str(root / "dumps"), "--output_dir", str(root / "kb")]
    assert main([*arguments, "--no_progress"]) == 0
    return root / "kb"


def test_cldr_build_loads_offline_for_every_language(built: Path, tmp_path: Path) -> None:
    script = (
        "import json, sys\nfrom datasets import load_dataset\nout = {}\n"
        "for lang in sys.argv[2:]:\n"
        "    d = load_dataset(sys.argv[1], lang)\n"
        "    rows = [r for s in d for r in d[s]]\n"
        "    out[lang] = {'splits': {s: d[s].num_rows for s in d},\n"
        "        'facts': sorted({(r['subject'], r['relation_id'], r['object']) for r in rows}),\n"
        "        'languages': sorted({(r['subject_language'], r['object_language']) for r in rows}),\n"
        "        'all_objects': {r['subject'] + '|' + r['relation_id']: r['all_objects'] for r in rows}}\n"
        "print(json.dumps(out))\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(
        [sys.executable, "-c", script, str(built), *LANGUAGES],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    for language in LANGUAGES:
        data = loaded[language]
        assert set(data["splits"]) == {"train", "validation", "test"}
        total = sum(data["splits"].values())
        assert 2000 < total < 5000  # the issue expects ~2,500-3,000+ triples per language
        assert data["splits"]["test"] > 0.05 * total
        assert data["languages"] == [[language, language]]
        # Spot check: Germany's currency is the euro, in this language's labels.
        germany, euro = GERMANY_EURO[language]
        assert [germany, CURRENCY, euro] in data["facts"]
        assert euro in data["all_objects"][f"{germany}|{CURRENCY}"]


def test_cldr_card_lists_statistics_and_source(built: Path) -> None:
    card = (built / "README.md").read_text(encoding="utf-8")
    data = DatasetCard.load(built / "README.md").data
    assert (data.license, data.license_name) == ("other", "unicode-3.0")
    assert "cldr_version: " in card and "Unicode License v3" in card
    table = [line for line in card.splitlines() if line.startswith("| ") and "|---" not in line]
    assert table[0].startswith("| language | entities | triples | train | validation | test |")
    rows = {line.split(" | ")[0][2:]: line.split(" | ")[1:] for line in table[1:]}
    assert sorted(rows) == sorted(LANGUAGES)
    for cells in rows.values():
        entities, triples, train, validation, test = (int(c.replace(",", "")) for c in cells[:5])
        assert 1000 < entities < 2500 and triples == train + validation + test
        links = int(cells[7].replace(",", ""))
        assert links > entities  # every entity links to up to three other languages
    assert "http://dbpedia.org/ontology/mainTerritory` <- " in card  # an inverse pair found
