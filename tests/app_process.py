"""`python app.py` in a subprocess, exactly as a Space starts it (a blocking `demo.launch`, the
environment as its only configuration): the server for tests of the path a visitor takes.

    with served_app(NER_MODEL=str(folder)) as url:
        ...

Leave `NER_MODEL` out to serve the bundled ./model (`default_is_bundled`). Without `NER_MODELS` or
`NER_MODELS_FILE` the app lists no other models (an empty models file), so a test never depends on
space/models.txt. The port is chosen free and retried if another process takes it first.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _environment(port: int, folder: Path, env: dict[str, str]) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("NER_", "GRADIO_"))}
    if "NER_MODELS" not in env and "NER_MODELS_FILE" not in env:
        (folder / "models.txt").write_text("")
        environ["NER_MODELS_FILE"] = str(folder / "models.txt")
    environ.update(NER_DEVICE="cpu", GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port),
                   GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1")
    environ.update(env)
    return environ


def _wait_until_up(process: subprocess.Popen, url: str, timeout: float) -> bool:
    """True once `url` answers; False when the process exited or `timeout` passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.5)
    return False


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=20)


@contextmanager
def served_app(timeout: float = 180.0, **env: str) -> Iterator[str]:
    """The URL of `python app.py` running with `env` (NER_* settings); stopped on exit."""
    with tempfile.TemporaryDirectory(prefix="app-py-") as tmp:
        folder = Path(tmp)
        for attempt in range(3):  # the port may be taken between free_port() and the app binding it
            port = free_port()
            log_path = folder / f"app-{attempt}.log"
            with open(log_path, "wb") as log:
                process = subprocess.Popen([sys.executable, "app.py"], cwd=REPO_ROOT, env=_environment(port, folder, env),
                                           stdout=log, stderr=subprocess.STDOUT)
            url = f"http://127.0.0.1:{port}/"
            if _wait_until_up(process, url, timeout):
                break
            _stop(process)
            output = log_path.read_text(errors="replace")
            if "empty port" not in output or attempt == 2:
                raise AssertionError(f"python app.py did not serve at {url}:\n{output[-3000:]}")
        try:
            yield url
        finally:
            _stop(process)
