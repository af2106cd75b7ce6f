"""`make test` / `make demo` on a fresh machine: outside a virtual environment they make and use a project
.venv (a fresh Debian/Ubuntu's system Python refuses `pip install`, PEP 668); inside one, or with PYTHON=,
they use that interpreter. torch comes from PyTorch's CPU index unless TORCH_INDEX= is emptied."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def dry_run(target: str, *variables: str, **env: str) -> str:
    if shutil.which("make") is None:
        pytest.fail("make is not installed; the README's set-up needs it")
    # a fresh shell: no venv, and no variables an outer `make test TORCH_INDEX=` hands down (MAKEFLAGS)
    outside = ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHON", "TORCH_INDEX", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    clean = {k: v for k, v in os.environ.items() if k not in outside}
    # -B: print every rule, the .venv one included even where a .venv already exists (as under `make test`)
    proc = subprocess.run(["make", "-n", "-B", "-C", str(ROOT), target, *variables], env={**clean, **env},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("target", ["test", "demo"])
def test_outside_a_venv_make_creates_and_uses_a_project_venv(target):
    out = dry_run(target)
    assert "python3 -m venv .venv" in out
    assert '.venv/bin/python -m pip install -q "torch==2.13.0" --extra-index-url https://download.pytorch.org/whl/cpu' in out
    assert '.venv/bin/python -m pip install -q -e ".[dev]"' in out
    last = out.strip().splitlines()[-2 if "Leaving directory" in out else -1]
    assert (".venv/bin/python -m pytest tests -q" if target == "test" else ".venv/bin/python app.py") in last


def test_inside_a_venv_or_with_python_make_uses_that_interpreter():
    inside = dry_run("test", VIRTUAL_ENV="/opt/somewhere")
    assert "-m venv" not in inside and "\npython -m pytest tests -q" in inside
    given = dry_run("test", "PYTHON=/usr/local/bin/python3.12", "TORCH_INDEX=")
    assert "-m venv" not in given and '/usr/local/bin/python3.12 -m pip install -q "torch==2.13.0"' in given
    assert "extra-index-url" not in given
    assert 'PATH="/usr/local/bin:$PATH" /usr/local/bin/python3.12 -m pytest tests -q' in given


def test_a_missing_optional_dependency_fails_under_ci_and_skips_elsewhere(monkeypatch):
    from conftest import require

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="not installed under CI"):
        require("no_such_module_nerkit")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        require("no_such_module_nerkit")
