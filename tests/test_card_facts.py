"""Unit tests of what the card decides once (facts), its front matter, text helpers and section list."""

from __future__ import annotations

import re

import pytest

from card_helpers import TAG_RESULTS, make_context
from nercore.strategies import recommendable
from toolkit.card import template_text
from toolkit.card import fmt
from toolkit.card.facts import base_model, dataset_identity, recommended_strategy, widget_examples
from toolkit.card.known_datasets import CONLL2003
from toolkit.card.metadata import card_data
from toolkit.card.sections import SECTIONS


@pytest.mark.parametrize(
    ("source", "pretty", "hub_id", "known"),
    [
        ({"kind": "hub", "name": "org/my-ner"}, "org/my-ner", "org/my-ner", False),
        ({"kind": "hub", "name": "conll2003"}, "CoNLL-2003", "conll2003", True),
        ({"kind": "conll", "name": "/data/conll_2003"}, "CoNLL-2003", CONLL2003.hub_id, True),
        ({"kind": "csv", "name": "C:\\data\\news.csv"}, "news", None, False),
        ({"kind": "disk", "name": "/data/news.v2"}, "news.v2", None, False),  # not a file format: keep the dot
        ({}, "local data", None, False),
    ],
)
def test_dataset_identity(source, pretty, hub_id, known):
    identity = dataset_identity(source)
    assert (identity.pretty, identity.hub_id, identity.known is not None) == (pretty, hub_id, known)


def test_recommended_strategy_prefers_numbers_then_training():
    best, why = recommended_strategy({"none": 0.99, "simple": 0.9, "max": 0.9}, "test", None, True)
    assert best == "max" and "highest end-to-end F1 (90.00)" in why  # tie: the earlier in recommendable()
    assert recommendable().index("max") < recommendable().index("simple")
    assert recommended_strategy({"none": 0.9}, "test", "all", True)[0] == "average"
    assert "tag groups" in recommended_strategy({}, "test", None, False)[1]


def test_no_strategy_is_recommended_for_its_f1_of_zero():
    """A model scoring 0 everywhere once got "`first` has the highest end-to-end F1 (0.00)"."""
    best, why = recommended_strategy({name: 0.0 for name in recommendable()}, "test", "all", True)
    assert "highest end-to-end F1" not in why
    assert why.startswith("No strategy could be recommended from the evaluation: every strategy scored F1 0.00")
    assert best == "average" and "every sub-token labelled" in why  # the training-based choice instead


def test_base_model_local_folder_warns_and_is_scrubbed():
    warnings = []
    base = base_model({"base_model": "/opt/models/x/model"}, {}, None, warnings.append)
    assert base.hub_id is None and base.display == "a local model folder (`.../x/model`)"
    assert "--base-model" in warnings[0]
    assert base_model({"base_model": "/opt/m"}, {}, "org/m", warnings.append).hub_id == "org/m"
    base_model({}, {}, None, warnings.append)
    assert "no base model recorded" in warnings[-1]


SENTENCES = [
    ("-DOCSTART- x y z a b".split(), ["O"] * 6),
    ("JAPAN BEAT SYRIA IN ASIAN CUP".split(), ["B-LOC", "O", "B-LOC", "O", "B-MISC", "O"]),
    ("Ada met Bob in Paris today .".split(), ["B-PER", "O", "B-PER", "O", "B-LOC", "O", "O"]),
    ("The talks in Rome were short .".split(), ["O", "O", "O", "B-LOC", "O", "O", "O"]),
    ("Acme Corp hired many new staff .".split(), ["B-ORG", "I-ORG", "O", "O", "O", "O", "O"]),
]


def test_widget_examples_cover_types_without_headlines():
    warnings = []
    examples = widget_examples([], None, SENTENCES, entities=True, split="test", warn=warnings.append)
    assert examples == [
        {"text": "Ada met Bob in Paris today.", "example_title": "PER, LOC"},
        {"text": "Acme Corp hired many new staff.", "example_title": "ORG"},
    ]
    assert warnings == []


def test_widget_examples_sources_in_priority_order():
    warnings = []
    own = widget_examples(["Hi Ada."], CONLL2003, None, entities=True, split="test", warn=warnings.append)
    assert own == [{"text": "Hi Ada.", "example_title": "Example 1"}] and warnings == []
    invented = widget_examples([], CONLL2003, SENTENCES, entities=True, split="test", warn=warnings.append)
    assert [e["text"] for e in invented] == [text for text, _ in CONLL2003.widget]
    assert "research-only" in warnings[-1]
    assert widget_examples([], None, None, entities=True, split="dev", warn=warnings.append) is None
    assert "predictions_dev.conll" in warnings[-1]


def test_card_data_tags_and_model_index():
    data = card_data(make_context(TAG_RESULTS, license="mit"))
    assert data.tags == ["nerkit", "token-classification", "pos", "part-of-speech"]
    assert [(e.metric_type, e.metric_value) for e in data.eval_results] == [("accuracy", 0.9)]
    ctx = make_context(source={"kind": "hub", "name": "conll2003"})
    data = card_data(ctx)
    assert "conll2003" in data.tags and len(data.eval_results) == 4 + 3 * 2
    assert data.inference == {"parameters": {"aggregation_strategy": "first"}}
    assert any("no licence given" in w for w in ctx.warnings)


def test_every_section_has_a_template_slot_and_back():
    names = [name for name, _ in SECTIONS]
    assert len(names) == len(set(names))
    template = re.sub(r"{#.*?#}", "", template_text(), flags=re.S)  # comments show the pattern, not slots
    used = set(re.findall(r"{{ (\w+) }}", template)) | set(re.findall(r"{%- if (\w+)", template))
    assert set(names) == used - {"card_data"}


def test_format_helpers():
    assert fmt.md_table(["a", "b"], [["x|y", "1"]], numeric={1}) == "| a | b |\n|:---|---:|\n| x\\|y | 1 |"
    assert fmt.scrub_command("nerkit x --out=/home/a/b/c 'two words'") == "nerkit x --out=.../b/c 'two words'"
    assert fmt.is_local_path("./m") and fmt.is_local_path("C:\\m") and not fmt.is_local_path("org/m")
    assert fmt.detokenize(["He", "said", "(", "hi", ")", "do", "n't", "."]) == "He said (hi) don't."
    assert (fmt.duration(59), fmt.duration(61), fmt.duration(3600)) == ("59 s", "1 min 01 s", "1 h 00 min")
    assert (fmt.number(2.0), fmt.number(2.25), fmt.number(None)) == ("2", "2.2", "—")
    assert fmt.join_names(["a", "b", "c"]) == "a, b and c"
