"""The ONNX Runtime backends' runtime: an ONNX file dressed up as the torch model.

Why: on a free 2-vCPU Space the forward pass is ~85% of a request, and ONNX Runtime runs it in
about 0.8x (fp32) or 0.55x (int8 dynamic quantization) of torch's time. The pipeline and
`nercore.windows.forward_windows` only need `model(**inputs).logits` plus `.config`/`.device`/`.dtype`,
so `OrtModel` offers exactly that and every strategy, window and score downstream stays the same code.

The ONNX files follow the layout transformers.js and the Hub expect (`nerkit export` writes them):
`onnx/model.onnx` (fp32) and `onnx/model_quantized.onnx` (int8); their rows are in
`nercore.backends.table`, which loads them through `load_onnx_model`.

ONNX Runtime's intra-op threads spin-wait by default; that steals the CPU from everything else in
the process (a torch forward beside it went from 26 to 91 ms), so spinning is always off here.

The int8 file is dynamically quantized: each MatMul's activation scale is computed over its whole
input tensor, so a text's logits would depend on the other texts and the padding in its pass (a
visitor's answer on whoever else was calling; `nerkit evaluate` on its batch size). So int8 runs
every row of a batch alone, without its padding (its table row's `rows_alone`): the same window always
gets the same logits, bit for bit. It costs nothing measurable on CPU (600 CoNLL test sentences
in batches of 32 vs one by one: 1.96 vs 2.02 s), where batching saves little besides padding.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from nercore.errors import BackendError

ORT_HINT = 'pip install "onnxruntime>=1.17"  (or: pip install -e ".[onnx]")'


def onnxruntime_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def session_options(threads: int | None = None):
    """ONNX Runtime settings: spinning off, `threads` intra-op threads (default: torch's thread count)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = int(threads or _torch_threads())
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


def _torch_threads() -> int:
    import torch

    return max(1, torch.get_num_threads())


class OrtModel:
    """An ONNX Runtime session that the token-classification pipeline can call like the torch model."""

    def __init__(self, session: Any, config: Any, backend: str, path: Path, *, rows_alone: bool = False):
        import torch

        self.session = session
        self.config = config
        self.backend = backend
        self.path = Path(path)
        self.device = torch.device("cpu")
        self.dtype = torch.float32
        self.input_names = [i.name for i in session.get_inputs()]
        self.training = False
        self.rows_alone = bool(rows_alone)  # the table row's: run each row alone, unpadded

    def __call__(self, **inputs):
        import numpy as np
        import torch
        from transformers.modeling_outputs import TokenClassifierOutput

        ids = inputs["input_ids"]
        feed = {}
        for name in self.input_names:
            value = inputs.get(name)
            if value is None:  # e.g. token_type_ids the tokenizer did not return: all zeros, as torch does
                feed[name] = np.zeros(tuple(ids.shape), dtype=np.int64)
            else:
                feed[name] = value.detach().cpu().numpy().astype(np.int64, copy=False)
        mask = inputs.get("attention_mask")
        if self.rows_alone:
            logits = self._rows_alone(feed, None if mask is None else mask.detach().cpu().numpy())
        else:
            (logits,) = self.session.run(["logits"], feed)
        return TokenClassifierOutput(logits=torch.from_numpy(logits))

    def _rows_alone(self, feed: dict, mask: Any):
        """Logits of a batch computed one row at a time on its real tokens only (attention mask 1),
        exactly as if each row had been sent alone; padding positions get 0."""
        import numpy as np

        rows, width = feed["input_ids"].shape[:2]
        out = None
        for row in range(rows):
            keep = np.arange(width) if mask is None else np.flatnonzero(mask[row])
            if keep.size == 0:
                continue
            if keep[-1] == keep.size - 1:  # right padding (or none): a slice, no copy
                single = {name: value[row:row + 1, :keep.size] for name, value in feed.items()}
            else:
                single = {name: value[row:row + 1, keep] for name, value in feed.items()}
            (logits,) = self.session.run(["logits"], single)
            if out is None:
                out = np.zeros((rows, width, logits.shape[-1]), dtype=logits.dtype)
            out[row, keep] = logits[0]
        if out is None:  # every row empty: what one run over the padding returns
            (out,) = self.session.run(["logits"], feed)
        return out

    forward = __call__

    def eval(self):
        return self

    def to(self, *args, **kwargs):
        return self  # always runs on the CPU through ONNX Runtime

    def can_generate(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"OrtModel({self.backend}, {self.path}{', rows alone' if self.rows_alone else ''})"


def load_onnx_model(path: str | Path, config: Any, backend: str, *, threads: int | None = None,
                    rows_alone: bool = False) -> OrtModel:
    """An `OrtModel` for one ONNX file; BackendError when onnxruntime is missing or the file unreadable."""
    if not onnxruntime_available():
        raise BackendError(f"the {backend!r} backend needs ONNX Runtime, which is not installed: {ORT_HINT}.")
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(path), sess_options=session_options(threads),
                                       providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise BackendError(f"could not load {path} with ONNX Runtime ({type(exc).__name__}: {exc}); "
                           "export the ONNX model again.", step="export") from exc
    if "logits" not in [o.name for o in session.get_outputs()]:
        raise BackendError(f"{path} has no 'logits' output; export the ONNX model again.", step="export")
    # Named after the torch class it stands in for, so the pipeline's model-type check stays quiet.
    architecture = next(iter(getattr(config, "architectures", None) or []), None) or "OrtModel"
    return type(str(architecture), (OrtModel,), {})(session, config, backend, Path(path), rows_alone=rows_alone)

