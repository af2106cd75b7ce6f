"""The launched Space keeps no per-event record that grows with its traffic (issue 22, the soak).

Gradio records every event (up to 10,000) and, after each one, builds a pandas DataFrame of all the
records for its /monitoring summary, which this Space turns off. Under 64 clients those frames'
Arrow buffers grew the server's RSS by ~150 MB in 10 rounds (`bench/space_load.py --soak`).
`space.app` (what `python app.py` runs) keeps one record and never builds the frame; this test
launches that module's demo in a subprocess and calls it, counting the frames Gradio builds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app_process import REPO_ROOT, free_port

CALLS = 12

SCRIPT = """
import json, sys
import gradio.queueing as queueing

built = []
_get_df = queueing.Queue._get_df
queueing.Queue._get_df = lambda self, records: built.append(len(records)) or _get_df(self, records)

import space.app as app  # what `python app.py` imports: its settings, its demo

app.demo.launch(prevent_thread_lock=True)
from gradio_client import Client

client = Client(app.demo.local_url, verbose=False)
for i in range(int(sys.argv[1])):
    client.predict(text=f"Anna met Bob in Paris on day {i}.", strategy="simple", api_name="/predict")
print("RESULT", json.dumps({"frames": len(built), "records": len(app.demo._queue.event_analytics)}))
app.demo.close()
"""


def test_the_launched_app_keeps_no_growing_event_record(tiny_bert: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NER_", "GRADIO_"))}
    env.update(NER_MODEL=str(tiny_bert), NER_DEVICE="cpu", NER_BACKEND="torch", GRADIO_SERVER_NAME="127.0.0.1",
               GRADIO_SERVER_PORT=str(free_port()), PYTHONUNBUFFERED="1")
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(CALLS)], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stdout[-2000:] + done.stderr[-3000:]
    result = json.loads(lines[-1].split(" ", 1)[1])
    assert result["frames"] == 0, result  # was one DataFrame of every record after each of the calls
    assert result["records"] <= 1, result  # was one record per call (up to 10,000)
