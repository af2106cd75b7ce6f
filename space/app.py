"""The Space's app object and launch: analytics off before gradio loads, the MCP server on.

The root `app.py` (and the one `nerkit publish-space` generates for an install without it) only
imports this module, so the entry points can never drift apart. `space.ui.build_demo` already
installs the request limits of `space.limits`.
"""

import logging
import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from space.ui import build_demo, warm_up  # noqa: E402 (after the analytics switch)

demo = build_demo()


def main() -> None:
    """Serve the app: warm the default model up in the background, then launch with the MCP server."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    warm_up(demo)
    demo.launch(mcp_server=True)
