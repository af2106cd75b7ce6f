"""What a push sends: the tree of files, what stays out and why, and where the Hub will store each.

The tree is computed once, offline: `--dry-run` writes exactly this tree and a push sends exactly
this tree. Training leftovers and files holding dataset text stay out, local paths are rewritten,
and a Hub token found in any file stops everything.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import mmap
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from nercore import runfolder
from nercore.errors import UserError
from toolkit.hub.errors import TOKEN_PATTERN
from toolkit.paths import local_prefixes, public_paths, replace_prefixes

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
    runfolder.CHECKPOINTS: "training checkpoints",
    "checkpoint-*": "training checkpoints",
    "runs": "TensorBoard logs",
    "logs": "training logs",
    "wandb": "experiment-tracker files",
    "mlruns": "experiment-tracker files",
}
DATASET_TEXT = "holds evaluation-set sentences; dataset licences (CoNLL-2003: research only) rarely allow redistribution"
# File names (anywhere in the folder) that never go to the Hub.
EXCLUDED_FILES = {
    runfolder.PREDICTIONS.format(split="*"): DATASET_TEXT,
    runfolder.ERRORS.format(split="*"): DATASET_TEXT,
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
TEXT_SUFFIXES = {".json", ".md", ".txt", ".yaml", ".yml", ".cfg", ".csv", ".tsv", ".py", ".jinja", ".conll"}


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
    notes: list[str] = field(default_factory=list)  # what the plan changed on the way, e.g. a re-rendered card

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)

    def file(self, path: str) -> PlannedFile:
        return next(f for f in self.files if f.path == path)


# ---- LFS ---------------------------------------------------------------------------------------------
def predict_lfs(path: str, size: int, sample: bytes) -> str | None:
    """Why the Hub will store this file in LFS (its default rules), or None; shown by --dry-run."""
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


def planned(path: str, *, source: Path | None = None, data: bytes | None = None) -> PlannedFile:
    size, sha256, git_oid, sample = _hashes(source, data)
    return PlannedFile(path, size, sha256, git_oid, predict_lfs(path, size, sample), source, data)


# ---- what stays out, local paths ------------------------------------------------------------------------
def exclusion(rel: PurePosixPath, extra: tuple[str, ...]) -> str | None:
    """Why this file of an output folder stays out, or None."""
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


def collapse_excluded(excluded: list[tuple[str, str]]) -> list[tuple[str, str]]:
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


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def rewrite_text(text: str, root: Path, in_json: bool) -> tuple[str, int]:
    """Replace local paths: in JSON strings by `toolkit.paths.public_paths` (the card's rule, so a card
    re-rendered from the pushed files reproduces the pushed card); in other text, the run folder, the
    current directory and home (`local_prefixes`)."""
    if not in_json:
        return replace_prefixes(text, local_prefixes(root))
    count = 0

    def sub_string(match: re.Match) -> str:
        nonlocal count
        try:
            value = json.loads(match.group(0))
        except ValueError:
            return match.group(0)
        new, n = public_paths(value, root)
        count += n
        return match.group(0) if new == value else json.dumps(new, ensure_ascii=False)

    return _JSON_STRING.sub(sub_string, text), count


# ---- secrets -----------------------------------------------------------------------------------------------
def current_token() -> str | None:
    """The token huggingface_hub would use (HF_TOKEN or the stored login); reads no network."""
    from huggingface_hub import get_token

    return get_token()


def check_secrets(plan: PushPlan, token: str | None = None) -> None:
    """Refuse a tree holding the token (default: HF_TOKEN / stored login) or anything shaped like one."""
    token = token if token is not None else current_token()
    needle = token.encode() if token else None
    for item in plan.files:
        if item.size == 0:
            continue
        with _contents(item) as content:
            found_token = needle is not None and content.find(needle) != -1
            found_shape = PurePosixPath(item.path).suffix in TEXT_SUFFIXES and TOKEN_PATTERN.search(content) is not None
        if found_token or found_shape:
            what = "your Hugging Face token" if found_token else "something that looks like a Hugging Face token (hf_...)"
            raise UserError(
                f"{plan.source}/{item.path} contains {what}; refusing to publish it. Remove it from that file "
                "(a token must never be written into a model folder), then run the command again."
            )


@contextlib.contextmanager
def _contents(item: PlannedFile):
    """The file's bytes, memory-mapped when on disk (weights can be gigabytes)."""
    if item.data is not None:
        yield item.data
        return
    with item.source.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        yield mapped


# ---- listing and dry-run -------------------------------------------------------------------------------
def human_size(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def format_plan(plan: PushPlan, heading: str) -> str:
    width = max([len(f.path) for f in plan.files] + [4])
    lines = [heading, f"  {'path':<{width}}  {'size':>9}  storage"]
    for item in plan.files:
        storage = f"LFS ({item.lfs_reason})" if item.lfs else "regular"
        note = f"  [{plan.rewritten[item.path]} local path(s) rewritten]" if item.path in plan.rewritten else ""
        lines.append(f"  {item.path:<{width}}  {human_size(item.size):>9}  {storage}{note}")
    lines.append(f"  {len(plan.files)} files, {human_size(plan.total_size)}, "
                 f"{sum(f.lfs for f in plan.files)} through LFS (the Hub decides; this uses its default rules)")
    if plan.excluded:
        lines.append("Left out:")
        lines += [f"  {path}  ({why})" for path, why in plan.excluded]
    lines += plan.notes
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
    """Write exactly the files a push would send into `destination` (new or empty), all or nothing.

    A whole folder is staged beside the destination and renamed, like the atomic file writes of
    `toolkit.runtime`; weights are copied from disk rather than read into memory.
    """
    dest = check_dry_run_dir(destination, output_dir=plan.source if plan.repo_type == "model" else None)
    check_secrets(plan)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        for item in plan.files:
            target = staging / item.path
            target.parent.mkdir(parents=True, exist_ok=True)
            if item.data is not None:
                target.write_bytes(item.data)
            else:
                shutil.copyfile(item.source, target)
        if dest.exists():
            dest.rmdir()
        staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dest
