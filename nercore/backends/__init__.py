"""Where the forward pass runs: torch, or a backend of the table (`nercore.backends.table`) dressed up
as the torch model. Gradio-free and cache-free; the Space and the toolkit both read it."""

from nercore.errors import BackendError
from nercore.backends.choose import attach_backend, backend_file, check_backend, load_backend, resolve_backend
from nercore.backends.onnx import ORT_HINT, OrtModel, load_onnx_model, session_options
from nercore.backends.table import AUTO, ONNX_DIR, ONNX_FP32, ONNX_INT8, TABLE, TORCH, Backend

__all__ = [
    "AUTO", "Backend", "BackendError", "ONNX_DIR", "ONNX_FP32", "ONNX_INT8", "ORT_HINT", "OrtModel", "TABLE", "TORCH",
    "attach_backend", "backend_file", "check_backend", "load_backend", "load_onnx_model",
    "resolve_backend", "session_options",
]
