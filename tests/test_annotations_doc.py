"""docs/annotations.md runs as written: its example exports are written where the page names them, and
its shell blocks run in order in one bash process, in an empty folder.

The page's `MODEL=...` line picks the pip-installed MiniLM; the fast test binds MODEL to a tiny model
instead (every other line as written), the slow one runs the page exactly as written.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT

PAGE = REPO_ROOT / "docs" / "annotations.md"
FILE_BLOCK = re.compile(r"^```(\w+) file=(\S+)$")


def page_parts(text: str) -> tuple[dict[str, str], list[str], list[str]]:
    """(files by path, shell blocks in order, the plain `text` blocks) of the page."""
    files, shells, plain = {}, [], []
    body, kind, name = None, None, None
    for line in text.splitlines():
        if body is None and line.startswith("```"):
            match = FILE_BLOCK.match(line)
            kind, name = (match.group(1), match.group(2)) if match else (line[3:].strip(), None)
            body = []
        elif body is not None and line.startswith("```"):
            content = "\n".join(body) + "\n"
            if name:
                files[name] = content
            elif kind == "bash":
                shells.append(content)
            elif kind == "text":
                plain.append(content)
            body = None
        elif body is not None:
            body.append(line)
    return files, shells, plain


def run_page(folder: Path, model: str | None) -> subprocess.CompletedProcess:
    files, shells, _ = page_parts(PAGE.read_text(encoding="utf-8"))
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    script = "set -euo pipefail\n" + "\n".join(shells)
    if model is not None:
        script = re.sub(r'^MODEL=.*$', f"MODEL={model}", script, count=1, flags=re.M)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.run(["bash", "-c", script], cwd=folder, env=env, capture_output=True, text=True, timeout=1500)


def check_run(folder: Path, result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stderr[-3000:]
    for run in ("ls", "doccano", "prodigy", "brat", "argilla", "ls-context"):
        assert (folder / "runs" / run / "data_info.json").is_file(), run
    _, _, plain = page_parts(PAGE.read_text(encoding="utf-8"))
    report = next(block for block in plain if block.startswith("character spans read"))
    after = result.stderr.split(report.splitlines()[0] + "\n", 1)[1].splitlines()
    shown = [line for line in after[: next(i for i, line in enumerate(after) if not line.startswith("  "))]]
    assert shown == report.splitlines()[1:], "the page's alignment report is not what the first run printed"


def test_the_page_has_every_tool():
    files, shells, _ = page_parts(PAGE.read_text(encoding="utf-8"))
    commands = "\n".join(shells)
    for dataset in ("ls", "doccano", "prodigy", "corpus", "argilla-export"):
        assert f"--dataset {dataset} " in commands
    assert {"project-1-at-2024-05-01.json", "admin.jsonl", "ner.jsonl", "corpus/train/a.ann"} <= set(files)


@pytest.mark.slow  # six trainings in subprocesses: minutes on a loaded machine
def test_the_page_runs_with_a_tiny_model(tiny_bert, tmp_path):
    check_run(tmp_path, run_page(tmp_path, str(tiny_bert)))


@pytest.mark.slow
def test_the_page_runs_as_written(tmp_path):
    check_run(tmp_path, run_page(tmp_path, None))
