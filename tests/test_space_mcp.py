"""The Space as an MCP server: launched like app.py (`mcp_server=True`), listed and called over
Gradio's streamable HTTP endpoint (`/gradio_api/mcp/`) by the official `mcp` client.

Needs the `mcp` package (`pip install "gradio[mcp]"`).
"""

from __future__ import annotations

import asyncio
import json

import pytest
from conftest import require  # optional dependencies: a failure under CI, a skip elsewhere

from nercore import strategies as registry
from space.config import SpaceConfig

from test_space_helpers import RIGGED_EXPECTED, RIGGED_TEXT, rigged_bert, running_app, spans_of  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::ResourceWarning")


async def _talk(url: str, calls: list[tuple[str, dict]]):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async with streamablehttp_client(url) as (read, write, _session_id):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = (await session.list_tools()).tools
            results = [await session.call_tool(name, arguments) for name, arguments in calls]
    return tools, results


def _json_of(result) -> object:
    assert not result.isError, result.content
    texts = [c.text for c in result.content if getattr(c, "type", "") == "text"]
    assert len(texts) == 1, result.content
    return json.loads(texts[0])  # JSON, as the tool's description says (Gradio alone sends a Python repr)


def test_compare_is_an_mcp_tool_a_model_can_use(rigged_bert):
    require("mcp", reason='the MCP client/server needs `pip install "gradio[mcp]"`')
    config = SpaceConfig(default_model=str(rigged_bert), device="cpu")
    calls = [("compare", {"text": RIGGED_TEXT}),
             ("compare", {"text": RIGGED_TEXT, "strategies": ["first", "simple"]}),
             ("predict", {"text": RIGGED_TEXT, "strategy": "max"})]
    with running_app(config, mcp=True) as (_demo, url):
        tools, (everything, two, one) = asyncio.run(_talk(url + "gradio_api/mcp/", calls))

    by_name = {tool.name: tool for tool in tools}
    assert set(by_name) == {"compare", "predict"}  # the page's own Compare click is not a tool
    compare = by_name["compare"]
    description = compare.description.lower()
    assert "named entities" in description and "aggregation strateg" in description and "returns" in description
    for name in registry.STRATEGY_NAMES:
        assert f'"{name}"' in compare.inputSchema["properties"]["strategies"]["description"]
    assert set(compare.inputSchema["properties"]) == {"text", "strategies", "model", "min_score"}
    assert all(compare.inputSchema["properties"][p].get("description") for p in ("text", "strategies", "model", "min_score"))

    result = _json_of(everything)
    assert set(result["entities"]) == set(registry.STRATEGY_NAMES)
    for name, expected in RIGGED_EXPECTED.items():
        assert spans_of(RIGGED_TEXT, result["entities"][name]) == expected, name
    assert [r["text"] for r in result["disagreements"]] == ["Widodo"]
    assert set(_json_of(two)["entities"]) == {"first", "simple"}
    assert spans_of(RIGGED_TEXT, _json_of(one)) == RIGGED_EXPECTED["max"]


def test_python_app_py_returns_json_tool_results(rigged_bert, tmp_path):
    """The real entry point: `python app.py` blocks in `demo.launch`, so anything installed after it
    returns never runs; the tool results must be JSON all the same."""
    require("mcp", reason='the MCP client/server needs `pip install "gradio[mcp]"`')
    from app_process import served_app

    with served_app(NER_MODEL=str(rigged_bert)) as url:
        calls = [("compare", {"text": RIGGED_TEXT, "strategies": ["first", "simple"]}),
                 ("predict", {"text": RIGGED_TEXT, "strategy": "max"})]
        _tools, (two, one) = asyncio.run(_talk(url + "gradio_api/mcp/", calls))
    assert {name: spans_of(RIGGED_TEXT, found) for name, found in _json_of(two)["entities"].items()} == {
        name: RIGGED_EXPECTED[name] for name in ("first", "simple")}
    assert spans_of(RIGGED_TEXT, _json_of(one)) == RIGGED_EXPECTED["max"]
