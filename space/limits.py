"""Limits the HTTP server enforces before Gradio sees a request.

Gradio parses a request body in full before the Space can check the text's length, so a 50 MB
body costs 50 MB+ of memory first (and the allocator rarely gives it back). `BodyLimit` refuses a
body over a small multiple of the text limit from its Content-Length alone, or after reading just
past the limit when there is none; uploads (`POST …/upload`) are refused outright, because the
Space takes text only. `protect(demo)` installs both on every launch of the demo, and lets
`NER_WORKERS` requests into the app at once: the service's own slot (`space.scheduler`) limits
forward passes, so a request may wait for a model to load without holding that slot.

It also closes what Gradio leaves open by default: `/monitoring` (a public summary of every
handler's traffic) is off; a call that leaves out optional values gets their defaults (a client
written before `min_score` existed still works), and one without a required value gets a message
naming them (Gradio's own ValueError reaches API clients as `{"error": null}` and logs the values in
full); and MCP tool results are JSON (Gradio's MCP server sends `str(dict)`, a Python repr).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from nercore.errors import shown

JSON_OVERHEAD = 64 * 1024
# A character can cost up to 12 bytes of JSON ("\ud83d\ude00" for one emoji).
BYTES_PER_CHAR = 12


def body_limit(max_chars: int) -> int:
    """Largest request body accepted for a text limit of `max_chars` characters."""
    return BYTES_PER_CHAR * int(max_chars) + JSON_OVERHEAD


class BodyLimit:
    """ASGI middleware: 413 for bodies over `max_bytes`, 403 for uploads; everything else passes."""

    def __init__(self, app, max_bytes: int, max_chars: int | None = None):
        self.app, self.max_bytes, self.max_chars = app, int(max_bytes), max_chars

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "http" or scope.get("method") not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        if scope.get("path", "").rstrip("/").endswith("/upload"):
            return await _refuse(send, 403, "Uploads are disabled: this Space takes text only.")
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await _refuse(send, 413, self._too_big(declared.decode("latin-1")))
        chunks, total = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body = message.get("body", b"")
            total += len(body)
            if total > self.max_bytes:
                return await _refuse(send, 413, self._too_big(f"more than {self.max_bytes}"))
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    def _too_big(self, size: str) -> str:
        chars = f" (texts of up to {self.max_chars:,} characters)" if self.max_chars else ""
        return f"Request body too large: {size} bytes; this Space accepts at most {self.max_bytes:,} bytes{chars}."


async def _refuse(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def _named_missing_inputs(validate):
    """Gradio's input check, with a message an API client sees (and a log line without the values)."""
    import gradio as gr

    def validate_inputs(block_fn, inputs):
        parameters = _parameters(block_fn) if len(inputs) < len(block_fn.inputs) else None  # a short call only
        if parameters and all(p.default is not p.empty for p in parameters[len(inputs):]):
            inputs.extend(p.default for p in parameters[len(inputs):])  # optional values left out: their defaults
        try:
            return validate(block_fn, inputs)
        except ValueError:
            wanted = [p.name for p in parameters] if parameters else [f"value {i + 1}" for i in range(len(block_fn.inputs))]
            raise gr.Error(
                f"/{shown(block_fn.name, 40)[1:-1]} takes {len(wanted)} values ({', '.join(wanted)}) but the call "
                f"sent {len(inputs)}; send null for the optional ones (gradio_client fills them in for you).",
                print_exception=False,
            ) from None

    return validate_inputs


def _parameters(block_fn) -> list | None:
    """The endpoint function's parameters (text, strategies, model, min_score), or None when unreadable."""
    import inspect

    try:
        parameters = list(inspect.signature(block_fn.fn).parameters.values())
    except (TypeError, ValueError):
        return None
    return parameters if len(parameters) == len(block_fn.inputs) else None


def _json_tool_results(mcp: Any) -> None:
    """Make the MCP server send dict and list results as JSON text, as the tools' descriptions say."""
    postprocess = mcp.postprocess_output_data
    if getattr(postprocess, "nerkit_json", False):
        return

    def postprocess_output_data(data, root_url):
        plain = [json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v for v in data]
        return postprocess(plain, root_url)

    postprocess_output_data.nerkit_json = True
    mcp.postprocess_output_data = postprocess_output_data


def _json_mcp_lifespan(demo: Any, inner: Any = None):
    """A server lifespan that switches the MCP server to JSON results when the server starts.

    Gradio builds `demo.mcp_server_obj` while it creates the app, and enters the app's lifespan
    (ours nested in its MCP one) before the first request. `python app.py` never gets back from
    `demo.launch()` (it blocks serving), so a patch applied after launch would never run there."""

    @contextlib.asynccontextmanager
    async def lifespan(app):
        mcp = getattr(demo, "mcp_server_obj", None)
        if mcp is not None:
            _json_tool_results(mcp)
        if inner is None:
            yield
        else:
            async with inner(app):
                yield

    return lifespan


def protect(demo: Any) -> Any:
    """Install the body limit and the upload refusal on every `demo.launch`, and admit `NER_WORKERS`
    requests into the inference events at once. Idempotent; returns `demo`."""
    if getattr(demo, "nerkit_protected", False):
        return demo
    from starlette.middleware import Middleware

    config = demo.nerkit_service.config
    limit = body_limit(config.max_chars)
    for fn in demo.fns.values():
        if getattr(fn, "concurrency_id", None) == "inference":
            fn.concurrency_limit = config.workers
    launch = demo.launch

    def protected_launch(*args, **kwargs):
        app_kwargs = dict(kwargs.pop("app_kwargs", None) or {})
        app_kwargs["middleware"] = [*app_kwargs.get("middleware", []),
                                    Middleware(BodyLimit, max_bytes=limit, max_chars=config.max_chars)]
        app_kwargs["lifespan"] = _json_mcp_lifespan(demo, app_kwargs.get("lifespan"))
        kwargs.setdefault("max_file_size", 1)  # belt and braces: Gradio's own upload cap, one byte
        kwargs["enable_monitoring"] = False
        return launch(*args, app_kwargs=app_kwargs, **kwargs)  # blocks under `python app.py`

    demo.validate_inputs = _named_missing_inputs(demo.validate_inputs)
    demo.launch = protected_launch
    demo.nerkit_protected = True
    demo.nerkit_body_limit = limit
    return demo
