"""What a visitor can actually SEE, in a real headless Chromium at 390x844 (phone) and 1280x900.

`textContent` says nothing about visibility: a row can hold the right entities and still compute to
`display: none`. These tests read bounding boxes and computed styles instead: every strategy row is
displayed after a run, the disagreement list scrolls inside its own box and never covers the heading
below it, the example buttons are on the first phone screen, and the threshold slider shares one
desktop screen with the first row. The last test runs the bundled model (./model) on a built-in
example and saves the screenshots docs/screenshots/ holds (`NERKIT_SCREENSHOTS=docs/screenshots`).
Every page comes from `python app.py` in a subprocess (tests/app_process.py), configured by its
environment alone, as a Space starts it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nercore import strategies as registry
from space.config import SpaceConfig

from app_process import served_app
from test_space_browser import (  # noqa: F401 (fixtures)
    DESKTOP, F1, NAMES, PHONE, app_url, browser, compare, open_page, rigged_bert, scored_model, shots, wait_for_run,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning", "ignore:The copy keyword:Warning"),
]

# 24 "Widodo"s: 24 disagreement regions on the rigged model, far more than the phone's capped box holds.
MANY = " ".join(f"Widodo met Barack Obama in Paris on day {i}." for i in range(24))
ROWS_HEADING = "What each strategy finds"
BUNDLED = Path(__file__).resolve().parent.parent / "model"


def seen(page, selector: str) -> dict:
    """Computed display/visibility, bounding box (page coordinates) and size of the first match."""
    return page.evaluate("""sel => {
        const e = document.querySelector(sel);
        if (!e) return null;
        const s = getComputedStyle(e), r = e.getBoundingClientRect();
        return {display: s.display, visibility: s.visibility, overflowY: s.overflowY, top: r.top + scrollY,
                bottom: r.bottom + scrollY, left: r.left, right: r.right, width: r.width, height: r.height,
                scrollHeight: e.scrollHeight, clientHeight: e.clientHeight};
    }""", selector)


def wait_for_row_text(page, text: str) -> None:
    """Until the `none` row shows `text` (an example click or the context button has run it)."""
    page.wait_for_function("want => (document.querySelector('#hl-none .ner-text') || {}).textContent === want",
                           arg=text, timeout=120_000)


def heading_top(page, text: str) -> float:
    return page.get_by_text(text, exact=True).evaluate("e => e.getBoundingClientRect().top + scrollY")


def assert_rows_visible(page, viewport: dict, names=NAMES) -> None:
    """Every strategy row, its title and its highlighted text: displayed, visible, on the page's width."""
    for name in names:
        for selector in (f"#row-{name}", f"#hl-{name}", f"#hl-{name} .ner-row-head", f"#hl-{name} .ner-text"):
            box = seen(page, selector)
            assert box is not None, selector
            assert box["display"] != "none" and box["visibility"] == "visible", (selector, box)
            assert box["height"] > 0 and box["width"] > 0, (selector, box)
            assert box["left"] >= -1 and box["right"] <= viewport["width"] + 1, (selector, box)
        assert page.locator(f"#hl-{name} .ner-text").is_visible(), name


def assert_disagreements_boxed(page) -> None:
    """The disagreement list scrolls inside its own box, which ends above the rows' heading."""
    box = seen(page, "#disagreements")
    assert box["overflowY"] in ("auto", "scroll"), box
    assert box["scrollHeight"] > box["clientHeight"], "this text has more regions than the box shows at once"
    assert box["bottom"] <= heading_top(page, ROWS_HEADING) + 0.5, (box, "covers the heading below it")
    footer = page.locator("footer")
    if footer.count():
        assert box["bottom"] <= footer.first.evaluate("e => e.getBoundingClientRect().top + scrollY") + 0.5


def test_phone_shows_every_row_and_boxes_the_disagreements(browser, app_url):
    page = open_page(browser, app_url, PHONE)
    compare(page, MANY)
    assert page.locator("#disagreements tr.region").count() == 24
    assert_rows_visible(page, PHONE)
    assert_disagreements_boxed(page)
    assert seen(page, "#acc-first")["display"] == "none"  # the per-row tables stay on desktop
    # The rows come right after the box: the first row starts on the screen after the heading.
    assert seen(page, "#hl-none")["top"] - seen(page, "#disagreements")["bottom"] < PHONE["height"] / 2
    page.close()


def test_phone_example_buttons_are_on_the_first_screen(browser, app_url):
    from space.ui_examples import EXAMPLE_LABELS

    page = open_page(browser, app_url, PHONE)
    page.locator("#intro").wait_for(state="visible")
    assert page.evaluate("scrollY") == 0
    for label in EXAMPLE_LABELS:
        button = page.get_by_text(label, exact=True)
        box = button.bounding_box()
        assert button.is_visible() and box and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], (
            label, box)
    assert page.locator("#input-text textarea").bounding_box()["y"] < PHONE["height"]
    page.close()


def test_desktop_rows_visible_and_the_slider_shares_a_screen_with_the_first_row(browser, app_url):
    page = open_page(browser, app_url, DESKTOP)
    compare(page, MANY)
    assert_rows_visible(page, DESKTOP)
    assert_disagreements_boxed(page)
    slider = seen(page, "#threshold")
    first_line = seen(page, "#hl-none .ner-text")["top"] + 30  # the first row's first line of text
    assert slider["display"] != "none" and slider["top"] >= 0
    assert first_line - slider["top"] <= DESKTOP["height"], (slider, first_line)
    info = page.locator("#threshold").inner_text().lower()
    assert "calibrated" in info and "confidence" in info  # what the score means, in one line
    page.close()


def test_the_slider_dims_the_disagreement_table_too(browser, app_url):
    page = open_page(browser, app_url, DESKTOP)
    compare(page, MANY)
    assert page.locator("#disagreements .said.low").count() == 0
    slider = page.locator("#threshold input[type=number]")
    slider.fill("1")
    slider.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#disagreements .said.low').length > 0", timeout=60_000)
    said = page.locator("#disagreements .said").count()
    assert page.locator("#disagreements .said.low").count() == said  # every score is under 1
    opacity = page.locator("#disagreements .said.low").first.evaluate("e => parseFloat(getComputedStyle(e).opacity)")
    assert opacity < 0.8
    slider.fill("0")
    slider.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#disagreements .said.low').length === 0", timeout=60_000)
    page.close()


def test_one_f1_format_the_word_row_says_it_once_and_nothing_found_is_a_sentence(browser, app_url):
    page = open_page(browser, app_url, DESKTOP)
    compare(page, MANY)
    summary = page.locator("#summary").inner_text()
    best_head = page.locator("#hl-first .ner-row-head .f1").inner_text()
    assert best_head == f"F1 {100 * F1['first']:.2f}" and f"({best_head})" in summary, (summary, best_head)
    for strategy in registry.STRATEGIES:
        head = page.locator(f"#hl-{strategy.name} .ner-row-head").inner_text()
        assert head.count("not a pipeline strategy") == (0 if getattr(strategy, "pipeline", True) else 1), head
    compare(page, "Nothing to see in this line.")
    summary = page.locator("#summary").inner_text().lower()
    said = page.locator("#disagreements").inner_text().lower()
    assert "no entit" in summary and "no entit" in said, (summary, said)
    page.close()


def test_a_new_run_clears_the_previous_error_while_the_model_loads(browser, scored_model):
    env = {"NER_MODEL": str(scored_model), "NER_MODELS": str(scored_model.parent / "missing")}
    options = SpaceConfig.from_env(env).choices  # the selector's names, as the server reads the same settings
    with served_app(**env) as url:
        page = open_page(browser, url, DESKTOP)
        page.locator("#input-text textarea").fill("Barack Obama")
        page.locator("#model input").fill(options[1])
        page.locator("#model input").press("Enter")
        page.locator("#compare-btn").click()
        wait_for_run(page, "Cannot run")
        page.evaluate("""() => {
            window.nerkitStatuses = [];
            new MutationObserver(() => window.nerkitStatuses.push(
                (document.querySelector('#run-info .ner-status') || {}).textContent || ''))
                .observe(document.querySelector('#run-info'), {childList: true, subtree: true, characterData: true});
        }""")
        page.locator("#model input").fill(options[0])
        page.locator("#model input").press("Enter")
        page.locator("#compare-btn").click()
        wait_for_run(page)
        statuses = page.evaluate("window.nerkitStatuses")
        # Before the answer came back the error was gone: the status said what was running.
        running = [t for t in statuses if "Cannot run" not in t and "forward pass" not in t]
        assert running and "Running" in running[0], statuses
        page.close()


def test_context_example_offers_the_second_sentence_alone(browser, app_url):
    from space.ui_examples import CONTEXT_ALONE, CONTEXT_LABEL

    page = open_page(browser, app_url, DESKTOP)
    page.get_by_text(CONTEXT_LABEL, exact=True).click()
    wait_for_run(page)
    alone = page.locator("#context-alone")
    alone.wait_for(state="visible")
    alone.click()
    wait_for_row_text(page, CONTEXT_ALONE)
    assert page.locator("#input-text textarea").input_value() == CONTEXT_ALONE
    assert not page.locator("#context-alone").is_visible()  # only after the example itself
    page.close()


@pytest.mark.skipif(not (BUNDLED / "config.json").is_file(), reason="no bundled model in ./model")
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_bundled_model_on_a_built_in_example(browser, shots, viewport):
    """The real product: ./model on the "Punctuation in a word" example; rows visible; screenshots saved."""
    from space.ui_examples import LABELED_EXAMPLES

    label, text = LABELED_EXAMPLES[2]
    with served_app() as url:  # no NER_MODEL: the bundled ./model, as a Space serves it
        page = open_page(browser, url, viewport)
        page.get_by_text(label, exact=True).click()
        wait_for_row_text(page, text)
        page.wait_for_timeout(500)
        assert_rows_visible(page, viewport)
        assert page.locator("#hl-first mark.ent").count() > 0
        assert page.locator("#disagreements tr.region").count() >= 1
        page.evaluate("window.scrollTo(0, 0)")
        name = f"space-{viewport['width']}x{viewport['height']}.png"
        page.screenshot(path=str(shots / name), full_page=True)
        assert (shots / name).stat().st_size > 10_000
        page.close()


@pytest.mark.skipif(not (BUNDLED / "config.json").is_file(), reason="no bundled model in ./model")
def test_bundled_model_context_example_then_its_second_sentence_alone(browser):
    """The context example's point, on screen: "Ferreira" in the second sentence is LOC after the first
    sentence and PER once the button runs that sentence alone."""
    from space.ui_examples import CONTEXT_ALONE, CONTEXT_LABEL, CONTEXT_TEXT

    def ferreira(page):
        return [label for label, text, _x in page.evaluate(
            "n => [...document.querySelectorAll(`#hl-${n} mark.ent`)].map(m => [m.dataset.label, m.textContent, 0])",
            "first") if text == "Ferreira"]

    with served_app() as url:
        page = open_page(browser, url, DESKTOP)
        page.get_by_text(CONTEXT_LABEL, exact=True).click()
        wait_for_row_text(page, CONTEXT_TEXT)
        assert ferreira(page)[-1] == "LOC", ferreira(page)
        page.locator("#context-alone").click()
        wait_for_row_text(page, CONTEXT_ALONE)
        page.wait_for_timeout(300)
        assert ferreira(page) == ["PER"], ferreira(page)
        page.close()
