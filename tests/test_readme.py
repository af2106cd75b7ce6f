"""The README's offline walk-through runs exactly as written."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT
from nercore.strategies import STRATEGY_NAMES

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


def test_walkthrough_runs_the_steps_in_their_real_order():
    """Calibration rewrites the weights and removes what described the old scores: it comes right after
    training, before the evaluation and the card that describe the calibrated model (issue 27)."""
    steps = re.findall(r"^nerkit (\w+)", walkthrough(), flags=re.M)
    assert steps == ["train", "calibrate", "evaluate", "card", "push"], steps
    assert "--dry-run" in walkthrough()
    timed = re.findall(r"^# .*~\d", walkthrough(), flags=re.M)
    assert len(timed) == len(steps), "each step says how long it takes, in the comment above it"


@pytest.mark.slow
@pytest.mark.timeout(1500)  # about 5 minutes on 2 shared cores; far more when other jobs load them
def test_walkthrough_runs_as_written(tmp_path, conll2003_dir):
    """Run from a checkout-shaped folder: ./ is the project, ../shared/data/conll2003 the data."""
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "shared" / "data").mkdir(parents=True)
    (tmp_path / "shared" / "data" / "conll2003").symlink_to(conll2003_dir)
    # `nerkit` and `python` as the interpreter running the tests has them (the project .venv under `make test`)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", walkthrough()],
        cwd=project, env=env, capture_output=True, text=True, timeout=1500,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    run = project / "runs" / "minilm-quick"
    calibration = json.loads((run / "calibration.json").read_text())
    assert {r["num_sentences"] for r in calibration["readings"].values()} == {300}  # --max-samples: a quick fit
    results = json.loads((run / "eval_results.json").read_text())
    assert results["num_sentences"] == 500
    assert set(results["modes"]["default"]["per_type"]) == {"LOC", "MISC", "ORG", "PER"}
    assert set(results["strategies"]["results"]) == set(STRATEGY_NAMES)  # `--strategies` alone: every registered one
    assert results["confidence_intervals"]["resamples"] == 200
    card = (run / "README.md").read_text()
    assert "F1 by aggregation strategy" in card and "base_model: sentence-transformers/all-MiniLM-L6-v2" in card
    assert (project / "runs" / "minilm-quick-preview" / "model.safetensors").is_file()
    assert "nothing was sent to the Hub" in proc.stdout


README_MAX_BYTES = 12 * 1024
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _pages() -> list:
    return [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]


def _prose(text: str) -> str:
    """The page without fenced code blocks: links only count outside them."""
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def _anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#{1,6}\s+(.*?)\s*$", _prose(text), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_readme_stays_short():
    size = len((REPO_ROOT / "README.md").read_bytes())
    assert size <= README_MAX_BYTES, f"README.md is {size} bytes; move detail to docs/ (limit {README_MAX_BYTES})"


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_relative_links_resolve(page):
    """Every relative link in README.md and docs/*.md names an existing file (and heading)."""
    broken = []
    for target in LINK.findall(_prose(page.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("<"):
            continue  # http:, https:, mailto: ...
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no file {file}")
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file.read_text(encoding="utf-8")):
            broken.append(f"{target}: no heading #{anchor} in {file.name}")
    assert not broken, f"{page.name}: " + "; ".join(broken)


def test_docs_have_no_leftover_pages():
    """The old architecture pages were merged into docs/architecture.md and docs/card.md."""
    names = {p.name for p in (REPO_ROOT / "docs").glob("*.md")}
    assert {"cli.md", "space.md", "card.md", "eval-results.md", "architecture.md"} <= names
    assert not names & {"ARCHITECTURE.md", "ARCHITECTURE-card.md"}
