"""The README's offline walk-through runs exactly as written."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from conftest import REPO_ROOT

MARKER = "<!-- readme-test: walkthrough -->"


def walkthrough() -> str:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert MARKER in text, "the README lost its tested walk-through"
    block = re.search(r"```bash\n(.*?)```", text[text.index(MARKER):], flags=re.S)
    assert block, "no bash block after the walk-through marker"
    return block.group(1)


def test_walkthrough_uses_only_local_data():
    script = walkthrough()
    assert "../shared/data/conll2003" in script and "nerkit train" in script and "nerkit card" in script


@pytest.mark.slow
def test_walkthrough_runs_as_written(tmp_path, conll2003_dir):
    """Run from a checkout-shaped folder: ./ is the project, ../shared/data/conll2003 the data."""
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "shared" / "data").mkdir(parents=True)
    (tmp_path / "shared" / "data" / "conll2003").symlink_to(conll2003_dir)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", walkthrough()],
        cwd=project, env=env, capture_output=True, text=True, timeout=1500,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    run = project / "runs" / "minilm-quick"
    results = json.loads((run / "eval_results.json").read_text())
    assert results["num_sentences"] == 500
    assert set(results["modes"]["default"]["per_type"]) == {"LOC", "MISC", "ORG", "PER"}
    assert set(results["strategies"]["results"]) == {"none", "simple", "first", "average", "max"}
    assert results["confidence_intervals"]["resamples"] == 200
    card = (run / "README.md").read_text()
    assert "F1 by aggregation strategy" in card and "base_model: sentence-transformers/all-MiniLM-L6-v2" in card
    assert (project / "runs" / "minilm-quick-preview" / "model.safetensors").is_file()
    assert "nothing was sent to the Hub" in proc.stdout
