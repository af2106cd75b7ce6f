"""Process-level facts every stage needs: which rank this process is, and how to write files atomically.

Device choice lives in `nercore.device` (the Space needs it too and never imports the toolkit).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from nercore.errors import UserError


def process_rank(environ: Mapping[str, str] | None = None) -> int:
    """The global rank under torchrun/accelerate (RANK, else LOCAL_RANK); 0 when not distributed."""
    environ = os.environ if environ is None else environ
    for var in ("RANK", "LOCAL_RANK"):
        value = str(environ.get(var, "")).strip()
        if value:
            try:
                return int(value)
            except ValueError:
                raise UserError(f"environment variable {var}={value!r}: expected an integer process rank") from None
    return 0


def is_main_process(environ: Mapping[str, str] | None = None) -> bool:
    """Only rank 0 writes files and talks to the Hub."""
    return process_rank(environ) == 0


def write_files_atomically(files: Mapping[Path, str | bytes]) -> None:
    """Write several files as one set: each is staged as `<name>.tmp`, then all are renamed.

    A failure while staging removes every temp file and leaves the old files as they were, so a
    reader never sees half of a result set (nor new results beside an older run's predictions).
    """
    staged = {Path(path): Path(path).with_name(Path(path).name + ".tmp") for path in files}
    try:
        for path, content in files.items():
            tmp = staged[Path(path)]
            tmp.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                tmp.write_bytes(content)
            else:
                with open(tmp, "w", encoding="utf-8", newline="") as handle:
                    handle.write(content)
        for path, tmp in staged.items():
            os.replace(tmp, path)
    finally:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)


def write_atomically(path: str | Path, content: str | bytes) -> None:
    """One file, written via a temp file and a rename."""
    write_files_atomically({Path(path): content})


def json_text(payload, *, default=None) -> str:
    """The project's JSON style: two-space indent, UTF-8 kept, trailing newline.

    `default` turns values JSON lacks into something it has (e.g. `str` for TrainingArguments' enums).
    """
    return json.dumps(payload, indent=2, ensure_ascii=False, default=default) + "\n"
