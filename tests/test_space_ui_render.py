"""space.ui_render: the Space's HTML as pure functions (no server, no browser)."""

from __future__ import annotations

import re
from types import SimpleNamespace

from nercore import strategies as registry
from space.ui_render import (
    agreement_message, color_of, disagreement_html, entity_table_html, error_html, legend_html, legend_types,
    palette, row_head_html, row_title, status_html, text_html, text_direction,
)

WNUT = ["O", "B-corporation", "I-corporation", "B-creative-work", "I-creative-work", "B-group", "I-group",
        "B-location", "I-location", "B-person", "I-person", "B-product", "I-product"]
ONTONOTES_TYPES = ["CARDINAL", "DATE", "EVENT", "FAC", "GPE", "LANGUAGE", "LAW", "LOC", "MONEY", "NORP", "ORDINAL",
                   "ORG", "PERCENT", "PERSON", "PRODUCT", "QUANTITY", "TIME", "WORK_OF_ART"]
ONTONOTES = ["O"] + [f"{p}-{t}" for t in ONTONOTES_TYPES for p in "BI"]


def test_every_type_of_any_label_set_gets_its_own_colour():
    for labels, types in ((WNUT, ["corporation", "creative-work", "group", "location", "person", "product"]),
                          (ONTONOTES, ONTONOTES_TYPES)):
        assert legend_types(labels) == types
        colors = palette(types)
        assert list(colors) == types and len(set(colors.values())) == len(types)
        assert color_of("B-creative-work" if "creative-work" in types else "I-WORK_OF_ART", colors) != "#dddddd"
        legend = legend_html(colors)
        assert [m for m in re.findall(r'data-type="([^"]+)"', legend)] == types
    assert legend_types(["O", "PER", "LOC"]) == ["LOC", "PER"]  # labels without B-/I- prefixes


def test_user_text_is_escaped_everywhere():
    text = "<script>alert(1)</script> [link](http://x) ![i](http://x/a.png) Obama"
    entity = {"entity_group": "PER<b>", "score": 0.9, "word": "<x>", "start": 0, "end": len(text)}
    for html in (text_html(text, [entity], {}), entity_table_html(text, [entity]), error_html(text)):
        assert "<script>" not in html and "<b>" not in html and "&lt;script&gt;" in html
        assert "<a " not in html and "<img" not in html
    assert "[link](http://x)" in error_html(text)  # Markdown is not rendered either: shown as typed
    region = {"start": 0, "end": 8, "text": text[:8], "strategies": {"first": [entity], "max": []}}
    html = disagreement_html([region], ["first", "max"], text, {}, ["first", "max"])
    assert "<script>" not in html and "<b>" not in html
    result = {"model": "<i>m</i>", "device": "cpu", "message": "", "disagreements": [], "forward_ms": 1,
              "num_tokens": 1, "windows": 1, "max_tokens_per_window": 8, "total_ms": 1,
              "word_boundaries": {"method": "prefix", "description": "<u>d</u>"}}
    assert "<i>" not in status_html(result) and "<u>" not in status_html(result)


def test_rows_add_no_width_around_entities():
    text = "Barack Obama met John"
    html = text_html(text, [{"entity_group": "PER", "score": 0.99, "start": 0, "end": 12},
                            {"entity_group": "PER", "score": 0.9, "start": 17, "end": 21}], palette(["PER"]))
    assert re.sub(r"<[^>]+>", "", html) == text  # every character once, nothing added
    assert html.count('<mark class="ent"') == 2 and 'dir="auto"' in html


def test_one_badge_per_region_and_a_sentence_when_all_agree():
    text = "Widodo met Smith"
    said = {"entity_group": "PER", "score": 0.9, "start": 0, "end": 6}
    regions = [{"start": 0, "end": 6, "strategies": {"first": [said], "max": []}},
               {"start": 11, "end": 16, "strategies": {"first": [], "max": [dict(said, start=11, end=16)]}}]
    html = disagreement_html(regions, ["first", "max"], text, {}, ["first", "max"])
    assert html.count('class="ner-badge"') == 2 and html.count('<tr class="region"') == 2
    assert "disagree" not in html.lower()
    five = [s.name for s in registry.STRATEGIES if getattr(s, "pipeline", True)][:5]
    assert agreement_message(five, five) == "The five strategies agree on this text."
    assert agreement_message([*five, "word"], five) == "The five strategies and nerkit's word view agree on this text."
    assert disagreement_html([], five, text, {}, five) == (
        '<div class="ner-agree" id="agree">The five strategies agree on this text.</div>')
    assert disagreement_html([], five, "  ", {}, five) == ""


def test_right_to_left_text():
    assert text_direction("  123 שלום Widodo") == "rtl" and text_direction("Widodo שלום") == "ltr"
    text = "مرحبا Widodo"
    region = {"start": 6, "end": 12, "strategies": {"first": [], "max": []}}
    assert 'class="where" dir="rtl"' in disagreement_html([region], ["first", "max"], text, {}, ["first", "max"])


def test_row_heads_label_non_pipeline_rows_and_mark_the_best_f1():
    word = SimpleNamespace(name="word", help="nerkit's own rule", pipeline=False)
    first = registry.get_strategy("first")
    assert row_title(word) == "word — nerkit's view, not a pipeline strategy" and row_title(first) == "first"
    head = row_head_html(word)
    assert "not a pipeline strategy" in head and "nerkit&#x27;s own rule" in head and "F1" not in head
    # Issue 22: the real `word` help also says "not a pipeline strategy"; the row says it once.
    real = registry.get_strategy("word")
    assert re.sub(r"<[^>]+>", "", row_head_html(real)).count("not a pipeline strategy") == 1
    head = row_head_html(first, 0.91234, best=True, measured_on="test split")
    assert "F1 91.23" in head and "best F1" in head  # the card's format, as in the summary line
    assert "best" not in row_head_html(first, 0.8, best=False)


def test_one_f1_format_and_a_sentence_when_nothing_was_found():
    """Issue 22: "86.0" in the summary and "0.8601" in the rows were the same F1; nothing found is said in words."""
    from space.ui_render import NOTHING_FOUND, f1_text, summary_html

    assert f1_text(0.86006) == "F1 86.01"
    assert "(F1 86.01)" in summary_html(6, 1, ("first", 0.86006, "test"))
    assert "no entities found" in summary_html(6, 0, None, found=False)
    five = ["none", "simple", "first", "average", "max"]
    assert NOTHING_FOUND in disagreement_html([], five, "Nothing here.", {}, five, found=False)


def test_dimmed_spans_in_the_disagreement_table():
    text = "Widodo met Smith"
    said = {"entity_group": "PER", "score": 0.6, "start": 0, "end": 6}
    regions = [{"start": 0, "end": 6, "strategies": {"first": [said], "max": []}}]
    plain = disagreement_html(regions, ["first", "max"], text, {}, ["first", "max"])
    dimmed = disagreement_html(regions, ["first", "max"], text, {}, ["first", "max"], low={"first": {("PER", 0, 6)}})
    assert 'class="said low"' not in plain and dimmed.count('class="said low"') == 1
