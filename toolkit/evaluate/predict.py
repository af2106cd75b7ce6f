"""Word-level predictions of a token-classification model: the first sub-token of each word decides.

Sentences are batched longest first; words beyond the model's maximum length get -1 (scored as
predicted `O` later), so the reported F1 covers every gold entity.
"""

from __future__ import annotations

from nercore.device import select_device
from nercore.lengths import model_max_length
from toolkit.alignment import AlignmentStats, align_batch, check_fast, encode_with_context
from nercore.errors import UserError
from toolkit.steps import with_command


def load_model(name_or_path: str, *, revision: str | None = None, device: str | None = None, backend: str = "torch"):
    """A token-classification model in float32 on the toolkit's device, or a UserError saying why not.

    `backend` "onnx" or "onnx-int8" gives the model folder's ONNX file (`nerkit export`) run by ONNX
    Runtime on the CPU, in an object the pipeline and `predict_words` call like the torch model.
    """
    from transformers import AutoConfig, AutoModelForTokenClassification

    backend = _check_backend(backend)
    try:
        config = AutoConfig.from_pretrained(name_or_path, revision=revision)
    except (OSError, ValueError) as err:
        raise UserError(f"could not load a model from {name_or_path!r}: {err}") from err
    architectures = config.architectures or []
    if architectures and not any(arch.endswith("ForTokenClassification") for arch in architectures):
        raise UserError(
            f"{name_or_path!r} is a {', '.join(architectures)} model, not a token-classification model. "
            "Evaluate a model fine-tuned for token classification (e.g. the output folder of `nerkit train`)."
        )
    if backend != "torch":
        return _load_onnx(name_or_path, config, backend, revision)
    import torch

    # float32 whatever the checkpoint's dtype: half-precision weights (like the bundled model's)
    # are upcast, since CPU half-precision inference is slow and less accurate.
    model = AutoModelForTokenClassification.from_pretrained(name_or_path, revision=revision, dtype=torch.float32)
    model.to(device or select_device(half_precision=False).kind).eval()
    return model


def _check_backend(backend: str) -> str:
    from nercore.backends import BackendError, check_backend

    try:
        return check_backend(backend, allow_auto=False)
    except BackendError as err:
        raise UserError(f"--backend: {err}") from err


def _load_onnx(name_or_path: str, config, backend: str, revision: str | None):
    from nercore.backends import BackendError, load_onnx_model, resolve_backend

    try:
        _, path = resolve_backend(name_or_path, backend, strict=True, revision=revision)
        return load_onnx_model(path, config, backend)
    except BackendError as err:
        raise UserError(with_command(f"--backend {backend}: {err}", err, name_or_path), step=err.step) from err


def predict_words(
    model,
    tokenizer,
    sentences: list[list[str]],
    *,
    batch_size: int = 64,
    max_length: int | None = None,
    progress: bool = True,
    documents: list | None = None,
    context_tokens: int = 0,
) -> tuple[list[list[int]], AlignmentStats]:
    """Model label ids per word (first sub-token); words the model never saw get -1.

    With `context_tokens` and `documents` (each sentence's document, in order), every sentence is
    read inside up to that many sub-tokens of its document per side (nercore.context); only its
    own words are predicted.
    """
    from tqdm.auto import tqdm

    encoding, stats = encode_words(model, tokenizer, sentences, documents=documents, context_tokens=context_tokens,
                                   max_length=max_length)
    order = sorted(range(len(sentences)), key=lambda i: len(encoding["input_ids"][i]), reverse=True)
    predictions: list[list[int]] = [[] for _ in sentences]
    keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoding]
    for start in tqdm(range(0, len(order), batch_size), desc="predict", unit="batch", disable=not progress):
        index = order[start : start + batch_size]
        best = _argmax(model, tokenizer, {k: [encoding[k][i] for i in index] for k in keys})
        for row, sentence_index in enumerate(index):
            words = [-1] * len(sentences[sentence_index])
            previous = None
            for position, word_id in enumerate(encoding["word_ids"][sentence_index]):
                if word_id is not None and word_id != previous:
                    words[word_id] = best[row][position]
                previous = word_id
            predictions[sentence_index] = words
    return predictions, stats


def encode_words(model, tokenizer, sentences: list[list[str]], *, documents: list | None = None,
                 context_tokens: int = 0, max_length: int | None = None):
    """(encoding with `word_ids`, AlignmentStats): the sentences as the model reads them, alone or inside
    their documents (`nerkit evaluate` and `nerkit audit` read the same way)."""
    check_fast(tokenizer, getattr(tokenizer, "name_or_path", "tokenizer"))
    max_length = model_max_length(tokenizer, max_length, getattr(model, "config", None))
    if context_tokens and documents is not None:
        return encode_with_context(tokenizer, sentences, documents, context_tokens=context_tokens,
                                   max_length=max_length)
    return align_batch(tokenizer, sentences, None, max_length=max_length, with_word_ids=True)


def _argmax(model, tokenizer, batch: dict) -> list[list[int]]:
    import torch

    padded = tokenizer.pad(batch, return_tensors="pt")
    device = model.device  # torch models and nercore.backends.OrtModel both say where inputs go
    with torch.inference_mode():
        logits = model(**{k: v.to(device) for k, v in padded.items()}).logits
    return logits.argmax(-1).cpu().tolist()
