"""space.ui.build_demo without a server: what the page is made of (the browser test checks how it looks)."""

from __future__ import annotations

import gradio as gr
import pytest

from nercore import strategies as registry
from space.config import SpaceConfig
from space.ui_examples import EXAMPLE_LABELS, EXAMPLES

from test_space_helpers import rigged_bert  # noqa: F401 (fixture)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def demo(rigged_bert):
    from space.ui import build_demo

    return build_demo(SpaceConfig(default_model=str(rigged_bert), device="cpu"))


def _by_id(demo, elem_id):
    return next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == elem_id)


def test_analytics_are_off(demo):
    assert demo.analytics_enabled is False


def test_one_row_per_registered_strategy_with_its_table_collapsed(demo):
    for strategy in registry.STRATEGIES:
        accordion = _by_id(demo, f"acc-{strategy.name}")
        assert isinstance(accordion, gr.Accordion) and accordion.open is False
        assert isinstance(_by_id(demo, f"row-{strategy.name}"), gr.Column)
        assert isinstance(_by_id(demo, f"hl-{strategy.name}"), gr.HTML)  # escaped HTML, never Markdown
    assert isinstance(_by_id(demo, "run-info"), gr.HTML)  # messages quoting user input are plain text
    non_pipeline = [s.name for s in registry.STRATEGIES if not getattr(s, "pipeline", True)]
    labels = dict((value, label) for label, value in _by_id(demo, "strategies").choices)
    assert all("nerkit" in labels[name] for name in non_pipeline)


def test_examples_are_the_labelled_ones(demo):
    dataset = next(b for b in demo.blocks.values() if isinstance(b, gr.Dataset))
    assert [row[0] for row in dataset.samples] == EXAMPLES
    assert list(dataset.sample_labels) == EXAMPLE_LABELS


def test_compare_docstring_is_a_tool_description(demo):
    from gradio.utils import get_function_description

    fn = next(f.fn for f in demo.fns.values() if f.api_name == "compare")
    description, parameters, returns = get_function_description(fn)
    assert "named entities" in description and "STRATEGY_LIST" not in description
    assert all(parameters[p] for p in ("text", "strategies", "model")) and returns
    assert all(f'"{name}"' in parameters["strategies"] for name in registry.STRATEGY_NAMES)
