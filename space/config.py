"""Space settings, read once from the environment so a Space is configured without code changes.

| variable                  | default                       | meaning                                              |
|---------------------------|-------------------------------|------------------------------------------------------|
| `NER_MODEL`               | `./model` if it has a config  | default model: Hub id or local folder                |
| `NER_MODELS`              | entries of `NER_MODELS_FILE`  | more choices, comma- or newline-separated            |
| `NER_MODELS_FILE`         | `space/models.txt`            | one Hub id or path per line, `#` comments            |
| `NER_ALLOW_ANY_MODEL`     | `0`                           | owner opt-in: visitors may also type any Hub id      |
| `NER_ALLOW_LOCAL_PATHS`   | `0`                           | typed values may also be local folders               |
| `NER_MAX_PARAMS`          | `200000000`                   | typed models declaring more parameters are refused   |
| `NER_LOAD_TIMEOUT`        | `120`                         | seconds a request waits for a model to load          |
| `NER_MAX_CHARS`           | `20000`                       | longest text accepted, in characters                 |
| `NER_STRIDE`              | tokenizer-based               | overlap (tokens) between windows of long texts       |
| `NER_DEVICE`              | `auto`                        | `auto`, `cpu`, `cuda` or `mps`                       |
| `NER_HALF`                | `1`                           | float16 on CUDA (`0`: float32)                       |
| `NER_BACKEND`             | `auto`                        | `auto`, `torch`, `onnx` or `onnx-int8` (see below)   |
| `NER_QUEUE_SIZE`          | `64`                          | requests waiting in the queue before refusing more   |
| `NER_CONCURRENCY`         | `1`                           | inference calls running at once                      |
| `NER_MODEL_CACHE`         | `4`                           | typed (custom) models kept loaded, least recent out  |
| `NER_WORKERS`             | `32`                          | requests inside the app at once (loading/waiting)    |
| `NER_BATCH_SIZE`          | `16`                          | windows of concurrent requests in one pass (1: off)  |
| `NER_BATCH_TOKENS`        | `512`                         | padded sub-tokens per forward pass (fairness budget) |
| `NER_BATCH_WAIT_MS`       | `5`                           | how long a forward pass waits for more texts         |

`NER_ALLOW_CUSTOM_MODEL` is the old name of `NER_ALLOW_ANY_MODEL` and still read.
Local folders are shown by a display name (their card's model name), never by their server path.
`NER_BACKEND=auto` runs a model through ONNX Runtime on the CPU when onnxruntime is installed and the
model has `onnx/model_quantized.onnx` (int8) or `onnx/model.onnx` (`nerkit export` writes them), else
torch; an explicit ONNX choice that a model cannot meet falls back to torch with a warning.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Mapping

from nercore.backends import table as backend_table
from nercore.engine import DEFAULT_MAX_CHARS

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODELS_FILE = Path(__file__).resolve().parent / "models.txt"

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
    """Entries of a comma- or newline-separated list; `#` starts a comment that runs to the end of its
    line (stripped before splitting on commas, so a comment's commas never make entries)."""
    items = []
    for line in raw.splitlines():
        for item in line.split("#", 1)[0].split(","):
            if item.strip():
                items.append(item.strip())
    return items


def _card_name(folder: Path) -> str | None:
    """The model-index name of a folder's model card (README.md), if it has one."""
    try:
        text = (folder / "README.md").read_text(encoding="utf-8", errors="replace")[:20_000]
    except OSError:
        return None
    match = re.search(r"^model-index:\s*\n-\s*name:\s*['\"]?([^'\"\n]+?)['\"]?\s*$", text, flags=re.M)
    return match.group(1).strip() if match else None


_LANGUAGES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "nl": "Dutch",
              "pt": "Portuguese", "pl": "Polish", "ru": "Russian", "zh": "Chinese", "ja": "Japanese", "ar": "Arabic",
              "multilingual": "multilingual"}


def card_language(folder: Path) -> str | None:
    """The language a folder's model card declares (`language: en` in its front matter), as a word
    ("English"); None without a card, a language, or with several (a multilingual model)."""
    try:
        text = (Path(folder) / "README.md").read_text(encoding="utf-8", errors="replace")[:20_000]
    except (OSError, ValueError):
        return None
    if not text.startswith("---"):
        return None
    front = text[3:].split("\n---", 1)[0]
    match = re.search(r"^language:[ \t]*(\S*)[ \t]*\n((?:[ \t]*-[ \t]*\S+[ \t]*\n)*)", front + "\n", flags=re.M)
    if not match:
        return None
    codes = [match.group(1)] if match.group(1) else re.findall(r"-[ \t]*(\S+)", match.group(2))
    codes = [c.strip("'\"[]") for c in codes if c.strip("'\"[]")]
    if len(codes) != 1:
        return None
    return _LANGUAGES.get(codes[0].lower(), codes[0])


def display_name(model: str, repo_root: Path = REPO_ROOT, bundled: bool = False) -> str:
    """What visitors see for a model: a Hub id as is; a local folder by its card's name (or its folder
    name), prefixed "bundled:" for the Space's own ./model, "local:" for others. Never a server path."""
    try:
        folder = Path(model).expanduser()
        is_dir = folder.is_dir()
    except (OSError, ValueError):
        return model
    if not is_dir:
        return model
    name = _card_name(folder) or folder.resolve().name or "model"
    bundled = bundled or folder.resolve() == (Path(repo_root) / "model").resolve()
    return f"{'bundled' if bundled else 'local'}: {name}"


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
    allow_custom_model: bool = False  # NER_ALLOW_ANY_MODEL: visitors may type any Hub id
    allow_local_paths: bool = False
    default_is_bundled: bool = False  # the default is the Space's own ./model (shown as "bundled: …")
    max_params: int = 200_000_000
    load_timeout: float = 120.0
    model_cache: int = 4
    device: str = "auto"
    half_precision: bool = True
    backend: str = "auto"  # NER_BACKEND
    queue_size: int = 64
    concurrency: int = 1
    workers: int = 32
    max_chars: int = DEFAULT_MAX_CHARS
    stride: int | None = None
    window_batch_size: int = 8
    batch_size: int = 16
    batch_tokens: int = 512
    batch_wait_ms: float = 5.0

    def __post_init__(self):
        if self.device not in ("auto", "cpu", "cuda", "mps"):
            raise ConfigError(f"NER_DEVICE={self.device!r}: expected auto, cpu, cuda or mps.")
        if self.backend not in backend_table.choices():
            raise ConfigError(f"NER_BACKEND={self.backend!r}: expected one of {', '.join(backend_table.choices())}.")
        for name in ("max_chars", "queue_size", "concurrency", "model_cache", "window_batch_size", "max_params",
                     "workers", "batch_size", "batch_tokens"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name}={getattr(self, name)!r}: expected a whole number >= 1.")
        if self.stride is not None and self.stride < 1:
            raise ConfigError(f"stride={self.stride!r}: expected a whole number >= 1, or None for the default.")
        if not self.load_timeout > 0 or self.batch_wait_ms < 0:
            raise ConfigError("load_timeout must be > 0 seconds and batch_wait_ms >= 0.")

    @cached_property
    def _display(self) -> dict[str, str]:
        """Configured model (id or path) → display name, default first, no repeats, names unique."""
        out: dict[str, str] = {}
        for item in ([self.default_model] if self.default_model else []) + list(self.models):
            if item in out:
                continue
            base = display_name(item, bundled=self.default_is_bundled and item == self.default_model)
            name, n = base, 2
            while name in out.values():
                name, n = f"{base} ({n})", n + 1
            out[item] = name
        return out

    @property
    def choices(self) -> list[str]:
        """Display names offered in the selector: the default first, then the configured list."""
        return list(self._display.values())

    @property
    def default_display(self) -> str | None:
        """The default model's display name (None without a default)."""
        return self._display.get(self.default_model) if self.default_model else None

    @cached_property
    def default_language(self) -> str | None:
        """The default model's language when it is a local folder whose card declares one ("English")."""
        try:
            folder = Path(self.default_model).expanduser() if self.default_model else None
            return card_language(folder) if folder is not None and folder.is_dir() else None
        except (OSError, ValueError):
            return None

    def display_of(self, source: str) -> str:
        """The display name of a configured id or path (a typed Hub id is its own name)."""
        return self._display.get(source, source)

    def source_of(self, choice: str) -> str | None:
        """The configured id or path behind a display name (or behind a configured Hub id itself); None if
        unlisted. A listed folder's server path counts only where typed local paths are allowed: otherwise
        accepting it would confirm a guessed path."""
        for source, name in self._display.items():
            if choice == name or (choice == source and (source == name or self.allow_local_paths)):
                return source
        return None

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
            default_is_bundled=not (environ.get("NER_MODEL") or "").strip(),
            models=tuple(models),
            allow_custom_model=_flag(environ, "NER_ALLOW_ANY_MODEL", _flag(environ, "NER_ALLOW_CUSTOM_MODEL", False)),
            allow_local_paths=_flag(environ, "NER_ALLOW_LOCAL_PATHS", False),
            max_chars=_positive_int(environ, "NER_MAX_CHARS", DEFAULT_MAX_CHARS),
            stride=_positive_int(environ, "NER_STRIDE", None),
            device=device,
            half_precision=_flag(environ, "NER_HALF", True),
            backend=(environ.get("NER_BACKEND") or "auto").strip().lower(),
            queue_size=_positive_int(environ, "NER_QUEUE_SIZE", 64),
            concurrency=_positive_int(environ, "NER_CONCURRENCY", 1),
            model_cache=_positive_int(environ, "NER_MODEL_CACHE", 4),
            max_params=_positive_int(environ, "NER_MAX_PARAMS", 200_000_000),
            load_timeout=float(_positive_int(environ, "NER_LOAD_TIMEOUT", 120)),
            workers=_positive_int(environ, "NER_WORKERS", 32),
            batch_size=_positive_int(environ, "NER_BATCH_SIZE", 16),
            batch_tokens=_positive_int(environ, "NER_BATCH_TOKENS", 512),
            batch_wait_ms=float(_positive_int(environ, "NER_BATCH_WAIT_MS", 5)),
        )
