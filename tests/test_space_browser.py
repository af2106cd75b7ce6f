"""A real headless Chromium drives the real app: type, compare, read all five outputs and the
disagreement view, check that HTML in the text is shown and never executed, save a screenshot.

Needs Debian's `chromium` at /usr/bin/chromium (or CHROMIUM_PATH) and the `playwright` package.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from space.strategies import STRATEGY_NAMES
from space.config import SpaceConfig

from test_space_helpers import RIGGED_EXPECTED, RIGGED_TEXT, rigged_bert, running_app  # noqa: F401 (fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning", "ignore:The copy keyword:Warning"),
]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-dev-shm-usage"]
# The rigged text plus an attribute-based injection attempt; the model labels all of it "O".
TEXT = RIGGED_TEXT + ' <img src=x onerror="alert(2)">'


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing; CI must install Debian's chromium (apt-get install -y chromium)")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install -y chromium)")
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def app_url(rigged_bert):
    with running_app(SpaceConfig(default_model=str(rigged_bert), device="cpu")) as (_demo, url):
        yield url


def highlighted(page, elem_id):
    """(label, text) of each highlighted span of a HighlightedText, in order."""
    tokens = page.locator(f"#{elem_id} .token.highlighted")
    return [
        (tokens.nth(i).locator(".label").inner_text().strip(), tokens.nth(i).locator(".text").inner_text())
        for i in range(tokens.count())
    ]


def test_compare_in_the_browser(browser, app_url, tmp_path):
    page = browser.new_page(viewport={"width": 1600, "height": 1300})
    dialogs, errors = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(app_url)
    page.locator("#input-text textarea").fill(TEXT)
    page.locator("#compare-btn").click()
    page.wait_for_function(
        "document.querySelector('#run-info') && document.querySelector('#run-info').innerText.includes('forward pass')",
        timeout=60_000,
    )
    shot = tmp_path / "space.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    for strategy in STRATEGY_NAMES:
        assert highlighted(page, f"hl-{strategy}") == [(label, text) for label, text in RIGGED_EXPECTED[strategy]]
        table = page.locator(f"#table-{strategy}").inner_text()
        for label, text in RIGGED_EXPECTED[strategy]:
            assert f"{text}\n{label}\n" in table, (strategy, label, text, table)

    assert [(label.lower(), text) for label, text in highlighted(page, "disagreements")] == [
        ("strategies disagree", "Widodo")
    ]
    region_table = page.locator("#disagreement-table").inner_text()
    assert "PER 'Widodo'" in region_table and "LOC 'd'" in region_table and "—" in region_table
    info = page.locator("#run-info").inner_text()
    assert "cpu" in info and "prefix" in info and "1 disagreement region" in info

    # HTML typed by the user is shown as text and never executed.
    shown = page.locator("#hl-simple").inner_text()
    assert "<script>alert(1)</script>" in shown and '<img src=x onerror="alert(2)">' in shown
    assert page.locator("#hl-simple script, #hl-simple img, #table-simple script, #disagreements script").count() == 0
    assert dialogs == [] and errors == []

    # Unticking a strategy hides its column.
    page.locator("#strategies label", has_text="average").click()
    page.locator("#compare-btn").click()
    page.locator("#col-average").wait_for(state="hidden", timeout=30_000)
    assert page.locator("#col-first").is_visible()
    page.close()


def test_empty_text_and_refusals_show_messages_not_tracebacks(browser, app_url):
    page = browser.new_page()
    page.goto(app_url)
    page.locator("#compare-btn").click()
    page.wait_for_function(
        "document.querySelector('#run-info').innerText.includes('Type or paste some text')", timeout=30_000
    )
    page.locator("#input-text textarea").fill("x" * 20_001)
    page.locator("#compare-btn").click()
    page.wait_for_function("document.querySelector('#run-info').innerText.includes('at most 20,000')", timeout=30_000)
    assert "Traceback" not in page.content()
    page.close()
