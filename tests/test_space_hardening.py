"""Issue 17, item 3: what a hostile or careless caller found left open after the hardening round.

Each test fails on the code before it: a degenerate config was built (on the meta device) before
being refused; a listed folder's server path was accepted as a model name; `/monitoring/summary`
was public; a 100 KB strategy name came back (and went to the log) in full; a call with missing
arguments got `{"error": null}`; a listed model that failed to load was tried again for every visitor.
"""

from __future__ import annotations

import json
import logging
import shutil
import struct
from pathlib import Path

import httpx
import pytest

from space import model as space_model
from space.config import SpaceConfig
from space.loading import SHAPE_LIMITS
from space.model import LoadPolicy, ModelLoadError, get_pipeline
from space.service import RequestError, Service
from nercore.device import DeviceChoice

from test_space_helpers import RIGGED_TEXT, rigged_bert, running_app  # noqa: F401 (fixture)

CPU = DeviceChoice("cpu", "float32", "cpu")
TYPED = LoadPolicy(max_params=200_000_000)  # how the Space loads a typed-in model


@pytest.fixture
def fresh_cache():
    space_model.clear_cache()
    yield
    space_model.clear_cache()


def _copy_with_config(source: Path, target: Path, **changes) -> Path:
    shutil.copytree(source, target)
    config = json.loads((target / "config.json").read_text())
    config.update(changes)
    (target / "config.json").write_text(json.dumps(config))
    return target


@pytest.fixture
def never_built(monkeypatch):
    """Fails the test if any architecture is built, even on the meta device (where 5,000 layers cost
    10-34 s of CPU and hundreds of MB that stay with the process)."""
    from transformers import AutoModelForTokenClassification

    def refuse(*args, **kwargs):
        raise AssertionError("the architecture was built before the config was refused")

    monkeypatch.setattr(AutoModelForTokenClassification, "from_config", refuse)
    monkeypatch.setattr(AutoModelForTokenClassification, "from_pretrained", refuse)


@pytest.mark.parametrize("field, value", [
    ("num_hidden_layers", 5_000),
    ("vocab_size", 2_000_000),
    ("hidden_size", 1_000_000),
])
def test_a_degenerate_config_is_refused_from_config_json_alone(tiny_bert, tmp_path, never_built, fresh_cache,
                                                                field, value):
    folder = _copy_with_config(tiny_bert, tmp_path / "odd", **{field: value})
    with pytest.raises(ModelLoadError) as caught:
        get_pipeline(str(folder), CPU, pinned=False, policy=TYPED)
    message = str(caught.value)
    assert f"{field}={value:,}" in message and f"at most {SHAPE_LIMITS[field]:,}" in message


def test_ten_thousand_labels_are_refused_before_building(tiny_bert, tmp_path, never_built, fresh_cache):
    labels = {str(i): f"B-T{i}" for i in range(SHAPE_LIMITS["num_labels"] + 1)}
    folder = _copy_with_config(tiny_bert, tmp_path / "labels", id2label=labels,
                               label2id={v: int(k) for k, v in labels.items()})
    with pytest.raises(ModelLoadError, match="num_labels=10,001"):
        get_pipeline(str(folder), CPU, pinned=False, policy=TYPED)


def test_a_huge_safetensors_header_is_refused_unread(tiny_bert, tmp_path, never_built, fresh_cache):
    folder = _copy_with_config(tiny_bert, tmp_path / "header")
    # Only the 8-byte length is written: a reader that honoured it would fail differently (short read).
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", 9 * 1024 * 1024) + b"{}")
    with pytest.raises(ModelLoadError, match="9,437,184-byte header; refusing to read it"):
        get_pipeline(str(folder), CPU, pinned=False, policy=TYPED)


def test_a_listed_folders_server_path_is_not_a_model_name_unless_paths_are_allowed(rigged_bert):
    service = Service(SpaceConfig(default_model=str(rigged_bert), device="cpu", allow_custom_model=True))
    display = service.config.default_display
    assert service.resolve_model(display)[0] == str(rigged_bert)  # by its shown name: fine
    with pytest.raises(RequestError, match="not a Hub model id"):
        service.resolve_model(str(rigged_bert))  # a guessed path must not be confirmed
    allowed = Service(SpaceConfig(default_model=str(rigged_bert), device="cpu", allow_custom_model=True,
                                  allow_local_paths=True))
    assert allowed.resolve_model(str(rigged_bert))[0] == str(rigged_bert)


def test_a_huge_strategy_name_is_cut_in_the_answer_and_in_the_log(rigged_bert, caplog):
    service = Service(SpaceConfig(default_model=str(rigged_bert), device="cpu"))
    name = "x" * 100_000
    with pytest.raises(RequestError) as by_predict:
        service.predict(RIGGED_TEXT, name)
    with caplog.at_level(logging.WARNING, logger="space.service"), pytest.raises(RequestError) as by_compare:
        service.compare(RIGGED_TEXT, [name])
    for caught in (by_predict, by_compare):
        assert "x" * 60 + "…" in str(caught.value) and "x" * 61 not in str(caught.value)
        assert len(str(caught.value)) < 200
    logged = [r.getMessage() for r in caplog.records]
    assert logged and all("x" * 61 not in line for line in logged)


def test_a_model_that_failed_to_load_is_refused_at_once_for_a_while(tiny_bert, tmp_path, fresh_cache, monkeypatch):
    folder = tmp_path / "broken"
    shutil.copytree(tiny_bert, folder)
    (folder / "model.safetensors").unlink()  # no weights: refused after reading the config
    with pytest.raises(ModelLoadError) as first:
        get_pipeline(str(folder), CPU, pinned=False)
    shutil.copy(tiny_bert / "model.safetensors", folder / "model.safetensors")  # now it would load…
    with pytest.raises(ModelLoadError) as second:
        get_pipeline(str(folder), CPU, pinned=False)  # …but the failure is remembered: no second attempt
    assert str(second.value) == str(first.value)
    assert space_model.load_counts().get(str(folder), 0) == 0
    monkeypatch.setattr(space_model, "FAILURE_MEMORY_S", 0.0)  # the memory has expired
    assert get_pipeline(str(folder), CPU, pinned=False) is not None
    assert space_model.load_counts()[str(folder)] == 1


def _sse_call(url: str, endpoint: str, data: list) -> dict:
    """A raw two-step Gradio API call (POST then the event stream), as a program without gradio_client makes it."""
    event = httpx.post(f"{url}gradio_api/call/{endpoint}", json={"data": data}, timeout=60).json()["event_id"]
    stream = httpx.get(f"{url}gradio_api/call/{endpoint}/{event}", timeout=60).text
    kind = next(line.split(":", 1)[1].strip() for line in stream.splitlines() if line.startswith("event:"))
    payload = next(line.split(":", 1)[1].strip() for line in stream.splitlines() if line.startswith("data:"))
    return {"event": kind, "data": json.loads(payload)}


def test_the_served_app_has_no_monitoring_and_names_missing_arguments(rigged_bert):
    with running_app(SpaceConfig(default_model=str(rigged_bert), device="cpu")) as (_demo, url):
        summary = httpx.get(url + "monitoring/summary", timeout=30)
        assert summary.status_code in (403, 404) and "functions" not in summary.text
        answer = _sse_call(url, "compare", [])
        assert answer["event"] == "error"
        message = answer["data"]["error"]
        assert message and "text, strategies, model, min_score" in message and "sent 0" in message
        ok = _sse_call(url, "predict", [RIGGED_TEXT, "simple", None])  # optional values left out: defaults
        assert ok["event"] == "complete" and ok["data"][0]
        assert _sse_call(url, "predict", [RIGGED_TEXT])["event"] == "complete"
