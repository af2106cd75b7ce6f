"""One machine-readable results file per bench: `bench/results/<bench>.json`.

The figures quoted in README.md and docs/ are checked against these files (tests/test_figures.py),
so a number typed by hand cannot drift from the run that measured it. A bench calls `record(...)`
once at the end of a run with every figure it printed; a rerun replaces the file.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shlex
import sys
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    """What the figures were measured on: CPU model, cores this process may use, and the GPU if any."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = None
    try:
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu, "cores": cores, "gpu": gpu}


def record(bench: str, figures: dict, *, command: str | None = None, notes: str = "") -> Path:
    """Write `bench/results/<bench>.json`: the command, the date, the machine and each figure.

    `figures` maps a stable name ("int8_all_vs_torch_simple.tokens_120") to a number or a short
    string; nested dicts are allowed. The write is atomic, so an interrupted bench leaves the
    previous file whole.
    """
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    payload = {
        "bench": bench,
        "command": command or " ".join(shlex.quote(arg) for arg in [Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d"),
        "machine": machine(),
        "figures": figures,
        "notes": notes,
    }
    path = RESULTS_DIR / f"{bench}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def load(bench: str) -> dict:
    """The stored results of one bench (raises FileNotFoundError when it never ran)."""
    return json.loads((RESULTS_DIR / f"{bench}.json").read_text(encoding="utf-8"))
