"""Issue 17, item 1: a one-line request is never stuck behind other visitors' long texts.

A real server (the app from `space.ui.build_demo`) and real HTTP calls; the model is the tiny rigged
BERT made slow on purpose (its forward pass sleeps in proportion to the padded tokens it gets), so
that four long texts hold ~2 s of model time whatever the machine. Before the scheduler, a request
that arrived after them waited for all of it: the slot ran whole texts. Now it waits for at most
the pass in flight (0.1 s of model time here). The bound is loose (half of one long text's model time,
~1.4 s; before, the wait was at least one whole long text) so a loaded CI machine cannot make it flake.
"""

from __future__ import annotations

import threading
import time

from nercore.engine import predict_all
from space import model as space_model
from space.config import SpaceConfig

from test_space_helpers import RIGGED_TEXT, rigged_bert, running_app  # noqa: F401 (fixture)

SECONDS_PER_FULL_WINDOW = 0.05  # a 512-token window "costs" 50 ms


def _slow_down(pipe) -> None:
    original = pipe.model.forward

    def slow(*args, **kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        time.sleep(SECONDS_PER_FULL_WINDOW * ids.shape[0] * ids.shape[1] / 512)
        return original(*args, **kwargs)

    pipe.model.forward = slow


def test_a_short_request_waits_for_one_pass_not_for_everyone_elses_long_texts(rigged_bert):
    from gradio_client import Client

    config = SpaceConfig(default_model=str(rigged_bert), device="cpu", max_chars=20_000, batch_wait_ms=0)
    with running_app(config) as (demo, url):
        client = Client(url, verbose=False)
        client.predict(text="warm up", strategy="first", api_name="/predict")
        pipe = space_model.loaded_pipeline(str(rigged_bert), demo.nerkit_service.device)
        long_text = " ".join([RIGGED_TEXT] * 120)[:20_000]
        windows = demo.nerkit_service.run(long_text, ["first"], None)["windows"]
        assert windows >= 8
        _slow_down(pipe)
        try:
            long_seconds = 4 * windows * SECONDS_PER_FULL_WINDOW
            finished = []

            def long_call():
                Client(url, verbose=False).predict(text=long_text, strategy="first", api_name="/predict")
                finished.append(time.perf_counter())

            threads = [threading.Thread(target=long_call) for _ in range(4)]
            for thread in threads:
                thread.start()
            time.sleep(0.3 + long_seconds / 8)  # all four are in, part of their work done
            began = time.perf_counter()
            short = client.predict(text=RIGGED_TEXT, strategy="first", api_name="/predict")
            waited = time.perf_counter() - began
            for thread in threads:
                thread.join(120)
        finally:
            del pipe.model.forward
        assert len(finished) == 4 and min(finished) > began  # the long texts were still running
        one_text = windows * SECONDS_PER_FULL_WINDOW  # what one long text holds a slot that runs whole texts
        print(f"short request waited {waited:.2f} s; one long text is {one_text:.2f} s of model time")
        assert waited < one_text / 2, f"waited {waited:.2f} s behind {long_seconds:.1f} s of long texts"
        expected = predict_all(pipe, RIGGED_TEXT, ["first"])["first"]
        assert [(e["start"], e["end"], e["entity_group"]) for e in short] == [
            (e["start"], e["end"], e["entity_group"]) for e in expected]
