"""Publish a run's output folder, or the Gradio Space, to the Hugging Face Hub.

Why it is built this way:
- The tree to push is computed once, offline (`plan_model_folder`, `plan_space`): `--dry-run` writes
  exactly that tree and `push` sends exactly that tree. Training leftovers and files holding dataset
  text stay out, local paths are rewritten, and a Hub token found in any file stops everything.
- One `create_commit` per push, never `upload_folder` (which may split a large folder into several
  commits when hf_xet is installed): the repo never shows half a model.
- Pre-flight (`preflight`: token, account, write access, repo creation) runs before any long work, so
  `nerkit publish` fails in seconds instead of after hours of training.
- Re-pushing an unchanged folder compares blob ids with the remote tree and makes no commit.
- A commit that fails on a transient error is retried, but only after checking that it did not land
  (a lost response), so a retry never makes a duplicate commit.
- The token is only handed to `HfApi`: never printed, logged or written; Hub messages are scrubbed.

`huggingface_hub` is imported inside functions: it reads HF_ENDPOINT at import time, and the CLI's
`--help` stays fast.
"""

from __future__ import annotations

import ast
import contextlib
import fnmatch
import hashlib
import json
import logging
import mmap
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from toolkit import __version__, layout
from toolkit.errors import UserError

log = logging.getLogger(__name__)

REPO_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
LOGIN_HELP = (
    "Log in once with `hf auth login` (paste a token with write access from "
    "https://huggingface.co/settings/tokens), or set the HF_TOKEN environment variable."
)

# The LFS patterns of the default `.gitattributes` the Hub puts in every new model/Space repo.
HUB_LFS_PATTERNS = (
    "*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.ftz", "*.gz", "*.h5", "*.joblib", "*.lfs.*",
    "*.mlmodel", "*.model", "*.msgpack", "*.npy", "*.npz", "*.onnx", "*.ot", "*.parquet", "*.pb",
    "*.pickle", "*.pkl", "*.pt", "*.pth", "*.rar", "*.safetensors", "saved_model/**/*", "*.tar.*",
    "*.tar", "*.tflite", "*.tgz", "*.wasm", "*.xz", "*.zip", "*.zst", "*tfevents*",
)  # fmt: skip
LFS_TEXT_THRESHOLD = 10 * 1024 * 1024  # the Hub stores files of 10 MiB and more in LFS
LFS_BINARY_THRESHOLD = 100 * 1000  # ... and binary files from about 100 kB

# Top-level folders of an output folder that never go to the Hub.
EXCLUDED_DIRS = {
    layout.CHECKPOINTS: "training checkpoints",
    "checkpoint-*": "training checkpoints",
    "runs": "TensorBoard logs",
    "logs": "training logs",
    "wandb": "experiment-tracker files",
    "mlruns": "experiment-tracker files",
}
DATASET_TEXT = "holds evaluation-set sentences; dataset licences (CoNLL-2003: research only) rarely allow redistribution"
# File names (anywhere in the folder) that never go to the Hub.
EXCLUDED_FILES = {
    layout.PREDICTIONS.format(split="*"): DATASET_TEXT,
    layout.ERRORS.format(split="*"): DATASET_TEXT,
    "training_args.bin": "pickled TrainingArguments with local paths (training_args.json is pushed instead)",
    "trainer_state.json": "Trainer state (local checkpoint paths)",
    "optimizer.pt": "optimizer state",
    "scheduler.pt": "scheduler state",
    "scaler.pt": "AMP scaler state",
    "rng_state*.pth": "RNG state",
    "*.pyc": "Python cache",
    "*.lock": "lock file",
    "*.tmp": "temporary file",
}
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json", "sentencepiece.bpe.model", "spiece.model")
TEXT_SUFFIXES = {".json", ".md", ".txt", ".yaml", ".yml", ".cfg", ".csv", ".tsv", ".py", ".jinja", ".conll"}
TOKEN_PATTERN = re.compile(rb"\bhf_[A-Za-z0-9]{30,}\b")
TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}
SPACE_ASSET_SUFFIXES = {".py", ".txt", ".css", ".js", ".html", ".json", ".md"}  # files of space/ that ship


# ---- the tree to push ---------------------------------------------------------------------------
@dataclass(frozen=True)
class PlannedFile:
    """One file of the tree, from disk (`source`) or rewritten in memory (`data`)."""

    path: str  # path in the repo, POSIX
    size: int
    sha256: str
    git_oid: str  # git blob id of the content, what the Hub reports for a regular file
    lfs_reason: str | None  # why the Hub will store it in LFS; None: a regular git blob
    source: Path | None = None
    data: bytes | None = field(default=None, repr=False)

    @property
    def lfs(self) -> bool:
        return self.lfs_reason is not None

    def read(self) -> bytes:
        return self.data if self.data is not None else self.source.read_bytes()


@dataclass
class PushPlan:
    repo_type: str  # "model" | "space"
    files: list[PlannedFile]
    excluded: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    rewritten: dict[str, int] = field(default_factory=dict)  # path -> number of local paths rewritten
    source: str = ""  # what the tree was made from, for messages

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)

    def file(self, path: str) -> PlannedFile:
        return next(f for f in self.files if f.path == path)


def check_repo_id(repo_id: str, flag: str = "--repo-id") -> str:
    if not isinstance(repo_id, str) or not REPO_ID_RE.match(repo_id) or "--" in repo_id or ".." in repo_id:
        raise UserError(
            f"{flag}: expected NAMESPACE/NAME (your user or organisation name, a slash, then letters, digits, "
            f"'-', '_' or '.'), got {repo_id!r}. Example: {flag} alice/bert-conll2003"
        )
    return repo_id


def predict_lfs(path: str, size: int, sample: bytes) -> str | None:
    """Why the Hub will store this file in LFS (same rules as the Hub's preupload answer), or None."""
    name = PurePosixPath(path).name
    for pattern in HUB_LFS_PATTERNS:
        if fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(path, pattern):
            return pattern
    if size >= LFS_TEXT_THRESHOLD:
        return ">= 10 MiB"
    if size >= LFS_BINARY_THRESHOLD and _is_binary(sample):
        return "binary >= 100 kB"
    return None


def _is_binary(sample: bytes) -> bool:
    if b"\0" in sample:
        return True
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as err:  # a character cut by the end of the sample is still text
        return err.start < len(sample) - 3
    return False


def _hashes(source: Path | None, data: bytes | None) -> tuple[int, str, str, bytes]:
    """size, sha256, git blob id and the first 512 bytes, in one read."""
    sha256 = hashlib.sha256()
    if data is not None:
        size, sample = len(data), data[:512]
        sha256.update(data)
        git = hashlib.sha1(b"blob %d\0" % size + data)
    else:
        size = source.stat().st_size
        git = hashlib.sha1(b"blob %d\0" % size)
        with source.open("rb") as handle:
            sample = handle.read(512)
            handle.seek(0)
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                sha256.update(chunk)
                git.update(chunk)
    return size, sha256.hexdigest(), git.hexdigest(), sample


def _planned(path: str, *, source: Path | None = None, data: bytes | None = None) -> PlannedFile:
    size, sha256, git_oid, sample = _hashes(source, data)
    return PlannedFile(path, size, sha256, git_oid, predict_lfs(path, size, sample), source, data)


def _exclusion(rel: PurePosixPath, extra: tuple[str, ...]) -> str | None:
    parts = rel.parts
    if any(part.startswith(".") for part in parts):
        return "hidden file"
    if "__pycache__" in parts:
        return "Python cache"
    if len(parts) > 1:
        for pattern, why in EXCLUDED_DIRS.items():
            if fnmatch.fnmatch(parts[0], pattern):
                return why
    for pattern, why in EXCLUDED_FILES.items():
        if fnmatch.fnmatch(rel.name, pattern):
            return why
    for pattern in extra:
        folder = pattern.rstrip("/")
        if fnmatch.fnmatch(str(rel), pattern) or fnmatch.fnmatch(rel.name, pattern) or str(rel).startswith(folder + "/"):
            return f"--exclude {pattern}"
    return None


def _local_prefixes(root: Path) -> list[tuple[str, str]]:
    """Local path prefixes and what replaces them in pushed text: the folder itself, cwd, home."""
    pairs = [(str(root.resolve()), "."), (str(root.absolute()), "."), (str(Path.cwd().resolve()), ".")]
    home = Path.home()
    pairs += [(str(home.resolve()), "~"), (str(home), "~")]
    seen, out = set(), []
    for prefix, replacement in sorted(pairs, key=lambda p: -len(p[0])):
        if len(prefix) > 1 and prefix not in seen:
            seen.add(prefix)
            out.append((prefix, replacement))
    return out


_ABS_PATH = re.compile(r"^(/[^/\s]+){2,}/?$|^[A-Za-z]:\\[^\s]+$")
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _rewrite_text(text: str, prefixes: list[tuple[str, str]], in_json: bool) -> tuple[str, int]:
    """Replace local paths: known prefixes everywhere; in JSON strings, any other absolute path by its name."""
    count = 0

    def sub_prefixes(value: str) -> str:
        nonlocal count
        for prefix, replacement in prefixes:
            pattern = re.escape(prefix) + r"(?=[/\\\s\"'`),;:]|$)"
            value, n = re.subn(pattern, replacement, value)
            count += n
        return value

    if not in_json:
        return sub_prefixes(text), count

    def sub_string(match: re.Match) -> str:
        nonlocal count
        try:
            value = json.loads(match.group(0))
        except ValueError:
            return match.group(0)
        new = sub_prefixes(value)
        pieces = re.split(r"(\s+|=)", new)
        for i, piece in enumerate(pieces):
            if _ABS_PATH.match(piece):
                pieces[i] = PurePosixPath(piece.replace("\\", "/")).name or piece
                count += 1
        new = "".join(pieces)
        return match.group(0) if new == value else json.dumps(new, ensure_ascii=False)

    return _JSON_STRING.sub(sub_string, text), count


def _current_token() -> str | None:
    """The token huggingface_hub would use (HF_TOKEN or the stored login); reads no network."""
    from huggingface_hub import get_token

    return get_token()


def check_secrets(plan: PushPlan) -> None:
    """Refuse a tree holding the current token (HF_TOKEN / stored login) or anything shaped like one."""
    _check_no_tokens(plan, _current_token())


def _check_no_tokens(plan: PushPlan, token: str | None) -> None:
    needle = token.encode() if token else None
    for planned in plan.files:
        if planned.size == 0:
            continue
        with _contents(planned) as content:
            found_token = needle is not None and content.find(needle) != -1
            found_shape = PurePosixPath(planned.path).suffix in TEXT_SUFFIXES and TOKEN_PATTERN.search(content) is not None
        if found_token or found_shape:
            what = "your Hugging Face token" if found_token else "something that looks like a Hugging Face token (hf_...)"
            raise UserError(
                f"{plan.source}/{planned.path} contains {what}; refusing to publish it. Remove it from that file "
                "(a token must never be written into a model folder), then run the command again."
            )


@contextlib.contextmanager
def _contents(planned: PlannedFile):
    """The file's bytes, memory-mapped when on disk (weights can be gigabytes)."""
    if planned.data is not None:
        yield planned.data
        return
    with planned.source.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        yield mapped


def plan_model_folder(output_dir: str | Path, *, exclude: tuple[str, ...] = ()) -> PushPlan:
    """The exact tree `push` would send for a trained model folder; validates the folder first."""
    root = Path(output_dir)
    if not root.is_dir():
        raise UserError(f"{root}: no such folder. Expected the output folder of `nerkit train` (pass it as OUTPUT_DIR).")
    _check_model_folder(root)
    prefixes = _local_prefixes(root)
    plan = PushPlan(repo_type="model", files=[], source=str(root))
    for path in sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink()):
        rel = PurePosixPath(path.relative_to(root).as_posix())
        why = _exclusion(rel, tuple(exclude))
        if why is None and path.is_symlink() and not path.exists():
            why = "broken symlink"
        if why:
            plan.excluded.append((str(rel), why))
            continue
        data = None
        if rel.suffix in TEXT_SUFFIXES and path.stat().st_size < LFS_TEXT_THRESHOLD:
            text = path.read_bytes().decode("utf-8", errors="surrogateescape")
            new, count = _rewrite_text(text, prefixes, in_json=rel.suffix == ".json")
            if count:
                data = new.encode("utf-8", errors="surrogateescape")
                plan.rewritten[str(rel)] = count
        plan.files.append(_planned(str(rel), source=None if data is not None else path, data=data))
    plan.excluded = _collapse_excluded(plan.excluded)
    return plan


def _collapse_excluded(excluded: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """`checkpoints/...` x 200 -> one `checkpoints/` line."""
    out, seen = [], set()
    for path, why in excluded:
        parts = PurePosixPath(path).parts
        if len(parts) > 1 and (parts[0].startswith(".") or any(fnmatch.fnmatch(parts[0], p) for p in EXCLUDED_DIRS)):
            path = parts[0] + "/"
        if path not in seen:
            seen.add(path)
            out.append((path, why))
    return out


def _check_model_folder(root: Path) -> None:
    config = root / "config.json"
    if not config.is_file():
        raise UserError(
            f"{root} has no config.json, so it is not a saved model. Expected the output folder of "
            "`nerkit train` (model, tokenizer, labels.json, eval_results.json, README.md)."
        )
    try:
        config_data = json.loads(config.read_text(encoding="utf-8"))
    except ValueError as err:
        raise UserError(f"{config}: not valid JSON ({err}); re-save the model with `nerkit train`.") from None
    if not any((root / name).is_file() for name in WEIGHT_FILES):
        raise UserError(
            f"{root} has config.json but no weights (expected one of {', '.join(WEIGHT_FILES)}); "
            "the training run probably did not finish. Re-run `nerkit train`."
        )
    for index_name in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        index = root / index_name
        if index.is_file():
            shards = sorted(set(json.loads(index.read_text(encoding="utf-8")).get("weight_map", {}).values()))
            missing = [s for s in shards if not (root / s).is_file()]
            if missing:
                raise UserError(f"{index} lists shards that are missing: {', '.join(missing)}. Re-save the model.")
    if not any((root / name).is_file() for name in TOKENIZER_FILES):
        raise UserError(
            f"{root} has no tokenizer files (expected tokenizer.json or tokenizer_config.json): users could not "
            "run `from_pretrained` on the pushed repo. Save the tokenizer with the model (`nerkit train` does)."
        )
    labels = config_data.get("id2label") or {}
    if labels and all(re.fullmatch(r"LABEL_\d+", str(v)) for v in labels.values()):
        log.warning("%s: id2label holds generic LABEL_n names; predictions on the Hub will show them", config)
    card = root / layout.CARD
    if not card.is_file():
        raise UserError(f"{root} has no model card ({layout.CARD}). Render it first: nerkit card {root}")
    _check_front_matter(card.read_text(encoding="utf-8", errors="replace"), str(card))


def _check_front_matter(text: str, where: str) -> None:
    import yaml

    match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", text, re.S)
    if not match:
        log.warning("%s has no YAML metadata block; the Hub will show a bare card", where)
        return
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" line {mark.line + 2}, column {mark.column + 1}" if mark else ""
        raise UserError(f"{where}{at}: the YAML metadata does not parse ({getattr(err, 'problem', err)}). "
                        "Re-render the card (`nerkit card`) or fix the YAML.") from None
    if not isinstance(meta, dict):
        raise UserError(f"{where}: the YAML metadata must be a mapping (key: value lines), got {type(meta).__name__}.")


# ---- the Space -----------------------------------------------------------------------------------
def default_space_source() -> Path:
    """The checkout (or site-packages folder) that holds the `space` package and, in a checkout, app.py."""
    import importlib.util

    spec = importlib.util.find_spec("space")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the `space` package is not importable; install nerkit with `pip install nerkit[space]` "
                        "or pass --source-dir pointing at a nerkit checkout.")
    return Path(list(spec.submodule_search_locations)[0]).parent


GENERATED_APP = '''\
"""Gradio Space entry point (generated by `nerkit publish-space`)."""

from space.ui import build_demo

demo = build_demo()

if __name__ == "__main__":
    demo.launch()
'''

MODEL_DEFAULT_MARK = "# Set by `nerkit publish-space`"


def with_default_model(app_source: str, model_id: str) -> str:
    """app.py with `os.environ.setdefault("NER_MODEL", model_id)` before its first import.

    The Space reads NER_MODEL (space/config.py); `setdefault` keeps a NER_MODEL variable set in the
    Space settings in charge. The line goes after the docstring and `from __future__` imports.
    """
    tree = ast.parse(app_source)
    insert_at = 0  # line index (0-based) after which the prelude goes
    for node in tree.body:
        is_docstring = isinstance(node, ast.Expr) and isinstance(getattr(node, "value", None), ast.Constant) \
            and isinstance(node.value.value, str) and node is tree.body[0]
        is_future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
        if is_docstring or is_future:
            insert_at = node.end_lineno
        else:
            break
    lines = app_source.splitlines(keepends=True)
    prelude = (
        f"\nimport os\n\n{MODEL_DEFAULT_MARK}: the model this Space loads by default. A NER_MODEL variable\n"
        f"# in the Space settings overrides it.\nos.environ.setdefault(\"NER_MODEL\", {json.dumps(model_id)})\n"
    )
    return "".join(lines[:insert_at]) + prelude + "".join(lines[insert_at:])


def plan_space(model_id: str, *, source_dir: str | Path | None = None, title: str | None = None) -> PushPlan:
    """The exact tree of the Gradio Space: app.py (loading `model_id` by default), space/, requirements.txt, README.md."""
    check_repo_id(model_id, "--model")
    source = Path(source_dir) if source_dir else default_space_source()
    package = source / "space"
    modules = sorted(
        p for p in package.rglob("*")
        if p.is_file() and p.suffix in SPACE_ASSET_SUFFIXES and "__pycache__" not in p.parts
        and not any(part.startswith(".") for part in p.relative_to(source).parts)
    ) if package.is_dir() else []
    if not any(p.suffix == ".py" for p in modules):
        raise UserError(f"{package}: no Python files found; expected the `space` package of a nerkit checkout "
                        "(pass --source-dir DIR, the folder holding app.py and space/).")
    plan = PushPlan(repo_type="space", files=[], source=str(source))
    app = source / "app.py"
    if app.is_file():
        app_source = app.read_text(encoding="utf-8")
    else:
        log.warning("%s not found (installed from a wheel?); using a generated app.py that launches "
                    "space.ui.build_demo()", app)
        app_source = GENERATED_APP
    try:
        app_text = with_default_model(app_source, model_id)
    except SyntaxError as err:
        raise UserError(f"{app} line {err.lineno}: not valid Python ({err.msg}); fix app.py first.") from None
    plan.files.append(_planned("app.py", data=app_text.encode()))
    for module in modules:
        plan.files.append(_planned(module.relative_to(source).as_posix(), source=module))
    python_files = [m for m in modules if m.suffix == ".py"]
    requirements = _space_requirements(python_files, app_text)
    plan.files.append(_planned("requirements.txt", data=requirements.encode()))
    plan.files.append(_planned(layout.CARD, data=_space_readme(model_id, title).encode()))
    plan.files.sort(key=lambda f: f.path)
    return plan


def _installed_version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _major_range(dist: str, fallback_major: int) -> str:
    installed = _installed_version(dist)
    major = int(installed.split(".")[0]) if installed else fallback_major
    return f"{dist}>={major}.0,<{major + 1}"


def _space_requirements(python_files: list[Path], app_text: str) -> str:
    """torch, transformers and gradio, plus any other third-party module the Space code imports."""
    from importlib.metadata import packages_distributions

    lines = ["torch>=2.4", _major_range("transformers", 5), _major_range("gradio", 6)]
    covered = {"torch", "transformers", "gradio", "gradio_client", "huggingface_hub", "numpy", "pandas",
               "PIL", "yaml", "tokenizers", "safetensors", "space", "spaces"}
    distributions = packages_distributions()
    extra: set[str] = set()
    sources = [("app.py", app_text)] + [(str(p), p.read_text(encoding="utf-8")) for p in python_files]
    for path, text in sources:
        try:
            tree = ast.parse(text, filename=path)
        except SyntaxError as err:
            raise UserError(f"{path} line {err.lineno}: not valid Python ({err.msg}); fix it before publishing.") from None
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top == "toolkit":
                    raise UserError(f"{path} line {node.lineno}: imports `toolkit`, which is not shipped to the Space "
                                    "(the Space must only import `space` and third-party packages).")
                if top in covered or top in sys.stdlib_module_names:
                    continue
                dists = distributions.get(top)
                if not dists:
                    log.warning("%s line %d imports %r, which is not installed here; add it to the Space's "
                                "requirements.txt by hand if the Space needs it", path, node.lineno, top)
                    continue
                extra.add(dists[0])
    for dist in sorted(extra):
        installed = _installed_version(dist)
        lines.append(f"{dist}>={installed}" if installed else dist)
    header = "# Generated by `nerkit publish-space`. Gradio itself is installed from sdk_version in README.md.\n"
    return header + "\n".join(lines) + "\n"


def _space_readme(model_id: str, title: str | None) -> str:
    import yaml

    gradio_version = _installed_version("gradio")
    if gradio_version is None:
        raise UserError("gradio is not installed, so the Space's sdk_version cannot be set to match it. "
                        "Install it with `pip install nerkit[space]`.")
    name = model_id.split("/")[1]
    meta = {
        "title": title or f"{name} NER demo"[:60],
        "emoji": "🏷️",
        "colorFrom": "blue",
        "colorTo": "green",
        "sdk": "gradio",
        "sdk_version": gradio_version,
        "app_file": "app.py",
        "pinned": False,
        "models": [model_id],
        "short_description": "Token classification: 5 aggregation strategies compared",
    }
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    return (
        f"---\n{front}---\n\n"
        f"# {meta['title']}\n\n"
        f"Runs the token-classification model [{model_id}](https://huggingface.co/{model_id}) on your text and "
        "shows the five `pipeline` aggregation strategies (none / simple / first / average / max) side by side.\n\n"
        "The model loaded by default is set at the top of `app.py`; a `NER_MODEL` variable in the Space settings "
        "overrides it. A private model needs an `HF_TOKEN` secret with read access.\n\n"
        f"Packaged by `nerkit publish-space` (nerkit {__version__}).\n"
    )


# ---- listing and dry-run -------------------------------------------------------------------------
def human_size(size: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def format_plan(plan: PushPlan, heading: str) -> str:
    width = max([len(f.path) for f in plan.files] + [4])
    lines = [heading, f"  {'path':<{width}}  {'size':>9}  storage"]
    for planned in plan.files:
        storage = f"LFS ({planned.lfs_reason})" if planned.lfs else "regular"
        note = f"  [{plan.rewritten[planned.path]} local path(s) rewritten]" if planned.path in plan.rewritten else ""
        lines.append(f"  {planned.path:<{width}}  {human_size(planned.size):>9}  {storage}{note}")
    lines.append(f"  {len(plan.files)} files, {human_size(plan.total_size)}, "
                 f"{sum(f.lfs for f in plan.files)} through LFS (the Hub decides; this uses its default rules)")
    if plan.excluded:
        lines.append("Left out:")
        lines += [f"  {path}  ({why})" for path, why in plan.excluded]
    return "\n".join(lines)


def check_dry_run_dir(destination: str | Path, *, output_dir: str | Path | None = None) -> Path:
    """The --dry-run folder must be new or empty, and outside the folder being published."""
    dest = Path(destination)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise UserError(f"--dry-run {dest}: the folder exists and is not empty. Pass a new or empty folder; it will "
                        "hold exactly the files that would be pushed.")
    if output_dir is not None:
        source = Path(output_dir).resolve()
        if dest.resolve() == source or source in dest.resolve().parents:
            raise UserError(f"--dry-run {dest}: that is inside the folder being published ({output_dir}); "
                            "pass a folder outside it.")
    return dest


def write_tree(plan: PushPlan, destination: str | Path) -> Path:
    """Write exactly the files a push would send into `destination` (new or empty), all or nothing."""
    dest = check_dry_run_dir(destination, output_dir=plan.source if plan.repo_type == "model" else None)
    check_secrets(plan)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        for planned in plan.files:
            target = staging / planned.path
            target.parent.mkdir(parents=True, exist_ok=True)
            if planned.data is not None:
                target.write_bytes(planned.data)
            else:
                shutil.copyfile(planned.source, target)
        if dest.exists():
            dest.rmdir()
        staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dest


# ---- talking to the Hub --------------------------------------------------------------------------
def process_rank() -> int:
    """The global rank under torchrun/accelerate (RANK, else LOCAL_RANK); 0 when not distributed."""
    for var in ("RANK", "LOCAL_RANK"):
        value = os.environ.get(var, "").strip()
        if value:
            try:
                return int(value)
            except ValueError:
                raise UserError(f"environment variable {var}={value!r}: expected an integer process rank") from None
    return 0


@dataclass
class HubSession:
    """An authenticated client after a successful pre-flight. The token never appears in its repr."""

    api: object = field(repr=False)
    user: str
    repo_id: str
    repo_type: str
    repo_url: str
    token: str = field(repr=False)

    def scrub(self, text: str) -> str:
        return scrub(text, self.token)


def scrub(text: str, token: str | None) -> str:
    text = str(text)
    if token:
        text = text.replace(token, "hf_***")
    return TOKEN_PATTERN.sub(b"hf_***", text.encode()).decode() if "hf_" in text else text


def _status(err: BaseException) -> int | None:
    response = getattr(err, "response", None)
    return getattr(response, "status_code", None)


def _is_transport_error(err: BaseException) -> bool:
    names = {cls.__name__ for cls in type(err).__mro__}
    return bool(names & {"TransportError", "TimeoutException", "NetworkError", "RemoteProtocolError", "ConnectionError"})


def _is_transient(err: BaseException) -> bool:
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if _is_transport_error(err) or _status(err) in TRANSIENT_STATUS:
            return True
        err = err.__cause__ or err.__context__
    return False


def _describe(err: BaseException, token: str | None) -> str:
    status = _status(err)
    first = scrub(str(err), token).strip().splitlines()
    text = " ".join(line.strip() for line in first[:6] if line.strip())
    if status:
        return f"HTTP {status}: {text}"[:600]
    return f"{type(err).__name__}: {text}"[:600]


def _endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def preflight(
    repo_id: str,
    *,
    repo_type: str = "model",
    private: bool | None = None,
    create_pr: bool = False,
    space_sdk: str | None = None,
) -> HubSession:
    """Check the token and write access and create the repo, before any long work. Raises UserError."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    check_repo_id(repo_id)
    token = _current_token()
    if not token:
        raise UserError(f"no Hugging Face token found (HF_TOKEN is not set and you are not logged in). {LOGIN_HELP}")
    api = HfApi(token=token, library_name="nerkit", library_version=__version__)
    source = "the HF_TOKEN environment variable" if os.environ.get("HF_TOKEN") else "your stored login (`hf auth login`)"
    try:
        me = api.whoami()
    except HfHubHTTPError as err:
        if _status(err) == 401:
            raise UserError(f"the Hub rejected the token from {source} (invalid or expired). {LOGIN_HELP}") from None
        raise UserError(f"could not check your token at {_endpoint()}: {_describe(err, token)}") from None
    except Exception as err:
        if _is_transport_error(err):
            raise UserError(f"could not reach the Hub at {_endpoint()} ({_describe(err, token)}). Check your "
                            "network connection (and HF_ENDPOINT if you set it), then run the command again.") from None
        raise
    user = me.get("name", "?")
    role = ((me.get("auth") or {}).get("accessToken") or {}).get("role")
    orgs = [org.get("name") for org in me.get("orgs") or []]
    namespace = repo_id.split("/")[0]
    if not create_pr:
        if role == "read":
            raise UserError(f"the token from {source} (user {user}) is read-only, so it cannot push to {repo_id}. "
                            "Create a token with write access at https://huggingface.co/settings/tokens, then "
                            "`hf auth login --force` (or set HF_TOKEN).")
        if namespace != user and namespace not in orgs:
            where = f"your organisations ({', '.join(orgs)})" if orgs else "your organisations (you have none)"
            raise UserError(f"--repo-id {repo_id}: '{namespace}' is neither your user name ({user}) nor one of {where}. "
                            f"Use --repo-id {user}/{repo_id.split('/')[1]}, or --create-pr to propose the change to "
                            "someone else's repo.")
    try:
        url = api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True, space_sdk=space_sdk)
        if not create_pr:
            api.auth_check(repo_id, repo_type=repo_type, write=True)
        if private is not None:
            info = api.repo_info(repo_id, repo_type=repo_type)
            if info.private is not None and bool(info.private) != private:
                log.warning("%s already exists and is %s; --private%s only applies when the repo is created. "
                            "Change its visibility in the repo settings.", repo_id,
                            "private" if info.private else "public", "" if private else "=False")
    except HfHubHTTPError as err:
        status = _status(err)
        if status in (401, 403, 404):
            raise UserError(f"no write access to {repo_type} repo {repo_id} for user {user} with the token from "
                            f"{source} ({_describe(err, token)}). Use a token with write access to '{namespace}', "
                            "or --create-pr.") from None
        raise UserError(f"could not create or check {repo_id}: {_describe(err, token)}") from None
    except Exception as err:
        if _is_transport_error(err):
            raise UserError(f"could not reach the Hub at {_endpoint()} ({_describe(err, token)}).") from None
        raise
    log.info("pre-flight ok: user %s can write to %s %s", user, repo_type, repo_id)
    return HubSession(api=api, user=user, repo_id=repo_id, repo_type=repo_type, repo_url=str(url), token=token)


@dataclass
class PushResult:
    repo_id: str
    repo_type: str
    revision: str
    commit_oid: str | None
    commit_url: str | None = None
    pr_url: str | None = None
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    upload_modes: dict[str, str] = field(default_factory=dict)  # path -> "lfs" | "regular", as the Hub decided
    attempts: int = 0

    @property
    def nothing_to_push(self) -> bool:
        return not self.changed


def _remote_files(session: HubSession, revision: str):
    """(head commit, {path: RepoFile}) at `revision`, or (None, {}) when the revision does not exist."""
    from huggingface_hub.errors import RevisionNotFoundError
    from huggingface_hub.hf_api import RepoFile

    api = session.api
    try:
        head = api.repo_info(session.repo_id, repo_type=session.repo_type, revision=revision).sha
    except RevisionNotFoundError:
        return None, {}
    tree = api.list_repo_tree(session.repo_id, recursive=True, revision=head, repo_type=session.repo_type)
    return head, {f.path: f for f in tree if isinstance(f, RepoFile)}


def _same(planned: PlannedFile, remote) -> bool:
    if remote is None:
        return False
    if remote.lfs is not None:
        return remote.lfs.sha256 == planned.sha256
    return remote.blob_id == planned.git_oid


def _pr_refs(session: HubSession) -> dict[str, str]:
    refs = session.api.list_repo_refs(session.repo_id, repo_type=session.repo_type, include_pull_requests=True)
    return {ref.ref: ref.target_commit for ref in refs.pull_requests or []}


def _landed(session: HubSession, revision: str, files: list[PlannedFile], head: str | None,
            prs_before: dict[str, str] | None) -> tuple[str, str | None] | None:
    """After a failed commit call: did the commit land anyway? -> (commit oid, PR ref) or None."""
    if prs_before is None:
        new_head, remote = _remote_files(session, revision)
        if new_head and new_head != head and all(_same(f, remote.get(f.path)) for f in files):
            return new_head, None
        return None
    for ref, target in _pr_refs(session).items():
        if ref not in prs_before:
            _, remote = _remote_files(session, ref)
            if all(_same(f, remote.get(f.path)) for f in files):
                return target, ref
    return None


def push(
    plan: PushPlan,
    session: HubSession,
    *,
    revision: str | None = None,
    create_pr: bool = False,
    commit_message: str | None = None,
    commit_description: str | None = None,
    attempts: int = 3,
    wait_s: float = 1.0,
) -> PushResult:
    """Send the planned tree in one commit (or none when the remote already holds it)."""
    from huggingface_hub import CommitOperationAdd
    from huggingface_hub.errors import HfHubHTTPError

    _check_no_tokens(plan, session.token)
    revision = revision or "main"
    repo_id, repo_type, api = session.repo_id, session.repo_type, session.api
    result = PushResult(repo_id, repo_type, revision, None)
    try:
        head, remote = _remote_files(session, revision)
        if head is None:
            if create_pr:
                raise UserError(f"--revision {revision}: no such branch in {repo_id}; a pull request needs an existing "
                                "branch to target. Leave out --revision to target main.")
            log.info("creating branch %s in %s", revision, repo_id)
            api.create_branch(repo_id, branch=revision, repo_type=repo_type, exist_ok=True)
            head, remote = _remote_files(session, revision)
        changed = [f for f in plan.files if not _same(f, remote.get(f.path))]
        result.unchanged = [f.path for f in plan.files if f not in changed]
        result.commit_oid = head
        if not changed:
            return result
        result.changed = [f.path for f in changed]
        prs_before = _pr_refs(session) if create_pr else None
        message = commit_message or f"Upload {len(changed)} file(s) with nerkit {__version__}"
        description = commit_description
        if description is None:
            description = "Files: " + ", ".join(result.changed) + f"\n\nPushed by `nerkit` {__version__}."
        last_error: BaseException | None = None
        for attempt in range(1, attempts + 1):
            result.attempts = attempt
            operations = [
                CommitOperationAdd(path_in_repo=f.path, path_or_fileobj=f.data if f.data is not None else str(f.source))
                for f in changed
            ]
            try:
                info = api.create_commit(
                    repo_id,
                    operations,
                    commit_message=message,
                    commit_description=description,
                    repo_type=repo_type,
                    revision=revision,
                    create_pr=create_pr,
                    parent_commit=None if create_pr else head,
                )
            except ValueError as err:
                if "Invalid metadata in README.md" in str(err):
                    raise UserError(f"the Hub rejected the YAML metadata of {layout.CARD}: "
                                    f"{session.scrub(str(err))}. Fix it (re-run `nerkit card`) and push again.") from None
                raise
            except Exception as err:  # noqa: BLE001 - sorted into transient / not below
                last_error = err
                if _status(err) == 412:
                    raise UserError(f"{repo_id}@{revision} changed while pushing (someone else committed). Run the "
                                    "command again to push on top of the new state.") from None
                if not _is_transient(err):
                    raise
                log.warning("attempt %d/%d to commit to %s failed: %s", attempt, attempts, repo_id,
                            _describe(err, session.token))
                try:
                    landed = _landed(session, revision, changed, head, prs_before)
                except Exception as check_err:  # noqa: BLE001 - the Hub may still be down
                    if not _is_transient(check_err):
                        raise
                    # Unknown. A retry is safe only where it names the old head as parent (a commit
                    # that did land then makes it fail with 412); on a branch without a head, stop.
                    log.warning("could not check whether attempt %d reached %s: %s", attempt, repo_id,
                                _describe(check_err, session.token))
                    if head is None:
                        break
                    landed = None
                if landed:
                    log.warning("the commit reached %s although its answer was lost; not sending it again", repo_id)
                    result.commit_oid, pr_ref = landed
                    if pr_ref:
                        result.pr_url = f"{session.repo_url}/discussions/{pr_ref.rsplit('/', 1)[1]}"
                    result.commit_url = f"{session.repo_url}/commit/{result.commit_oid}"
                    result.upload_modes = {op.path_in_repo: op._upload_mode for op in operations if op._upload_mode}
                    return result
                if create_pr:
                    break  # no PR appeared, but retrying a PR blindly could open two: stop here
                if attempt < attempts:
                    time.sleep(wait_s * 2 ** (attempt - 1))
                continue
            result.commit_oid, result.commit_url, result.pr_url = info.oid, info.commit_url, info.pr_url
            result.upload_modes = {op.path_in_repo: op._upload_mode for op in operations if op._upload_mode}
            return result
        raise _failed(session, revision, head, last_error, result.attempts, create_pr)
    except UserError:
        raise
    except HfHubHTTPError as err:
        status = _status(err)
        if status in (401, 403):
            raise UserError(f"the Hub refused the push to {repo_id} ({_describe(err, session.token)}). Check that "
                            f"your token has write access to '{repo_id.split('/')[0]}'. {LOGIN_HELP}") from None
        if status == 404:
            raise UserError(f"{repo_type} repo {repo_id} (revision {revision}) not found: "
                            f"{_describe(err, session.token)}") from None
        raise _failed(session, revision, result.commit_oid, err, result.attempts, create_pr) from None
    except Exception as err:
        if _is_transient(err):
            raise _failed(session, revision, result.commit_oid, err, result.attempts, create_pr) from None
        raise


def _failed(session: HubSession, revision: str, head: str | None, err: BaseException | None,
            attempts: int, create_pr: bool) -> UserError:
    """A clear message for a push that did not happen, saying what the repo holds now."""
    why = _describe(err, session.token) if err else "unknown error"
    try:
        now, _ = _remote_files(session, revision)
        if create_pr:
            state = f"no pull request was opened by this run (check {session.repo_url}/discussions)"
        elif now == head:
            state = f"nothing was committed: {session.repo_id}@{revision} still points to {str(head)[:7]}"
        else:
            state = f"{session.repo_id}@{revision} now points to {str(now)[:7]} (changed by someone else)"
    except Exception:  # noqa: BLE001 - the Hub is unreachable: say so instead
        state = "the repo could not be checked afterwards, but a commit is all-or-nothing: no partial upload is visible"
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    return UserError(f"could not push to {session.repo_id}{tries}: {why}. {state}. Run the same command again to "
                     "retry; files already uploaded are not sent twice.")


def format_result(result: PushResult, plan: PushPlan) -> str:
    where = f"{result.repo_id}@{result.revision}"
    if result.nothing_to_push:
        return (f"Nothing to push: {where} already holds these {len(plan.files)} files "
                f"(commit {str(result.commit_oid)[:7]}); no commit made.")
    lfs = sorted(p for p, mode in result.upload_modes.items() if mode == "lfs")
    lines = [f"Pushed {len(result.changed)} changed file(s) to {where} in one commit {str(result.commit_oid)[:7]}"
             + (f" ({len(result.unchanged)} unchanged)" if result.unchanged else "") + "."]
    if lfs:
        lines.append(f"  through LFS: {', '.join(lfs)}")
    if result.pr_url:
        lines.append(f"  pull request: {result.pr_url}")
    elif result.commit_url:
        lines.append(f"  commit: {result.commit_url}")
    return "\n".join(lines)


def check_space_model(session: HubSession, model_id: str) -> None:
    """Warn (only) when the Space's model is missing or private: the Space would fail to start."""
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    try:
        info = session.api.model_info(model_id)
    except RepositoryNotFoundError:
        log.warning("model %s was not found on the Hub (or is private to another account); the Space will fail to "
                    "start until it exists. Push it first: nerkit push OUTPUT_DIR --repo-id %s", model_id, model_id)
        return
    except HfHubHTTPError as err:
        log.warning("could not check model %s: %s", model_id, _describe(err, session.token))
        return
    if info.private:
        log.warning("model %s is private: add a secret named HF_TOKEN (a read token) in the Space settings, "
                    "or the Space cannot load it", model_id)
