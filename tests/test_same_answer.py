"""The same text gets the same answer: alone, or with any other texts sharing its forward pass.

The int8 ONNX file is dynamically quantized (activation scales over the whole input tensor), so a
text batched with others used to get other scores, spans and labels: a Space visitor's answer
depended on who else was calling, and `nerkit predict`/`evaluate` on the batch size.
`nercore.backends.OrtModel` now runs int8 rows alone; these tests pin that on every path:
the real server (`python app.py`), the engine (`nerkit predict`), and `nerkit evaluate`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import REPO_ROOT, require

require("onnxruntime")
require("onnx")

from tiny_models import build_tiny_model  # noqa: E402

TINY_CONLL = Path(__file__).resolve().parent / "data" / "tiny_conll"
TEXT = "John Smith toured the United Nations offices in New York City on Monday, a spokesman told Reuters."
OTHERS = [
    "Barack Obama met the German minister in Paris.",
    "Brussels asks Berlin to drop its plan for a new tax on Welsh cheese. " * 12,  # several windows on the 128-token tiny model
    "Mara Lindqvist",
    "A bank in London and a firm in Osaka signed the deal with partners from Chile " * 3,
    "Obama",
]
FLOAT_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """A tiny random BERT with both ONNX files (fp32 and int8)."""
    from toolkit.export import export_onnx

    folder = build_tiny_model(tmp_path_factory.mktemp("same-answer") / "model", kind="bert")
    export_onnx(folder)
    return folder


def assert_same(alone: dict, other: dict, backend: str, where: str) -> None:
    """Identical entities on int8; on float backends the same spans and labels, scores within 1e-4."""
    if backend == "onnx-int8":
        assert other == alone, f"{where}: int8 answer changed with other texts in the pass"
        return
    assert set(other) == set(alone)
    for strategy in alone:
        assert len(other[strategy]) == len(alone[strategy]), (where, strategy)
        for a, b in zip(alone[strategy], other[strategy]):
            assert {k: v for k, v in a.items() if k != "score"} == {k: v for k, v in b.items() if k != "score"}, (where, strategy)
            assert abs(a["score"] - b["score"]) <= FLOAT_TOLERANCE, (where, strategy, a, b)


# -- in process: the engine (nerkit predict, the Space's ZeroGPU path) and nerkit evaluate -----------------

def _pipeline(folder: Path, backend: str):
    from nercore.device import select_device
    from space.model import LoadPolicy, load_pipeline

    pipe = load_pipeline(str(folder), select_device("cpu"), LoadPolicy(backend=backend))
    assert pipe.nerkit_backend == backend
    return pipe


@pytest.mark.parametrize("backend", ["onnx-int8", "onnx", "torch"])
def test_the_engine_answers_a_text_the_same_at_any_batch_size(exported, backend):
    from nercore.engine import predict_all_batch

    pipe = _pipeline(exported, backend)
    texts = [TEXT, *OTHERS]
    alone = [predict_all_batch(pipe, [t], batch_size=1)[0] for t in texts]
    for batch_size in (2, 3, 32):
        for i, answer in enumerate(predict_all_batch(pipe, texts, batch_size=batch_size)):
            assert_same(alone[i], answer, backend, f"text {i}, batch size {batch_size}")


def test_nerkit_predict_on_int8_does_not_depend_on_batch_size(exported, tmp_path):
    from toolkit.cli import main

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join([TEXT, *OTHERS]) + "\n")
    outputs = []
    for batch_size in ("1", "32"):
        out = tmp_path / f"out-{batch_size}.jsonl"
        assert main(["predict", "--model", str(exported), "--input", str(corpus), "--output", str(out), "--strategies",
                     "all", "--backend", "onnx-int8", "--batch-size", batch_size, "--no-progress"]) == 0
        outputs.append([json.loads(line)["entities"] for line in out.read_text().splitlines()])
    assert outputs[0] == outputs[1]


def test_nerkit_evaluate_on_int8_does_not_depend_on_batch_size(exported, tmp_path):
    from toolkit.cli import main

    predictions = []
    for batch_size in ("1", "7", "64"):
        out = tmp_path / f"eval-{batch_size}"
        assert main(["evaluate", "--model", str(exported), "--dataset", str(TINY_CONLL), "--split", "test",
                     "--bootstrap", "0", "--strategies", "--backend", "onnx-int8", "--batch-size", batch_size,
                     "--output-dir", str(out)]) == 0
        results = json.loads((out / "eval_results.onnx-int8.json").read_text())
        predictions.append(((out / "predictions_test.onnx-int8.conll").read_text(),
                            json.dumps({k: results[k] for k in ("overall", "modes", "strategies", "error_analysis")},
                                       sort_keys=True)))
    assert predictions[0] == predictions[1] == predictions[2]


# -- through the real server: `python app.py`, one text alone, then with others in flight --------------

def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(folder: Path, backend: str):
    for attempt in range(3):  # the port may be taken between _free_port() and the app binding it
        port = _free_port()
        env = dict(os.environ, NER_MODEL=str(folder), NER_BACKEND=backend, GRADIO_SERVER_NAME="127.0.0.1",
                   GRADIO_SERVER_PORT=str(port), NER_DEVICE="cpu", GRADIO_ANALYTICS_ENABLED="False",
                   NER_BATCH_WAIT_MS="50", NER_BATCH_SIZE="16", NER_BATCH_TOKENS="4096", PYTHONUNBUFFERED="1")
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        url, deadline = f"http://127.0.0.1:{port}/", time.time() + 120
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).read()
                return proc, url
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    break
                time.sleep(0.5)
        output = proc.stdout.read() if proc.poll() is not None else ""
        proc.kill()
        proc.wait(timeout=20)
        if "empty port" not in output or attempt == 2:
            raise AssertionError(f"app.py did not serve: {output}")
    raise AssertionError("unreachable")


@pytest.mark.parametrize("backend", ["onnx-int8", "torch"])
def test_the_server_answers_a_text_the_same_alone_and_among_others(exported, backend):
    """One text alone (twice: the first call used to share a pass with the app's own warm-up), then
    the same text sent again and again while other visitors' texts are in flight, over `/compare`."""
    from gradio_client import Client

    proc, url = _serve(exported, backend)
    try:
        client = Client(url, verbose=False)
        first = client.predict(text=TEXT, api_name="/compare")
        assert first["info"]["backend"] == backend
        alone = client.predict(text=TEXT, api_name="/compare")["entities"]
        assert_same(alone, first["entities"], backend, "first call vs second call alone")
        clients = [Client(url, verbose=False) for _ in range(len(OTHERS) + 1)]
        for round_ in range(3):
            with ThreadPoolExecutor(len(clients)) as pool:
                futures = [pool.submit(c.predict, text=t, api_name="/compare")
                           for c, t in zip(clients, [*OTHERS[: round_ + 2], TEXT, *OTHERS[round_ + 2:]])]
                answers = [f.result(timeout=120) for f in futures]
            mine = answers[round_ + 2]
            assert mine["info"]["backend"] == backend
            assert_same(alone, mine["entities"], backend, f"round {round_} with {len(OTHERS)} other texts")
    finally:
        proc.kill()
        proc.wait(timeout=20)
