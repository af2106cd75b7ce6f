"""The inference backends as one table: a row per backend says everything the rest of the code needs.

Why a table: a backend touches `--backend` on evaluate and predict, `NER_BACKEND` in the Space, the
files a model folder holds and the Hub push sends, what a retrained folder must drop, the card's
backend section and the Space's requirements. Each of those reads the rows here, so a new backend is
a row (plus its runtime module and the step that writes its files), not an edit in every consumer.

Rows are looked up when used, never copied into module constants elsewhere, so a row added at run
time (tests/test_backend_table.py adds a fake one) reaches every consumer.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from nercore.backends.onnx import ORT_HINT, load_onnx_model

ONNX_DIR = "onnx"
ONNX_FP32 = "onnx/model.onnx"
ONNX_INT8 = "onnx/model_quantized.onnx"
TORCH = "torch"
AUTO = "auto"


class Loader(Protocol):
    def __call__(self, path: Path, config: Any, row: "Backend", *, threads: int | None = None) -> Any: ...


@dataclass(frozen=True)
class Backend:
    """One way to run the forward pass.

    `files` are the model-folder files it runs (posix paths, first one loaded); empty for torch, which
    runs the weights themselves. `module` is the Python module its runtime needs (None: always there),
    `requirement` the pip line that installs it (the Space's requirements.txt gets it). `load` turns
    the file into an object the pipeline calls like the torch model. `made_by` names the toolkit step
    that writes the files (errors and the card say "export ..."). `auto_rank` orders the rows "auto"
    tries on the CPU (lowest first; None: only when asked for). `rows_alone` runs each row of a batch
    alone, unpadded: needed when the backend's numbers depend on the whole batch (dynamic int8).
    """

    name: str
    card_name: str  # the card's row label, naming the file
    family: str  # "the {family} files written by ...": the card's and the docs' word for the files
    files: tuple[str, ...] = ()
    module: str | None = None
    requirement: str | None = None
    install_hint: str = ""
    load: Loader | None = None
    made_by: str | None = None
    auto_rank: int | None = None
    rows_alone: bool = False

    def __post_init__(self):
        if not self.name or self.name != self.name.strip().lower() or self.name == AUTO:
            raise ValueError(f"backend name {self.name!r}: expected a lower-case name other than {AUTO!r}")
        if bool(self.files) != (self.load is not None):
            raise ValueError(f"backend {self.name!r}: a row with files needs a loader, and only such a row")

    @property
    def exported(self) -> bool:
        """True when the backend runs its own files (written by `made_by`), not the torch weights."""
        return bool(self.files)

    @property
    def folders(self) -> tuple[str, ...]:
        """The top-level folders of its files (e.g. "onnx"), or the files themselves at the top level."""
        return tuple(dict.fromkeys(PurePosixPath(f).parts[0] for f in self.files))

    def available(self) -> bool:
        """Its runtime can be imported here (checked without importing it)."""
        return self.module is None or importlib.util.find_spec(self.module) is not None


def _load_onnx(path: Path, config: Any, row: Backend, *, threads: int | None = None) -> Any:
    return load_onnx_model(path, config, row.name, threads=threads, rows_alone=row.rows_alone)


TABLE: dict[str, Backend] = {row.name: row for row in (
    Backend(TORCH, card_name="PyTorch (`model.safetensors`)", family="PyTorch"),
    Backend("onnx", card_name=f"ONNX Runtime fp32 (`{ONNX_FP32}`)", family="ONNX", files=(ONNX_FP32,),
            module="onnxruntime", requirement="onnxruntime>=1.17", install_hint=ORT_HINT, load=_load_onnx,
            made_by="export", auto_rank=2),
    # Dynamic quantization sets activation scales over the whole input tensor: rows alone.
    Backend("onnx-int8", card_name=f"ONNX Runtime int8, dynamic quantization (`{ONNX_INT8}`)", family="ONNX",
            files=(ONNX_INT8,), module="onnxruntime", requirement="onnxruntime>=1.17", install_hint=ORT_HINT,
            load=_load_onnx, made_by="export", auto_rank=1, rows_alone=True),
)}


def backend(name: str) -> Backend:
    """The row called `name` (KeyError when there is none; `check_backend` gives the user's error)."""
    return TABLE[name]


def names() -> tuple[str, ...]:
    """Every backend, torch first: the choices of `--backend`."""
    return tuple(TABLE)


def choices() -> tuple[str, ...]:
    """`auto` and every backend: the choices of `NER_BACKEND`."""
    return (AUTO, *TABLE)


def exported() -> tuple[Backend, ...]:
    """The rows that run their own files: `eval_results.<name>.json`, the card's rows, the Hub's extra files."""
    return tuple(row for row in TABLE.values() if row.exported)


def auto_order() -> tuple[Backend, ...]:
    """What "auto" tries on the CPU, in order; torch when none can run."""
    return tuple(sorted((r for r in TABLE.values() if r.auto_rank is not None), key=lambda r: r.auto_rank))


def exported_folders() -> tuple[str, ...]:
    """Top-level folders or files holding exported backends' files (what `--no-onnx` leaves out, what
    describes a set of weights)."""
    return tuple(dict.fromkeys(folder for row in exported() for folder in row.folders))


def requirements() -> tuple[str, ...]:
    """The pip lines of every backend's runtime, for the Space's requirements.txt."""
    return tuple(dict.fromkeys(row.requirement for row in TABLE.values() if row.requirement))


def runtime_modules() -> tuple[str, ...]:
    """The import names of every backend's runtime."""
    return tuple(dict.fromkeys(row.module for row in TABLE.values() if row.module))

