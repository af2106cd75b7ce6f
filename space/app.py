"""The Space's app object and launch: analytics off before gradio loads, the MCP server on.

OpenMP threads wait passively (`OMP_WAIT_POLICY=PASSIVE`, unless set), before torch loads: by
default torch's OpenMP threads spin after every operation, and on a 2-vCPU Space that spinning
takes the CPU from Gradio's own threads. Measured with `bench/space_load.py` on torch: server CPU
per unbatched call 58 -> 30 ms, unbatched calls/s +35%, one-client p95 0.13 -> 0.08 s.

The root `app.py` (and the one `nerkit publish-space` generates for an install without it) only
imports this module, so the entry points can never drift apart. `space.ui.build_demo` already
installs the request limits of `space.limits`.
"""

import logging
import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read once, when torch loads libgomp
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
# Gradio keeps a record of its last 10,000 events and, after EVERY event, builds a pandas DataFrame of
# all of them for its /monitoring summary, which this Space turns off (space.limits). Those frames'
# Arrow buffers were what grew the server under load (`bench/space_load.py --soak`, issue 22): one
# record kept, the frame never built. Read when `demo.queue()` creates the queue.
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1")
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", str(2**62))

from space.ui import build_demo, warm_up  # noqa: E402 (after the analytics switch)

demo = build_demo()


def main() -> None:
    """Serve the app: warm the default model up in the background, then launch with the MCP server."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    warm_up(demo)
    demo.launch(mcp_server=True)
