"""`--license` of the dataset build and the KG-layout conversion: a Hub licence id or refused.

The id went into the card's `license:` unchecked: `--license CC-BY-SA-3.0` (the SPDX form)
or `--license cc-by-sa` built the whole dataset, and the Hub then refused the card at
upload ("Invalid metadata in README.md. - "license" must be one of [...]"). An id in
another case is now written in the Hub's; an unknown one is refused before any work.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from huggingface_hub import DatasetCard
from test_kg_layout import write_layout

from prixlm.data.dbpedia import build
from prixlm.data.dbpedia.build import build_dataset
from prixlm.data.dbpedia.card import license_name
from prixlm.data.kg_layout import __main__ as kg_layout
from prixlm.data.kg_layout import convert_layout
from prixlm.hub.licenses import HUB_LICENSES, hub_license


def test_hub_ids_pass_and_other_forms_are_refused() -> None:
    assert {"cc-by-sa-3.0", "unknown", "other", "apache-2.0"} <= HUB_LICENSES
    assert hub_license("CC-BY-SA-3.0") == "cc-by-sa-3.0"
    assert hub_license(" Apache-2.0 ") == "apache-2.0"
    with pytest.raises(ValueError, match=r"did you mean .*cc-by-sa-3\.0"):
        hub_license("cc-by-sa")
    with pytest.raises(ValueError, match="not a Hub licence id"):
        hub_license("Unicode-3.0")


def test_build_writes_the_hub_form_of_the_licence(dumps: Path, tmp_path: Path) -> None:
    out = tmp_path / "dataset"
    argv = ["--dump_dir", str(dumps), "--output_dir", str(out), "--no_progress"]
    assert build.main([*argv, "--license", "CC-BY-SA-3.0"]) == 0
    assert DatasetCard.load(out / "README.md").data.license == "cc-by-sa-3.0"


def test_build_refuses_an_unknown_licence_before_any_work(
    dumps: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "dataset"
    argv = ["--dump_dir", str(dumps), "--output_dir", str(out), "--no_progress"]
    with pytest.raises(SystemExit) as exit_info:
        build.main([*argv, "--license", "cc-by-sa"])
    assert exit_info.value.code == 2
    assert "--license 'cc-by-sa' is not a Hub licence id" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(ValueError, match="not a Hub licence id"):
        build_dataset(dumps, out, license_id="cc-by-sa")
    assert not out.exists()


def test_kg_layout_checks_the_licence_too(tmp_path: Path) -> None:
    root, out = write_layout(tmp_path / "kg"), tmp_path / "dataset"
    argv = ["--input_dir", str(root), "--output_dir", str(out), "--no_progress"]
    with pytest.raises(SystemExit) as exit_info:
        kg_layout.main([*argv, "--license", "cc-by-sa"])
    assert exit_info.value.code == 2 and not out.exists()
    with pytest.raises(ValueError, match="not a Hub licence id"):
        convert_layout(root, out, license_id="CC BY-SA 3.0")
    assert not out.exists()
    assert kg_layout.main([*argv, "--license", "CC-BY-SA-3.0"]) == 0
    assert DatasetCard.load(out / "README.md").data.license == "cc-by-sa-3.0"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Unicode License v3 (Unicode-3.0) https://www.unicode.org/license.txt", "unicode-3.0"),
        ("CC BY-SA 3.0 https://creativecommons.org/licenses/by-sa/3.0/", "cc-by-sa-3.0"),
        ("GNU Free Documentation License 1.3", "gnu-free-documentation-license-1.3"),
        ("https://example.org/licence", "other"),
    ],
)
def test_the_card_names_a_licence_the_hub_does_not_list_by_all_its_words(text, name):
    """`license_name` of a source's licence without an SPDX id was its first word: `cc`
    for "CC BY-SA 3.0"."""
    assert license_name(text) == name
