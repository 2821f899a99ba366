"""The Space in a real browser: Chromium (Debian's package) driven by Playwright, headless.

Against the running app (`space_url`, the tiny release folder unless
`PRIXLM_SPACE_TEST_MODEL` names another): type a subject, pick a relation, submit and see
the pipeline's best object ranked first; link across languages; upload a TSV and download
the completed facts; bad input shows its message and the page stays usable. The page is
photographed after the first query (`PRIXLM_SPACE_SCREENSHOT`, default: the test's temp
folder); with the demo model this is the README's `docs/space.png`:

    PRIXLM_SPACE_TEST_MODEL=outputs/demo/run/model PRIXLM_SPACE_SCREENSHOT=docs/space.png \\
        .venv/bin/python -m pytest tests/release/test_space_browser.py
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

#: Debian's chromium (`apt-get install chromium`); Playwright downloads no browser of its own.
CHROMIUM = os.environ.get("PRIXLM_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def page(space_url):
    assert Path(CHROMIUM).is_file(), f"{CHROMIUM}: no Chromium (apt-get install chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        context = browser.new_context(
            viewport={"width": 1280, "height": 1000}, accept_downloads=True
        )
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.goto(space_url)
        yield page
        browser.close()


def _fill(page: Page, elem_id: str, text: str) -> None:
    """Type `text` into a textbox, or into a dropdown and pick exactly that option (a value
    that is not an option is taken as typed)."""
    box = page.locator(f"#{elem_id}").locator("textarea, input").first
    box.fill(text)
    if page.locator(f"#{elem_id} input").count():
        option = page.get_by_role("option", name=text, exact=True)
        if text and option.count():
            option.first.click()
        else:
            box.press("Escape")  # Enter would pick the first option that contains the text
            box.blur()
    expect(box).to_have_value(text)


def _expect_first_object(page: Page, table_id: str, label: str) -> None:
    """The table's first row (rank 1) holds `label` (its object column, exactly)."""
    rank, answer = (page.locator(f"#{table_id} [data-testid='cell-0-{c}']") for c in (0, 1))
    expect(answer).to_have_text(label)
    expect(rank).to_have_text("1")


def test_complete_link_batch_and_bad_input_in_chromium(page, space_pipeline, space_model, tmp_path):
    # complete a fact
    want = space_pipeline({"subject": "Germany", "relation": "currency", "language": "en"})
    _fill(page, "subject", "Germany")
    _fill(page, "relation", "currency")
    _fill(page, "language", "en")
    page.locator("#complete-button").click()
    expect(page.locator("#complete-message")).to_contain_text(want[0]["object"])
    _expect_first_object(page, "complete-table", want[0]["object"])
    expect(page.locator("#complete-chart")).to_be_visible()
    screenshot = Path(os.environ.get("PRIXLM_SPACE_SCREENSHOT") or "/tmp/space_tiny.png")
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000

    # bad input: a message in the page, then the page still answers
    _fill(page, "subject", "")
    page.locator("#complete-button").click()
    expect(page.locator("#complete-message")).to_contain_text("Type a subject")
    _fill(page, "language", "xx")
    _fill(page, "subject", "Germany")
    page.locator("#complete-button").click()
    expect(page.locator("#complete-message")).to_contain_text("Unknown language 'xx'")
    _fill(page, "language", "en")
    page.locator("#complete-button").click()
    expect(page.locator("#complete-message")).to_contain_text(want[0]["object"])

    # link across languages
    link = space_pipeline({"subject": "Germany", "language": "en", "target_language": "de"})
    page.get_by_role("tab", name="Link across languages").click()
    _fill(page, "entity", "Germany")
    _fill(page, "link-language", "en")
    _fill(page, "target", "de")
    page.locator("#link-button").click()
    _expect_first_object(page, "link-table", link[0]["object"])

    # batch: upload a TSV, download the completed facts
    page.get_by_role("tab", name="Batch").click()
    queries = tmp_path / "queries.tsv"
    queries.write_text("Germany\tcurrency\nJapan\tcurrency\ten\n", encoding="utf-8")
    page.locator("#batch-file input[type=file]").set_input_files(str(queries))
    page.locator("#batch-button").click()
    expect(page.locator("#batch-message")).to_contain_text("Completed 2 queries: 2 facts")
    with page.expect_download() as download:
        page.locator("#download a[download='completed.tsv']").click()
    saved = tmp_path / "completed.tsv"
    download.value.save_as(saved)
    with open(saved, encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream, dialect="excel-tab"))
    japan = space_pipeline({"subject": "Japan", "relation": "currency", "language": "en"}, 1)
    assert [(r["subject"], r["object"]) for r in rows] == [
        ("Germany", want[0]["object"]),
        ("Japan", japan[0]["object"]),
    ]

    # a file that is not a TSV: its message, and the page still completes a good file
    bad = tmp_path / "photo.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    page.locator("#batch-file button[aria-label='Clear']").first.click()
    page.locator("#batch-file input[type=file]").set_input_files(str(bad))
    page.locator("#batch-button").click()
    expect(page.locator("#batch-message")).to_contain_text("photo.png: a binary file")
    page.locator("#batch-file button[aria-label='Clear']").first.click()
    page.locator("#batch-file input[type=file]").set_input_files(str(queries))
    page.locator("#batch-button").click()
    expect(page.locator("#batch-message")).to_contain_text("Completed 2 queries: 2 facts")
