"""Cold start of the Space: from `python app.py` to the first `/compare` answer.

Starts the app exactly as the README's run command does (a fresh process, the bundled model
in ./model unless NER_MODEL says otherwise), polls it with `gradio_client` until the first
answer comes back, and prints the seconds to the server being up and to the first answer,
plus the entities each strategy found. `--json` prints the same as one JSON object (the slow
test `tests/test_bundled_model.py` reads it).

    python bench/cold_start.py
    NER_MODEL=runs/my-ner python bench/cold_start.py --text "Ada Lovelace lived in London."
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT = "Barack Obama visited the United Nations offices in New York City."


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cold_start(text: str, timeout: float = 120.0) -> dict:
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1")}
    started = time.perf_counter()
    app = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    server_up = None
    try:
        from gradio_client import Client

        while time.perf_counter() - started < timeout:
            if app.poll() is not None:
                raise RuntimeError(f"app.py exited with {app.returncode}:\n{app.stderr.read()[-3000:]}")
            try:
                client = Client(url, verbose=False)
            except Exception:  # noqa: BLE001 - not listening yet
                time.sleep(0.2)
                continue
            server_up = time.perf_counter() - started
            result = client.predict(text=text, strategies=None, model=None, api_name="/compare")
            first_answer = time.perf_counter() - started
            return {
                "server_up_s": round(server_up, 2),
                "first_answer_s": round(first_answer, 2),
                "model": result["model"],
                "device": result["info"]["device"],
                "entities": {
                    strategy: [(e.get("entity_group") or e["entity"], text[e["start"]:e["end"]]) for e in found]
                    for strategy, found in result["entities"].items()
                },
            }
        raise TimeoutError(f"no answer from {url} within {timeout:.0f}s")
    finally:
        app.terminate()
        try:
            app.wait(timeout=10)
        except subprocess.TimeoutExpired:
            app.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--text", default=TEXT)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    report = cold_start(args.text)
    if args.json:  # for tests: nothing recorded
        print(json.dumps(report))
        return
    from _results import record

    record("cold_start", {"server_up_s": round(report["server_up_s"], 1), "first_answer_s": round(report["first_answer_s"], 1)},
           notes=f"model {report['model']} on {report['device']}")
    print(f"model {report['model']} on {report['device']}")
    print(f"server up after {report['server_up_s']:.1f}s, first /compare answer after {report['first_answer_s']:.1f}s")
    for strategy, entities in report["entities"].items():
        print(f"  {strategy:<8} {entities}")


if __name__ == "__main__":
    main()
