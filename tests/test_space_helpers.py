"""Shared helpers for the Space tests: a tiny BERT whose predictions are set by hand, and a live app.

`build_rigged_bert` turns the random tiny BERT into a model that labels chosen vocabulary entries
deterministically: the encoder layers are made the identity (their residual branches output 0),
position/type embeddings are zeroed, so the last hidden state of a token is LayerNorm(its word
embedding), and the classifier reads the label off that embedding. Real weights, real tokenizer,
real pipeline — only the numbers are chosen.
"""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path

import pytest

from tiny_models import CONLL_LABELS, build_rigged_bert

# token -> {label: weight}; every other token is a pure "O".
RIGGED_TOKENS = {
    "Barack": {"B-PER": 1.0},
    "Obama": {"I-PER": 1.0},
    "John": {"B-PER": 1.0},
    "Smith": {"I-PER": 1.0},
    "United": {"B-ORG": 1.0},
    "Nations": {"I-ORG": 1.0},
    "Reuters": {"B-ORG": 1.0},
    "New": {"B-LOC": 1.0},
    "York": {"I-LOC": 1.0},
    "City": {"I-LOC": 1.0},
    "Paris": {"B-LOC": 1.0},
    "London": {"B-LOC": 1.0},
    # "Widodo" = W ##i ##d ##o ##d ##o: the strategies provably differ on it.
    "W": {"B-PER": 1.0},
    "##d": {"B-LOC": 1.0, "O": 0.5},
}

RIGGED_TEXT = "Barack Obama met Widodo in New York City with the United Nations. <script>alert(1)</script>"
# What each strategy returns on RIGGED_TEXT: (label, text slice).
RIGGED_EXPECTED = {
    "none": [("B-PER", "Barack"), ("I-PER", "Obama"), ("B-PER", "W"), ("B-LOC", "d"), ("B-LOC", "d"),
             ("B-LOC", "New"), ("I-LOC", "York"), ("I-LOC", "City"), ("B-ORG", "United"), ("I-ORG", "Nations")],
    "simple": [("PER", "Barack Obama"), ("PER", "W"), ("LOC", "d"), ("LOC", "d"), ("LOC", "New York City"),
               ("ORG", "United Nations")],
    "first": [("PER", "Barack Obama"), ("PER", "Widodo"), ("LOC", "New York City"), ("ORG", "United Nations")],
    "average": [("PER", "Barack Obama"), ("LOC", "New York City"), ("ORG", "United Nations")],
    "max": [("PER", "Barack Obama"), ("PER", "Widodo"), ("LOC", "New York City"), ("ORG", "United Nations")],
    "word": [("PER", "Barack Obama"), ("PER", "Widodo"), ("LOC", "New York City"), ("ORG", "United Nations")],
}


@pytest.fixture(scope="session")
def rigged_bert(tmp_path_factory) -> Path:
    """A tiny BERT with hand-set predictions (RIGGED_TOKENS); see RIGGED_EXPECTED.

    Several test modules import this fixture; the folder under the session's base temp dir
    makes it one build per session."""
    directory = tmp_path_factory.getbasetemp() / "rigged-bert"
    if (directory / "RIGGED").is_file():
        return directory
    build_rigged_bert(directory, RIGGED_TOKENS)
    (directory / "RIGGED").write_text("weights set by tests/test_space_helpers.py\n")
    return directory


def free_port() -> int:
    """A port that was free a moment ago: another process may take it before we bind it again, so
    servers are started through `launch_local`, which retries on a taken port."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_local(demo, attempts: int = 5, **options) -> str:
    """`demo.launch` on a free 127.0.0.1 port, retrying with a new port when the chosen one was taken
    between `free_port` closing it and Gradio binding it; returns the URL."""
    for attempt in range(attempts):
        try:
            _app, url, _share = demo.launch(
                server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                share=False, inbrowser=False, **options,
            )
            return url
        except OSError:  # "Cannot find empty port": lost the race
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


@contextlib.contextmanager
def running_app(config, mcp: bool = False):
    """The real app from space.ui.build_demo, served on a free 127.0.0.1 port; yields (demo, url).

    `mcp=True` launches it as app.py does on a Space, with Gradio's MCP server on
    (streamable HTTP at `{url}gradio_api/mcp/`)."""
    from space.ui import build_demo

    demo = build_demo(config)
    url = launch_local(demo, mcp_server=mcp)
    try:
        yield demo, url
    finally:
        demo.close()


def spans_of(text: str, entities: list[dict]) -> list[tuple[str, str]]:
    return [(e.get("entity_group") or e["entity"], text[e["start"] : e["end"]]) for e in entities]


def test_rigged_model_predicts_what_it_was_built_to(rigged_bert):
    import warnings

    from transformers import pipeline

    from nercore.strategies import PIPELINE_STRATEGY_NAMES

    for strategy, expected in RIGGED_EXPECTED.items():
        if strategy not in PIPELINE_STRATEGY_NAMES:  # nerkit's own view: transformers has no such strategy
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipe = pipeline("token-classification", model=str(rigged_bert), aggregation_strategy=strategy)
        got = spans_of(RIGGED_TEXT, pipe(RIGGED_TEXT))
        assert got == expected, (strategy, got)
