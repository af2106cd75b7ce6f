"""Issue 9 (Space: limits, loading outside the inference slot, privacy) against the real served app."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.request

import pytest

from space import model as space_model
from space.config import SpaceConfig
from space.limits import body_limit, protect

from test_space_helpers import RIGGED_TEXT, launch_local, rigged_bert, spans_of  # noqa: F401 (fixture)

pytestmark = pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning", "ignore:The copy keyword:Warning")


@contextlib.contextmanager
def protected_app(config):
    from space.ui import build_demo

    demo = protect(build_demo(config))
    url = launch_local(demo)
    try:
        yield demo, url
    finally:
        demo.close()


@pytest.fixture(scope="module")
def app(rigged_bert, tiny_bert):
    config = SpaceConfig(default_model=str(rigged_bert), models=(str(tiny_bert),), device="cpu", max_chars=2_000,
                         allow_custom_model=True, allow_local_paths=True)
    with protected_app(config) as served:
        yield served


def _post(url: str, body, headers=None) -> tuple[int, str]:
    import httpx

    response = httpx.post(url, content=body, headers=headers or {"content-type": "application/json"}, timeout=60)
    return response.status_code, response.text


def test_oversized_bodies_are_refused_before_parsing_and_the_app_still_serves(app):
    from gradio_client import Client

    _demo, url = app
    limit = body_limit(2_000)
    assert limit < 200_000
    big = json.dumps({"data": ["x" * 3_000_000]}).encode()
    for _ in range(5):
        status, text = _post(url + "gradio_api/call/predict", big)
        assert status == 413 and "Request body too large" in text and f"at most {limit:,} bytes" in text

    def chunks():  # no Content-Length: counted while read
        for _ in range(100):
            yield b"x" * 10_000

    status, text = _post(url + "gradio_api/call/predict", chunks())
    assert status == 413, text
    entities = Client(url, verbose=False).predict(text=RIGGED_TEXT, strategy="first", api_name="/predict")
    assert ("PER", "Barack Obama") in spans_of(RIGGED_TEXT, entities)


def test_uploads_are_refused(app):
    import httpx

    _demo, url = app
    response = httpx.post(url + "gradio_api/upload", files={"files": ("a.txt", b"hello")}, timeout=30)
    assert response.status_code == 403 and "Uploads are disabled" in response.text


def test_no_server_path_in_config_or_answers(app, rigged_bert, tiny_bert):
    from gradio_client import Client

    _demo, url = app
    page_config = urllib.request.urlopen(url + "config", timeout=30).read().decode()
    assert str(rigged_bert) not in page_config and str(tiny_bert) not in page_config
    assert f"local: {tiny_bert.name}" in page_config
    result = Client(url, verbose=False).predict(text="John Smith", model=f"local: {tiny_bert.name}", api_name="/compare")
    assert result["model"] == f"local: {tiny_bert.name}"


def test_a_loaded_model_is_served_while_another_model_loads(app, tiny_bert, tmp_path, monkeypatch):
    """The issue's 70 s wait: a typed model's load must not hold the inference slot."""
    import shutil

    from gradio_client import Client

    _demo, url = app
    slow_copy = tmp_path / "slow-model"
    shutil.copytree(tiny_bert, slow_copy)
    real, loading, release = space_model.load_pipeline, threading.Event(), threading.Event()

    def slow(model_id, device, policy=None):
        if "slow-model" in model_id:
            loading.set()
            release.wait(60)
        return real(model_id, device, policy)

    monkeypatch.setattr(space_model, "load_pipeline", slow)
    client = Client(url, verbose=False)
    client.predict(text="warm", strategy="simple", api_name="/predict")
    job = client.submit(text="John", strategy="simple", model=str(slow_copy), api_name="/predict")
    assert loading.wait(30)
    began = time.perf_counter()
    entities = client.predict(text=RIGGED_TEXT, strategy="first", api_name="/predict")
    waited = time.perf_counter() - began
    release.set()
    assert ("PER", "Barack Obama") in spans_of(RIGGED_TEXT, entities)
    assert waited < 5, waited
    job.result(timeout=60)


# --- the middleware alone, with scripted ASGI messages (uvicorn merges back-to-back chunks, so a
# served app cannot show that every chunk counts) ----------------------------------------------

def _scripted(messages: list[dict], headers: list[tuple[bytes, bytes]] | None = None):
    """Run BodyLimit(max_bytes=100) on one POST whose body arrives as `messages`; returns
    (status sent, whether the app was called, how many messages were read)."""
    import asyncio

    from space.limits import BodyLimit

    called, sent, read = [], [], []

    async def app(scope, receive, send):
        called.append(True)

    async def receive():
        read.append(True)
        return messages[len(read) - 1]

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/gradio_api/call/predict", "headers": headers or []}
    asyncio.run(BodyLimit(app, max_bytes=100)(scope, receive, send))
    status = next((m["status"] for m in sent if m["type"] == "http.response.start"), None)
    return status, bool(called), len(read)


def test_many_small_chunks_over_the_limit_are_refused_and_never_reach_the_app():
    chunks = [{"type": "http.request", "body": b"x" * 10, "more_body": True} for _ in range(30)]
    status, called, read = _scripted(chunks)
    assert status == 413 and not called
    assert read == 11  # refused on the chunk that crossed 100 bytes, not after reading all 300


def test_a_content_length_over_the_limit_is_refused_before_the_body_is_read():
    chunk = [{"type": "http.request", "body": b"x", "more_body": False}]
    status, called, read = _scripted(chunk, headers=[(b"content-length", b"5000")])
    assert status == 413 and not called and read == 0


def test_a_body_within_the_limit_in_chunks_reaches_the_app_whole():
    chunks = [{"type": "http.request", "body": b"x" * 10, "more_body": i < 8} for i in range(9)]
    status, called, read = _scripted(chunks, headers=[(b"content-length", b"90")])
    assert status is None and called and read == 9
