"""The real app served on 127.0.0.1, called through gradio_client: every endpoint, errors, 32 concurrent
calls, the bounded queue, the docs' examples, and `python app.py` itself."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from space.config import SpaceConfig
from nercore.device import DeviceChoice
from nercore.engine import predict_all
from space.model import get_pipeline
from space.service import EMPTY_TEXT_MESSAGE, NO_MODEL_MESSAGE
from nercore.spans import none_to_spans
from nercore.strategies import STRATEGY_NAMES

from test_space_helpers import (  # noqa: F401 (fixture)
    RIGGED_EXPECTED,
    RIGGED_TEXT,
    free_port,
    rigged_bert,
    running_app,
    spans_of,
)

pytestmark = pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning", "ignore:The copy keyword:Warning")

REPO_ROOT = Path(__file__).resolve().parent.parent
CPU = DeviceChoice("cpu", "float32", "CPU")


@pytest.fixture(scope="module")
def app(rigged_bert, tiny_bert, tiny_roberta):
    config = SpaceConfig(
        default_model=str(rigged_bert), models=(str(tiny_bert), str(tiny_roberta)), device="cpu",
        max_chars=5_000, queue_size=64, concurrency=1,
    )
    with running_app(config) as (demo, url):
        yield demo, url


@pytest.fixture(scope="module")
def client(app):
    from gradio_client import Client

    return Client(app[1], verbose=False)


def test_endpoints_are_named_and_typed(client):
    info = client.view_api(print_info=False, return_format="dict")
    endpoints = info["named_endpoints"]
    assert set(endpoints) == {"/compare", "/predict"}  # the UI's own event is private
    assert [p["parameter_name"] for p in endpoints["/compare"]["parameters"]] == ["text", "strategies", "model",
                                                                                    "min_score"]
    assert [p["parameter_name"] for p in endpoints["/predict"]["parameters"]] == ["text", "strategy", "model", "min_score"]
    compare_types = [p["type"] for p in endpoints["/compare"]["parameters"]]
    assert compare_types[0] == {"type": "string"}
    assert compare_types[1]["oneOf"][1] == {"type": "array", "items": {"type": "string"}}
    assert endpoints["/compare"]["returns"][0]["type"]["type"] == "object"


def test_min_score_keeps_only_entities_scored_at_least_it(client):
    """Issue 18: `/compare` and `/predict` take an optional `min_score`; a bad one is refused with a message."""
    from gradio_client.exceptions import AppError

    everything = client.predict(text=RIGGED_TEXT, api_name="/compare")["entities"]
    scores = sorted({round(e["score"], 6) for found in everything.values() for e in found})
    assert len(scores) > 1
    cut = (scores[0] + scores[-1]) / 2
    kept = client.predict(text=RIGGED_TEXT, min_score=cut, api_name="/compare")["entities"]
    for name, found in everything.items():
        assert kept[name] == [e for e in found if e["score"] >= cut], name
    assert any(len(kept[n]) < len(everything[n]) for n in everything)
    one = client.predict(text=RIGGED_TEXT, strategy="first", min_score=cut, api_name="/predict")
    assert one == kept["first"]
    assert client.predict(text=RIGGED_TEXT, strategy="first", min_score=None, api_name="/predict") == everything["first"]
    with pytest.raises(AppError, match="min_score must be a number from 0 to 1"):
        client.predict(text=RIGGED_TEXT, min_score=1.5, api_name="/compare")


def test_compare_returns_all_strategies_and_the_disagreement(client):
    result = client.predict(text=RIGGED_TEXT, api_name="/compare")
    assert set(result) == {"model", "entities", "disagreements", "message", "scores", "info"}
    assert {s: spans_of(RIGGED_TEXT, e) for s, e in result["entities"].items() if s in RIGGED_EXPECTED} == RIGGED_EXPECTED
    assert [(r["start"], r["end"], r["text"]) for r in result["disagreements"]] == [(17, 23, "Widodo")]
    assert result["disagreements"][0]["strategies"]["average"] == []
    for entities in result["entities"].values():
        for e in entities:
            assert isinstance(e["score"], float) and 0 < e["score"] <= 1
    assert result["info"]["windows"] == 1 and result["info"]["word_boundaries"]["method"] == "prefix"
    subset = client.predict(text=RIGGED_TEXT, strategies=["max", "none"], model="", api_name="/compare")
    assert list(subset["entities"]) == ["none", "max"]


@pytest.mark.parametrize("strategy", list(RIGGED_EXPECTED))
def test_predict_each_strategy(client, strategy):
    entities = client.predict(text=RIGGED_TEXT, strategy=strategy, api_name="/predict")
    assert spans_of(RIGGED_TEXT, entities) == RIGGED_EXPECTED[strategy]


def test_listed_models_give_what_the_library_gives(app, client, tiny_roberta):
    text = "Peter Blackburn of Reuters reported from Zürich 🎉 on Monday."
    shown = app[0].nerkit_service.config.display_of(str(tiny_roberta))  # listed folders go by their shown name
    result = client.predict(text=text, model=shown, api_name="/compare")
    expected = predict_all(get_pipeline(str(tiny_roberta), CPU), text)
    for s in STRATEGY_NAMES:
        got = result["entities"][s]
        assert [(e.get("entity_group") or e["entity"], e["start"], e["end"]) for e in got] == [
            (e.get("entity_group") or e["entity"], e["start"], e["end"]) for e in expected[s]
        ]
        assert all(abs(a["score"] - b["score"]) < 1e-5 for a, b in zip(got, expected[s]))
    assert result["info"]["word_boundaries"]["method"] == "space"


def test_empty_text_gives_a_message(client):
    result = client.predict(text="   ", api_name="/compare")
    assert result["message"] == EMPTY_TEXT_MESSAGE and result["entities"]["simple"] == []
    assert client.predict(text="", strategy="none", api_name="/predict") == []


def _app_error(client, **kwargs):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as info:
        client.predict(**kwargs)
    return str(info.value)


def test_bad_requests_get_clear_error_responses(client, tmp_path):
    message = _app_error(client, text="John", strategy="bogus", api_name="/predict")
    assert "Unknown aggregation strategy 'bogus': expected one of none, simple, first, average, max" in message
    message = _app_error(client, text="John", strategies=["simple", "nope"], api_name="/compare")
    assert "'nope'" in message
    message = _app_error(client, text="John", model=str(tmp_path), api_name="/compare")
    assert "unknown model" in message and str(tmp_path) not in message  # typed models are an owner opt-in
    message = _app_error(client, text="x" * 5_001, api_name="/compare")
    assert "5,001 characters; the limit is 5,000" in message
    # the app is still fine afterwards
    assert spans_of(RIGGED_TEXT, client.predict(text=RIGGED_TEXT, strategy="first", api_name="/predict"))


def test_32_concurrent_calls_all_return_correct_results(client):
    names = ["Barack Obama", "John Smith"]
    places = ["Paris", "London", "New York City"]
    jobs = []
    for i in range(32):
        text = f"{i} {names[i % 2]} and {names[(i + 1) % 2]} went to {places[i % 3]} {'!' * (i % 5)}"
        strategy = STRATEGY_NAMES[i % 5]
        api = "/compare" if i % 2 else "/predict"
        kwargs = dict(text=text, api_name=api)
        kwargs.update({"strategies": [strategy]} if api == "/compare" else {"strategy": strategy})
        jobs.append((text, strategy, api, client.submit(**kwargs)))
    for i, (text, strategy, api, job) in enumerate(jobs):
        result = job.result(timeout=120)
        entities = result["entities"][strategy] if api == "/compare" else result
        if strategy == "none":
            entities = none_to_spans(entities, text)
        expected = [("PER", names[i % 2]), ("PER", names[(i + 1) % 2]), ("LOC", places[i % 3])]
        assert spans_of(text, entities) == expected, (i, text, strategy, entities)


def test_the_queue_is_bounded(rigged_bert):
    """With one worker and room for 2 waiting requests, a burst of 8 slow ones is partly refused, never crashes."""
    from gradio_client import Client

    config = SpaceConfig(default_model=str(rigged_bert), device="cpu", max_chars=100_000, queue_size=2, concurrency=1,
                         workers=1)
    slow_text = "Barack Obama visited New York City and Paris. " * 2000  # ~92 000 characters: ~1 s each
    with running_app(config) as (_demo, url):
        client = Client(url, verbose=False)
        assert client.predict(text="warm up John", strategy="simple", api_name="/predict")
        jobs = [client.submit(text=slow_text, strategy="first", api_name="/predict") for _ in range(8)]
        done, refused = 0, 0
        for job in jobs:
            try:
                entities = job.result(timeout=300)
                assert len(entities) == 2000 * 3
                done += 1
            except Exception as exc:  # gradio_client raises QueueError for a full queue
                assert "queue is full" in str(exc).lower(), exc
                refused += 1
        assert done >= 1 and refused >= 1, (done, refused)


DOC_PAGES = ("README.md", "docs/space.md")


def test_docs_examples_run_against_the_live_app(app):
    """Every ```python block of the README and the Space page from the first one that uses
    gradio_client on runs as written (URL swapped in)."""
    _demo, url = app
    ran = 0
    for page in (p for p in DOC_PAGES if (REPO_ROOT / p).is_file()):
        doc = (REPO_ROOT / page).read_text(encoding="utf-8")
        blocks = re.findall(r"```python\n(.*?)```", doc, flags=re.S)
        first = next((i for i, b in enumerate(blocks) if "gradio_client" in b), len(blocks))
        namespace: dict = {"__name__": "docs_example"}  # shared: the page reads top to bottom
        for block in blocks[first:]:
            code = block.replace("http://127.0.0.1:7860/", url)
            exec(compile(code, page, "exec"), namespace)  # noqa: S102 - our own docs
            ran += 1
        if "result" in namespace:
            assert {"PER", "ORG", "LOC"} <= {e["entity_group"] for e in namespace["result"]["entities"]["first"]}
    assert ran >= 2


def test_no_model_configured_the_app_still_starts_and_explains(tmp_path):
    from gradio_client import Client

    with running_app(SpaceConfig(default_model=None, device="cpu")) as (_demo, url):
        page_config = urllib.request.urlopen(url + "config", timeout=30).read().decode()
        assert "No model is configured" in page_config
        message = _app_error(Client(url, verbose=False), text="John Smith", api_name="/compare")
        assert NO_MODEL_MESSAGE in message


def test_python_app_py_serves_the_space(rigged_bert):
    from gradio_client import Client

    for attempt in range(3):  # the port may be taken between free_port() and the app binding it: retry
        port = free_port()
        env = dict(os.environ, NER_MODEL=str(rigged_bert), GRADIO_SERVER_NAME="127.0.0.1",
                   GRADIO_SERVER_PORT=str(port), NER_DEVICE="cpu", GRADIO_ANALYTICS_ENABLED="False",
                   PYTHONUNBUFFERED="1")
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        url = f"http://127.0.0.1:{port}/"
        html, deadline = None, time.time() + 120
        while html is None:
            try:
                html = urllib.request.urlopen(url, timeout=5).read().decode()
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    break
                time.sleep(0.5)
        if html is not None:
            break
        output = proc.stdout.read() if proc.poll() is not None else ""
        proc.kill()
        proc.wait(timeout=20)
        if "empty port" not in output or attempt == 2:
            raise AssertionError(f"app.py did not serve: {output}")
    try:
        assert "<gradio-app" in html or "gradio" in html.lower()
        entities = Client(url, verbose=False).predict(text=RIGGED_TEXT, strategy="max", api_name="/predict")
        assert spans_of(RIGGED_TEXT, entities) == RIGGED_EXPECTED["max"]
    finally:
        proc.kill()  # a test server needs no graceful shutdown
        proc.wait(timeout=20)
