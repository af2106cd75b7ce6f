"""`nerkit export`: a run folder's model as ONNX (fp32 + int8), checked against torch before anything is written.

Writes the layout transformers.js and the Hub expect, which the Space's ONNX Runtime backend
(`nercore.backends`) loads: `onnx/model.onnx` (fp32, dynamic batch and sequence axes) and
`onnx/model_quantized.onnx` (int8 dynamic quantization of the MatMul/Gemm weights and of the
embedding tables (Gather): the embeddings are a third of a small encoder's bytes).

Why `torch.onnx.export(dynamo=False)`: optimum-onnx pins transformers < 4.58, and the TorchScript
exporter needs no extra packages. The trace uses a padded batch of two, so the attention-mask path
that padding needs is the one recorded, and eager attention: the SDPA path exports as MatMul +
Where/IsNaN guards that cost 15% of a 512-token forward pass and that no fusion recognises.

Then ONNX Runtime's transformer optimizer fuses Attention, SkipLayerNormalization and BiasGelu
(`optimize=True`, the default; ONNX Runtime contrib ops, which onnxruntime-web/-node run too;
`--no-optimize` keeps standard ONNX ops only). The embedding fusion is left off so the embedding
tables stay Gathers that int8 quantization shrinks. On the bundled MiniLM at 512 tokens, one thread:
int8 0.66x -> 0.52x of torch's forward time, fp32 1.09x -> 0.94x.

Both files are built in a temporary folder and checked on sample texts first; the fp32 file must
match torch's logits within `FP32_TOLERANCE`, and each file, run as nerkit runs it
(`nercore.backends.OrtModel`), must give a text the same logits alone and in a padded batch with
the other samples (fp32 within `FP32_TOLERANCE`, int8 bit for bit: its dynamic quantization is
why OrtModel runs int8 rows one at a time); otherwise nothing is written (an old onnx/ folder stays
as it was). An export never deletes a file it did not write: `--no-quantize` keeps an earlier
`model_quantized.onnx` (and its `eval_results.onnx-int8.json`) unless `clean=True` (`--clean`).
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from nercore.backends import ONNX_FP32, ONNX_INT8, ORT_HINT, BackendError, load_backend
from nercore.errors import UserError
from toolkit.model_loading import load_model
from toolkit.runtime import write_files_atomically

logger = logging.getLogger("toolkit")

FP32_TOLERANCE = 1e-4
OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
TRACE_TEXTS = ["John Smith visited the United Nations in New York City.", "Paris"]  # padded batch of two
SAMPLE_TEXTS = [
    "The Lisbon council asked Siemens Energy to rebuild the Tagus bridge by May.",
    "Indonesian President Joko Widodo met Barack Obama in Jakarta on Monday.",
    "Zürich and São Paulo are cities; Dvořák was Czech.",
    "U.S.-based Apple Inc. CEO Tim Cook's iPhone 15 Pro Max costs $999.",
    "The European Space Agency said on Monday that its new Mars orbiter would launch from Kourou in French "
    "Guiana next spring. Agency director Josef Aschbacher told reporters in Paris that the mission had passed "
    "its final review, and NASA administrator Bill Nelson welcomed the news from Washington.",
    "a",
]


@dataclass(frozen=True)
class ExportCheck:
    """How the exported files compare with torch on the sample texts."""

    fp32_max_abs_diff: float
    int8_max_abs_diff: float
    int8_argmax_agreement: float | None  # share of real (non-padding) tokens with the same best label
    num_tokens: int
    fused: dict[str, int] = field(default_factory=dict)  # fused operator -> count (empty: not optimized)
    # max |logit of a text alone - the same text in a padded batch of all samples|, as OrtModel runs the file
    fp32_batch_diff: float = 0.0
    int8_batch_diff: float | None = None

    def summary(self) -> str:
        fused = ", ".join(f"{n} {op}" for op, n in self.fused.items()) or "none"
        text = (f"fused ops: {fused}; fp32: max |logit - torch| = {self.fp32_max_abs_diff:.2e} (limit {FP32_TOLERANCE:.0e}), "
                f"alone vs in a batch {self.fp32_batch_diff:.1e}")
        if self.int8_argmax_agreement is not None:
            same = "identical" if self.int8_batch_diff == 0 else f"differ by {self.int8_batch_diff:.2e}"
            text += (f"; int8: max |logit - torch| = {self.int8_max_abs_diff:.3f}, same label on "
                     f"{self.int8_argmax_agreement:.1%} of {self.num_tokens} tokens, alone vs in a batch {same}")
        return text

    def batch_problem(self) -> str | None:
        """Why a text's answer would depend on its batch companions, or None when it does not."""
        if self.fp32_batch_diff > FP32_TOLERANCE:
            return f"{ONNX_FP32} gives a text logits up to {self.fp32_batch_diff:.2e} apart alone and in a padded batch"
        if self.int8_batch_diff:
            return f"{ONNX_INT8} gives a text logits up to {self.int8_batch_diff:.2e} apart alone and in a padded batch"
        return None


def export_onnx(run_dir: str | Path, *, opset: int = OPSET, quantize: bool = True, keep_fp32: bool = True,
                optimize: bool = True, clean: bool = False) -> ExportCheck:
    """Write `run_dir/onnx/model.onnx` (+ `model_quantized.onnx` when `quantize`), checked against torch.

    `keep_fp32=False` writes only the int8 file (the fp32 export is still made and checked): for a
    folder that must stay small, such as the Space's bundled model. `optimize=False` skips the fusions.
    `clean=True` also removes the ONNX file this export did not write (an earlier export's) and that
    backend's evaluation files; by default they stay.
    """
    if not (quantize or keep_fp32):
        raise UserError("--no-quantize with --int8-only would write nothing: drop one of them.")
    run_dir = Path(run_dir)
    _check_requirements(run_dir)
    model = load_model(str(run_dir), device="cpu")
    tokenizer = _tokenizer(run_dir)
    with tempfile.TemporaryDirectory(prefix=".onnx-export-", dir=run_dir) as tmp:
        fp32, int8 = Path(tmp) / "model.onnx", Path(tmp) / "model_quantized.onnx"
        _export(model, tokenizer, fp32, opset)
        fused = _optimize(fp32, model.config) if optimize else {}
        if quantize:
            _quantize(fp32, int8)
        check = compare_with_torch(model, tokenizer, fp32, int8 if quantize else None, fused=fused)
        if check.fp32_max_abs_diff > FP32_TOLERANCE:
            raise UserError(
                f"the exported {ONNX_FP32} differs from the torch model by up to {check.fp32_max_abs_diff:.2e} in "
                f"its logits (limit {FP32_TOLERANCE:.0e}), so nothing was written. Expected an exact export; "
                f"try another --opset (used: {opset}) or report the model type ({model.config.model_type})."
            )
        if check.batch_problem():
            raise UserError(
                f"{check.batch_problem()}, so a text's answer would depend on the other texts in its pass; nothing "
                f"was written. Expected the same logits (fp32 within {FP32_TOLERANCE:.0e}, int8 identical); report "
                f"the model type ({model.config.model_type}) and the onnxruntime version."
            )
        files = {run_dir / ONNX_FP32: fp32.read_bytes()} if keep_fp32 else {}
        if quantize:
            files[run_dir / ONNX_INT8] = int8.read_bytes()
        write_files_atomically(files)
        if clean:
            remove_unwritten(run_dir, files)
    return check


def unwritten(run_dir: Path, written) -> list[Path]:
    """An earlier export's ONNX files that this export did not write, with their backends' evaluation
    files (`eval_results.<backend>.json` and the like): what `--clean` removes and what is kept otherwise."""
    from nercore.backends import table

    out = []
    for row in table.exported():
        if row.made_by != "export":
            continue
        path = run_dir / row.files[0]
        if path in set(written) or not path.is_file():
            continue
        out.append(path)
        out += sorted(p for p in run_dir.glob(f"*.{row.name}.*") if p.is_file())
    return out


def remove_unwritten(run_dir: Path, written) -> list[Path]:
    removed = unwritten(run_dir, written)
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def export_and_report(run_dir: str | Path, **options) -> str:
    """`nerkit export`: run `export_onnx` and return the lines to print."""
    run_dir = Path(run_dir)
    written = ([ONNX_FP32] if options.get("keep_fp32", True) else []) + ([ONNX_INT8] if options.get("quantize", True) else [])
    before = unwritten(run_dir, [run_dir / name for name in written]) if run_dir.is_dir() else []
    check = export_onnx(run_dir, **options)
    sizes = ", ".join(f"{name} ({(run_dir / name).stat().st_size / 1e6:.1f} MB)" for name in written)
    lines = [f"checked against torch on {len(SAMPLE_TEXTS)} texts: {check.summary()}", f"wrote {sizes} in {run_dir}"]
    names = ", ".join(p.relative_to(run_dir).as_posix() for p in before)
    if before and options.get("clean"):
        lines.append(f"removed (--clean): {names}")
    elif before:
        lines.append(f"kept from an earlier export (not rewritten; --clean removes them): {names}")
    return "\n".join(lines)


def _check_requirements(run_dir: Path) -> None:
    if not run_dir.is_dir() or not (run_dir / "config.json").is_file():
        raise UserError(
            f"{run_dir} is not a model folder (no config.json): pass the --output-dir of `nerkit train` "
            "or a folder written by save_pretrained."
        )
    missing = [name for name in ("onnx", "onnxruntime") if not _importable(name)]
    if missing:
        raise UserError(f"`nerkit export` needs {' and '.join(missing)}, which is not installed: "
                        f'pip install "onnx>=1.15" "onnxruntime>=1.17"  (or: pip install -e ".[onnx]").')


def _importable(name: str) -> bool:
    import importlib

    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def _tokenizer(run_dir: Path):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(run_dir))
    except (OSError, ValueError) as err:
        raise UserError(f"could not load the tokenizer of {run_dir}: {err}. The folder needs its tokenizer files.") from err


def _encode(tokenizer, texts: list[str], names: tuple[str, ...] = INPUTS) -> dict:
    encoding = tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
    return {name: encoding[name] for name in names if name in encoding}


def _logits_only(model, names: tuple[str, ...]):
    """Positional inputs in, logits out: the signature torch.onnx.export traces."""
    import torch

    class LogitsOnly(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *args):
            return self.model(**dict(zip(names, args))).logits

    return LogitsOnly().eval()


def _export(model, tokenizer, path: Path, opset: int) -> None:
    import torch

    sample = _encode(tokenizer, TRACE_TEXTS)
    names = tuple(sample)
    axes = {name: {0: "batch", 1: "sequence"} for name in (*names, "logits")}
    attention = model.config._attn_implementation
    try:
        model.set_attn_implementation("eager")  # the pattern the Attention fusion knows; same logits
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")  # TracerWarnings about Python-side shape checks
            torch.onnx.export(
                _logits_only(model, names), tuple(sample.values()), str(path), input_names=list(names),
                output_names=["logits"], dynamic_axes=axes, opset_version=opset, do_constant_folding=True, dynamo=False,
            )
    finally:
        model.set_attn_implementation(attention)
        model.eval()  # the exporter restores the wrapper's mode; keep the model in eval whatever happens


def _optimize(path: Path, config) -> dict[str, int]:
    """Fuse the encoder's attention and layer-norm patterns in place; {fused op: count}.

    Models whose graph the optimizer does not recognise keep their plain graph (counts of 0 are
    dropped); the tolerance check after it guards the result either way.
    """
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions("bert")
    options.enable_embed_layer_norm = False  # keep the embedding Gathers, which int8 quantizes
    heads, hidden = getattr(config, "num_attention_heads", 0), getattr(config, "hidden_size", 0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            optimized = optimize_model(str(path), model_type="bert", num_heads=int(heads or 0), hidden_size=int(hidden or 0),
                                       opt_level=0, optimization_options=options)
    except Exception:  # an architecture the fusion scripts trip over: the plain export is still right
        logger.warning("ONNX Runtime's optimizer failed on %s; keeping the unfused graph", path, exc_info=True)
        return {}
    optimized.save_model_to_file(str(path))
    return {op: n for op, n in optimized.get_fused_operator_statistics().items() if n}


def _quantize(fp32: Path, int8: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Per-channel scales: on the bundled model, CoNLL-2003 test F1 0.8734 against torch's 0.8757, where
    # per-tensor scales gave 0.8697 (MatMul/Gemm only, 2.5x the file size: 0.8712). "Attention" is the
    # fused op (its QKV weights become QAttention); the default tensor type lets the quantizer type
    # the contrib ops' outputs, which ONNX shape inference does not know.
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul", "Gemm", "Gather", "Attention"],
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def compare_with_torch(model, tokenizer, fp32: Path, int8: Path | None, *, fused: dict[str, int] | None = None) -> ExportCheck:
    """Logits of the ONNX files against torch's on `SAMPLE_TEXTS`, padded real tokens only, and each
    file's logits of a text alone against the same text in a padded batch of all samples."""
    import torch

    fp32_diff, int8_diff, agree, total = 0.0, 0.0, 0, 0
    try:
        sessions = {"onnx": load_backend(fp32, model.config, "onnx")}
        if int8 is not None:
            sessions["onnx-int8"] = load_backend(int8, model.config, "onnx-int8")
    except BackendError as err:
        raise UserError(f"{err} ({ORT_HINT})") from err
    for start in range(0, len(SAMPLE_TEXTS), 3):
        inputs = _encode(tokenizer, SAMPLE_TEXTS[start:start + 3])
        mask = inputs["attention_mask"].bool()
        with torch.inference_mode():
            reference = model(**inputs).logits[mask]
        fp32_diff = max(fp32_diff, float((sessions["onnx"](**inputs).logits[mask] - reference).abs().max()))
        if "onnx-int8" in sessions:
            logits = sessions["onnx-int8"](**inputs).logits[mask]
            int8_diff = max(int8_diff, float((logits - reference).abs().max()))
            agree += int((logits.argmax(-1) == reference.argmax(-1)).sum())
        total += int(mask.sum())
    batch = {name: batch_dependence(session, tokenizer) for name, session in sessions.items()}
    return ExportCheck(fp32_diff, int8_diff, agree / total if int8 is not None else None, total, dict(fused or {}),
                       fp32_batch_diff=batch["onnx"], int8_batch_diff=batch.get("onnx-int8"))


def batch_dependence(model, tokenizer, texts: list[str] = SAMPLE_TEXTS) -> float:
    """Max |logit of a text run alone - the same text's logit in one padded batch of all `texts`|
    over real tokens: 0 when a text's answer cannot depend on what shares its pass."""
    import torch

    together = _encode(tokenizer, texts)
    mask = together["attention_mask"].bool()
    with torch.inference_mode():
        batched = model(**together).logits
        worst = 0.0
        for row, text in enumerate(texts):
            alone = model(**_encode(tokenizer, [text])).logits[0]
            worst = max(worst, float((batched[row][mask[row]] - alone).abs().max()))
    return worst
