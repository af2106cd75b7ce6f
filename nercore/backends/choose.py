"""Which backend runs a model: the user's choice checked against the table, "auto" resolved, the
pipeline's model swapped for the backend's runtime.

Core messages stay neutral ("export the model first"): the Space shows them to visitors; the error's
`step` lets the toolkit add its command.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from nercore.backends.table import AUTO, TABLE, TORCH, Backend, auto_order, choices, names
from nercore.errors import BackendError

log = logging.getLogger(__name__)


def check_backend(name: str, *, allow_auto: bool = True) -> str:
    """`name` normalised, or a BackendError listing the valid ones."""
    value = (name or "").strip().lower()
    valid = choices() if allow_auto else names()
    if value not in valid:
        raise BackendError(f"unknown backend {name!r}: expected one of {', '.join(valid)}.")
    return value


def backend_file(model_source: str, row: Backend, *, revision: str | None = None) -> Path | None:
    """The row's file for a local folder or a Hub model (downloaded once), or None when absent."""
    relative = row.files[0]
    local = Path(model_source).expanduser()
    if local.is_dir():
        path = local / relative
        return path if path.is_file() else None
    try:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(model_source, relative, revision=revision))
    except Exception as exc:  # not on the Hub, offline, private: torch it is
        log.info("%s: no %s (%s)", model_source, relative, type(exc).__name__)
        return None


def resolve_backend(model_source: str, preference: str, *, device_kind: str = "cpu", strict: bool = False,
                    revision: str | None = None) -> tuple[str, Path | None]:
    """(backend to use, its file or None for torch) for `preference` on `device_kind`.

    "auto" tries the table's `auto_order` only on the CPU, each only when its runtime is installed
    and its file present; otherwise torch. An explicit choice that cannot be met raises BackendError
    when `strict`, else falls back to torch with a warning.
    """
    preference = check_backend(preference)
    if preference == TORCH or (preference == AUTO and device_kind != "cpu"):
        return TORCH, None
    candidates = auto_order() if preference == AUTO else (TABLE[preference],)
    if preference != AUTO and not candidates[0].exported:
        return preference, None
    runnable = [row for row in candidates if row.available()]
    if not runnable:
        hints = "; ".join(dict.fromkeys(f"{row.module} is not installed: {row.install_hint}" for row in candidates))
        return _cannot(preference, strict, hints or "no backend besides torch is listed")
    for row in runnable:
        path = backend_file(model_source, row, revision=revision)
        if path is not None:
            return row.name, path
    wanted = " or ".join(row.files[0] for row in runnable)
    family = " or ".join(dict.fromkeys(row.family for row in runnable))
    steps = {row.made_by for row in runnable}
    article = "an" if family[:1].upper() in "AEIOU" else "a"
    return _cannot(preference, strict, f"{model_source} has no {wanted}; export {article} {family} model first",
                   step=steps.pop() if len(steps) == 1 else None)


def _cannot(preference: str, strict: bool, reason: str, step: str | None = None) -> tuple[str, None]:
    if strict:
        raise BackendError(f"cannot use the {preference!r} backend: {reason}.", step=step)
    if preference != AUTO:
        log.warning("backend %r unavailable (%s); using torch", preference, reason)
    return TORCH, None


def load_backend(path: Path, config: Any, name: str, *, threads: int | None = None) -> Any:
    """The row's runtime on `path`, called like the torch model (its `load`)."""
    row = TABLE[name]
    return row.load(path, config, row, threads=threads)


def attach_backend(pipe: Any, model_source: str, preference: str = AUTO, *, threads: int | None = None,
                   strict: bool = False) -> str:
    """Swap `pipe.model` for the chosen backend's runtime when `preference` allows; returns the backend
    used (a table name), also stored as `pipe.nerkit_backend`."""
    device = getattr(pipe, "device", None)
    kind = getattr(device, "type", str(device or "cpu"))
    backend, path = resolve_backend(model_source, preference, device_kind=kind, strict=strict)
    if path is not None:
        try:
            pipe.model = load_backend(path, pipe.model.config, backend, threads=threads)
        except BackendError:
            if strict:
                raise
            log.warning("could not load %s; using torch", path, exc_info=True)
            backend = TORCH
    pipe.nerkit_backend = backend
    log.info("%s: backend %s", model_source, backend)
    return backend
