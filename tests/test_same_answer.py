"""The same text gets the same answer: alone, or with any other texts sharing its forward pass.

The int8 ONNX file is dynamically quantized (activation scales over the whole input tensor), so a
text batched with others used to get other scores, spans and labels: a Space visitor's answer
depended on who else was calling, and `nerkit predict`/`evaluate` on the batch size.
`nercore.backends.OrtModel` now runs int8 rows alone; these tests pin that on every path:
the real server (`python app.py`), the engine (`nerkit predict`), and `nerkit evaluate`.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from app_process import served_app
from conftest import require

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

@pytest.mark.parametrize("backend", ["onnx-int8", "torch"])
def test_the_server_answers_a_text_the_same_alone_and_among_others(exported, backend):
    """One text alone (twice: the first call used to share a pass with the app's own warm-up), then
    the same text sent again and again while other visitors' texts are in flight, over `/compare`."""
    from gradio_client import Client

    with served_app(NER_MODEL=str(exported), NER_BACKEND=backend, NER_BATCH_WAIT_MS="50", NER_BATCH_SIZE="16",
                    NER_BATCH_TOKENS="4096") as url:
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
