"""space/app.py: what must hold before torch and gradio load."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import REPO_ROOT

WATCH = """
import os, sys
seen = {}
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name in ("torch", "gradio") and name not in seen:
            seen[name] = (os.environ.get("OMP_WAIT_POLICY"), os.environ.get("GRADIO_ANALYTICS_ENABLED"))
        return None
sys.meta_path.insert(0, Watch())
import space.app
print(seen["torch"][0], seen["gradio"][1])
"""


@pytest.mark.parametrize("preset, expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_openmp_waits_passively_unless_set_and_before_torch_loads(preset, expected):
    """Spinning OpenMP threads take the 2 vCPUs from Gradio's threads (bench/space_load.py: server CPU
    per unbatched torch call 58 -> 30 ms); the setting only counts if it is there when torch loads."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GRADIO_ANALYTICS_ENABLED")}
    env.update(NER_MODEL="", PYTHONPATH=str(REPO_ROOT))
    if preset:
        env["OMP_WAIT_POLICY"] = preset
    out = subprocess.run([sys.executable, "-c", WATCH], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-2:] == [expected, "False"]
