"""bench/gpu_check.sh --dry-run runs end to end on CPU (CUDA rows skipped) and prints its one table."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import REPO_ROOT, TESTS_DIR


@pytest.mark.slow
def test_gpu_check_dry_run_prints_the_table(tiny_bert):
    env = dict(os.environ, NER_MODEL=str(tiny_bert), GPU_CHECK_BASE=str(tiny_bert), PYTHON=sys.executable,
               NERKIT_CONLL_DIR=str(TESTS_DIR / "data" / "tiny_conll"))
    done = subprocess.run(["bash", str(REPO_ROOT / "bench" / "gpu_check.sh"), "--dry-run"], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    table = done.stdout[done.stdout.index("GPU check on"):]
    assert "DRY RUN" in table
    rows = [line for line in table.splitlines() if line.startswith("| ") and "check" not in line.split("|")[1]]
    checks = {line.split("|")[1].strip() for line in rows}
    assert checks == {"contract", "compare", "train", "predict"}
    assert "| contract | cpu float32" in table and "PASS" in table
    assert sum("skipped: no CUDA" in line for line in rows) == 5  # fp16, bf16, GPU compare, bf16 train, GPU predict
    assert "tokens/s" in table and "sentences/s" in table and "texts/s" in table


def test_gpu_check_refuses_an_unknown_flag():
    done = subprocess.run(["bash", str(REPO_ROOT / "bench" / "gpu_check.sh"), "--gpu"], capture_output=True, text=True)
    assert done.returncode == 2 and "unknown argument" in done.stderr
