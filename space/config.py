"""Space settings, read once from the environment so a Space is configured without code changes.

| variable                  | default                       | meaning                                              |
|---------------------------|-------------------------------|------------------------------------------------------|
| `NER_MODEL`               | `./model` if it has a config  | default model: Hub id or local folder                |
| `NER_MODELS`              | entries of `NER_MODELS_FILE`  | more choices, comma- or newline-separated            |
| `NER_MODELS_FILE`         | `space/models.txt`            | one Hub id or path per line, `#` comments            |
| `NER_ALLOW_CUSTOM_MODEL`  | `1`                           | the model box also accepts a typed Hub id            |
| `NER_ALLOW_LOCAL_PATHS`   | `0`                           | typed values may also be local folders               |
| `NER_MAX_CHARS`           | `20000`                       | longest text accepted, in characters                 |
| `NER_STRIDE`              | tokenizer-based               | overlap (tokens) between windows of long texts       |
| `NER_DEVICE`              | `auto`                        | `auto`, `cpu`, `cuda` or `mps`                       |
| `NER_HALF`                | `1`                           | float16 on CUDA (`0`: float32)                       |
| `NER_QUEUE_SIZE`          | `64`                          | requests waiting in the queue before refusing more   |
| `NER_CONCURRENCY`         | `1`                           | inference calls running at once                      |
| `NER_MODEL_CACHE`         | `4`                           | typed (custom) models kept loaded, least recent out  |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODELS_FILE = Path(__file__).resolve().parent / "models.txt"
DEFAULT_MAX_CHARS = 20_000

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A setting has a value the Space cannot use; the message names the variable and the fix."""


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r}: expected 1/0 (or true/false); unset it to use the default ({int(default)}).")


def _positive_int(environ: Mapping[str, str], name: str, default: int | None) -> int | None:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"{name}={raw!r}: expected a whole number >= 1; unset it to use the default ({default}).")
    return value


def _split_models(raw: str) -> list[str]:
    items = []
    for line in raw.replace(",", "\n").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            items.append(line)
    return items


def read_models_file(path: Path) -> list[str]:
    """Model ids/paths listed in `path`, one a line; a missing file is an empty list."""
    path = Path(path)
    if not path.is_file():
        return []
    return _split_models(path.read_text(encoding="utf-8"))


def find_default_model(environ: Mapping[str, str], repo_root: Path = REPO_ROOT) -> str | None:
    """`NER_MODEL`, else the bundled `./model` folder when it holds a config.json, else None."""
    explicit = (environ.get("NER_MODEL") or "").strip()
    if explicit:
        return explicit
    bundled = repo_root / "model"
    if (bundled / "config.json").is_file():
        return str(bundled)
    return None


@dataclass(frozen=True)
class SpaceConfig:
    default_model: str | None = None
    models: tuple[str, ...] = ()
    allow_custom_model: bool = True
    allow_local_paths: bool = False
    max_chars: int = DEFAULT_MAX_CHARS
    stride: int | None = None
    device: str = "auto"
    half_precision: bool = True
    queue_size: int = 64
    concurrency: int = 1
    model_cache: int = 4
    window_batch_size: int = 8

    def __post_init__(self):
        if self.device not in ("auto", "cpu", "cuda", "mps"):
            raise ConfigError(f"NER_DEVICE={self.device!r}: expected auto, cpu, cuda or mps.")
        for name in ("max_chars", "queue_size", "concurrency", "model_cache", "window_batch_size"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name}={getattr(self, name)!r}: expected a whole number >= 1.")
        if self.stride is not None and self.stride < 1:
            raise ConfigError(f"stride={self.stride!r}: expected a whole number >= 1, or None for the default.")

    @property
    def choices(self) -> list[str]:
        """Models offered in the selector: the default first, then the configured list, no repeats."""
        seen: list[str] = []
        for item in ([self.default_model] if self.default_model else []) + list(self.models):
            if item not in seen:
                seen.append(item)
        return seen

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, repo_root: Path = REPO_ROOT) -> "SpaceConfig":
        environ = os.environ if environ is None else environ
        raw_models = environ.get("NER_MODELS")
        if raw_models is not None and raw_models.strip():
            models = _split_models(raw_models)
        else:
            models_file = environ.get("NER_MODELS_FILE")
            path = Path(models_file) if models_file else DEFAULT_MODELS_FILE
            if models_file and not path.is_file():
                raise ConfigError(f"NER_MODELS_FILE={models_file!r}: no such file; create it (one model id a line) or unset it.")
            models = read_models_file(path)
        device = (environ.get("NER_DEVICE") or "auto").strip().lower()
        return cls(
            default_model=find_default_model(environ, repo_root),
            models=tuple(models),
            allow_custom_model=_flag(environ, "NER_ALLOW_CUSTOM_MODEL", True),
            allow_local_paths=_flag(environ, "NER_ALLOW_LOCAL_PATHS", False),
            max_chars=_positive_int(environ, "NER_MAX_CHARS", DEFAULT_MAX_CHARS),
            stride=_positive_int(environ, "NER_STRIDE", None),
            device=device,
            half_precision=_flag(environ, "NER_HALF", True),
            queue_size=_positive_int(environ, "NER_QUEUE_SIZE", 64),
            concurrency=_positive_int(environ, "NER_CONCURRENCY", 1),
            model_cache=_positive_int(environ, "NER_MODEL_CACHE", 4),
        )
