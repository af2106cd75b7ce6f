"""The Space's built-in examples show its point: each one makes the strategies disagree on the
bundled model (./model), and together they cover each kind of difference."""

from __future__ import annotations

import re
import unicodedata
import warnings
from pathlib import Path

import pytest

from space.ui_examples import CONTEXT_ALONE, CONTEXT_TEXT, EXAMPLE_LABELS, EXAMPLES, LABELED_EXAMPLES

BUNDLED = Path(__file__).resolve().parents[1] / "model"


def test_examples_cover_each_kind_of_difference():
    assert len(EXAMPLES) == len(EXAMPLE_LABELS) == len(LABELED_EXAMPLES) >= 5
    kinds = {label.lower(): text for label, text in LABELED_EXAMPLES}

    def text_for(word):
        return next(text for label, text in kinds.items() if word in label)

    assert any(unicodedata.decomposition(ch) for ch in text_for("diacritics"))  # é, ł, ż ...
    assert re.search(r"\w[-'’.]\w", text_for("punctuation"))                     # AL-AIN, Adebayo-Okafor
    assert text_for("simple")
    assert text_for("adjacent")
    assert len(text_for("long")) > 2_000  # several 512-token windows' worth, checked on the model below
    assert text_for("context").count(". ") >= 1  # two sentences: the second needs the first (below)


@pytest.mark.slow
def test_every_example_makes_the_strategies_disagree_on_the_bundled_model():
    if not (BUNDLED / "config.json").is_file():
        pytest.skip("no bundled model in ./model")
    from transformers import pipeline

    from nercore.engine import predict_detailed
    from nercore.spans import disagreements

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = pipeline("token-classification", model=str(BUNDLED), device="cpu")
    for label, text in LABELED_EXAMPLES:
        prediction = predict_detailed(pipe, text)
        regions = disagreements(prediction.entities, text)
        assert regions, f"example {label!r} gives no disagreement on {BUNDLED}"
        if "long" in label.lower():
            assert prediction.num_windows >= 2, (label, prediction.num_windows)


@pytest.mark.slow
def test_the_context_example_changes_the_answer_on_the_bundled_model():
    """Issue 16: the bundled model reads the document; the example shows a name whose type comes from the
    sentence before it."""
    if not (BUNDLED / "config.json").is_file():
        pytest.skip("no bundled model in ./model")
    from transformers import pipeline

    from nercore.engine import predict_detailed

    text, second = CONTEXT_TEXT, CONTEXT_ALONE  # the page offers `second` alone once the example has run
    assert text.endswith(second) and text[: -len(second)].rstrip().endswith(".")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = pipeline("token-classification", model=str(BUNDLED), device="cpu")
    offset = len(text) - len(second)
    alone = {(e["entity_group"], e["start"]) for e in predict_detailed(pipe, second).entities["first"]}
    in_text = {(e["entity_group"], e["start"] - offset) for e in predict_detailed(pipe, text).entities["first"]
               if e["start"] >= offset}
    where = second.index("Ferreira")
    assert ("PER", where) in alone and ("LOC", where) in in_text, (alone, in_text)
