"""The one place that turns Hub, HTTP and storage exceptions into `UserError` messages.

Shaped like huggingface_hub's `cli/_errors.py`: an ordered table of rules, first match wins.
A rule names the step it applies to (what the code was doing: "whoami", "create", "commit",
"model_info", ...), a test on the exception and a message template. Callers wrap a Hub call in
`hub_errors(HubCall(step, ...))` (or call `translate`), so a new endpoint's messages are new rows
here, not new try/except blocks. Messages never hold the token: every text from the Hub is
scrubbed first.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from nercore.errors import UserError

LOGIN_HELP = (
    "Log in once with `hf auth login` (paste a token with write access from "
    "https://huggingface.co/settings/tokens), or set the HF_TOKEN environment variable."
)
TOKEN_PATTERN = re.compile(rb"\bhf_[A-Za-z0-9]{30,}\b")
TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class HubCall:
    """What the code was doing when an exception came: the facts a message may name."""

    step: str
    repo_id: str = ""
    repo_type: str = "model"
    revision: str = "main"
    token: str | None = field(default=None, repr=False)
    token_source: str = "your stored login (`hf auth login`)"
    user: str = "?"
    attempts: int = 1
    state: str = ""  # what the repo holds now, for a failed commit
    create_pr: bool = False  # the user already asked for a pull request: never suggest --create-pr

    def but(self, **changes) -> HubCall:
        return replace(self, **changes)


# ---- facts about an exception --------------------------------------------------------------------
def scrub(text: str, token: str | None) -> str:
    """The text with the token (and anything shaped like one) replaced by hf_***."""
    text = str(text)
    if token:
        text = text.replace(token, "hf_***")
    return TOKEN_PATTERN.sub(b"hf_***", text.encode()).decode() if "hf_" in text else text


def status(err: BaseException) -> int | None:
    response = getattr(err, "response", None)
    return getattr(response, "status_code", None)


# huggingface_hub's HTTP client: `httpx2` in huggingface_hub 2.x, `httpx` before; whichever is installed.
_HTTP_CLIENTS = ("httpx2", "httpx")


@functools.lru_cache(maxsize=1)
def _transport_classes() -> tuple[type[BaseException], ...]:
    """The network-failure types: the HTTP clients' `TransportError` and the built-in ones (looked up once)."""
    import importlib

    classes: list[type[BaseException]] = [ConnectionError, TimeoutError]
    for name in _HTTP_CLIENTS:
        try:
            classes.append(importlib.import_module(name).TransportError)
        except (ImportError, AttributeError):
            continue
    return tuple(classes)


def is_transport_error(err: BaseException) -> bool:
    """A network failure (no answer from the server), matched by type, never by name or message."""
    return isinstance(err, _transport_classes())


def is_transient(err: BaseException | None) -> bool:
    """A failure worth retrying: network trouble or a 5xx/429/408, anywhere in the cause chain."""
    return any(is_transport_error(e) or status(e) in TRANSIENT_STATUS for e in _chain(err))


UPLOAD_FAILED = re.compile(r"Error while uploading '(?P<path>.+)' to the Hub")
URL_QUERY = re.compile(r"(https?://[^\s?'\"]+)\?[^\s'\"]*")  # pre-signed URLs carry their signature in the query
# httpx's status errors add "For more information check: https://developer.mozilla.org/…/Status/NNN".
MDN_LINE = re.compile(r"For more information check: https?://developer\.mozilla\.org/\S*$")
S3_ERROR = re.compile(r"<Code>(?P<code>[^<]*)</Code>\s*<Message>(?P<message>[^<]*)</Message>")


def _chain(err: BaseException | None):
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        yield err
        err = err.__cause__ or err.__context__


def storage_failure(err: BaseException | None) -> tuple[str, BaseException] | None:
    """(file, the HTTP or network error under it) when an LFS upload failed; else None.

    huggingface_hub wraps every failed LFS transfer (the PUT to the storage origin, and the verify
    call after it) in `RuntimeError("Error while uploading 'PATH' to the Hub.")`, after retrying
    transient errors itself.
    """
    chain = list(_chain(err))
    for i, link in enumerate(chain):
        match = UPLOAD_FAILED.search(str(link)) if isinstance(link, RuntimeError) else None
        if match:
            below = chain[i + 1:]
            cause = next((e for e in below if status(e) is not None), None) or next(
                (e for e in below if is_transport_error(e)), below[0] if below else link)
            return match.group("path"), cause
    return None


def describe_storage(err: BaseException, token: str | None) -> str:
    """`HTTP 403 (AccessDenied: Access Denied)` or `connection dropped (RemoteProtocolError: ...)`, one line."""
    code = status(err)
    if code is None:
        text = URL_QUERY.sub(r"\1", scrub(str(err), token)).strip().splitlines()
        what = "connection dropped" if is_transport_error(err) else "failed"
        return f"{what} ({type(err).__name__}: {' '.join(text)[:300] or 'no answer'})"
    body = getattr(getattr(err, "response", None), "text", "") or ""
    s3 = S3_ERROR.search(body)
    detail = f"{s3.group('code')}: {s3.group('message')}" if s3 else getattr(err, "server_message", None) or ""
    reason = getattr(getattr(err, "response", None), "reason_phrase", "") or ""
    detail = _no_end_stop(scrub(" ".join(str(detail).split()), token)[:300])
    return f"HTTP {code} {reason}".rstrip() + (f" ({detail})" if detail else "")


def describe(err: BaseException | None, token: str | None) -> str:
    """`HTTP 500: <first lines of the Hub's message>`, scrubbed and at most 600 characters."""
    if err is None:
        return "unknown error"
    code = status(err)
    lines = URL_QUERY.sub(r"\1", scrub(str(err), token)).strip().splitlines()
    lines = [line.strip() for line in lines if line.strip() and not MDN_LINE.match(line.strip())]
    text = _no_end_stop(" ".join(lines[:6]))
    return _no_end_stop((f"HTTP {code}: {text}" if code else f"{type(err).__name__}: {text}")[:600])


def _no_end_stop(text: str) -> str:
    """Without its closing '.', '!' or '?': every message puts its own full stop after it (no '!.' or '..')."""
    return text.rstrip().rstrip(".!?").rstrip()


def endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


# ---- the table -------------------------------------------------------------------------------------
def _http(*codes: int) -> Callable[[BaseException], bool]:
    return lambda err: status(err) in codes if codes else status(err) is not None


def _transport(err: BaseException) -> bool:
    return is_transport_error(err)


def _bad_card_metadata(err: BaseException) -> bool:
    return isinstance(err, ValueError) and "Invalid metadata in README.md" in str(err)


def _anything(err: BaseException) -> bool:
    return True


@dataclass(frozen=True)
class Rule:
    steps: tuple[str, ...]
    matches: Callable[[BaseException], bool]
    message: str  # str.format fields: see _fields()


RULES: tuple[Rule, ...] = (
    Rule(("whoami", "create", "model_info"), _transport,
         "could not reach the Hub at {endpoint} ({why}). Check your network connection (and HF_ENDPOINT if you "
         "set it), then run the command again."),
    Rule(("whoami",), _http(401), "the Hub rejected the token from {source} (invalid or expired). {login_help}"),
    Rule(("whoami",), _http(), "could not check your token at {endpoint}: {why}"),
    Rule(("create",), _http(401, 403, 404),
         "no write access to {repo_type} repo {repo_id} for user {user} with the token from {source} ({why}). "
         "Use a token with write access to '{namespace}'{or_create_pr}."),
    Rule(("create",), _http(), "could not create or check {repo_id}: {why}"),
    Rule(("commit",), _bad_card_metadata,
         "the Hub rejected the YAML metadata of README.md: {why}. Fix it (re-run `nerkit card`) and push again."),
    Rule(("commit",), _http(412),
         "{repo_id}@{revision} changed while pushing (someone else committed). Run the command again to push on "
         "top of the new state."),
    Rule(("commit",), _http(401, 403),
         "the Hub refused the push to {repo_id} ({why}). Check that your token has write access to "
         "'{namespace}'. {login_help}"),
    Rule(("commit",), _http(404), "{repo_type} repo {repo_id} (revision {revision}) not found: {why}"),
    Rule(("commit_failed",), lambda err: storage_failure(err) is not None,
         "could not upload {file} to the Hub's file storage: {why}. {state}. Run the same command again to retry; "
         "files already uploaded are not sent twice."),
    Rule(("commit_failed",), _anything,
         "could not push to {repo_id}{tries}: {why}. {state}. Run the same command again to retry; files already "
         "uploaded are not sent twice."),
    Rule(("model_info",), _http(404),
         "model {repo_id} was not found on the Hub (or is private to another account); the Space will fail to "
         "start until it exists. Push it first: nerkit push OUTPUT_DIR --repo-id {repo_id}"),
    Rule(("model_info",), _http(), "could not check model {repo_id}: {why}"),
)


def _fields(err: BaseException, call: HubCall) -> dict[str, str]:
    why, file = describe(err, call.token), ""
    if _bad_card_metadata(err):
        why = scrub(str(err), call.token)
    storage = storage_failure(err)
    if storage is not None:
        file, cause = storage
        why = describe_storage(cause, call.token)
    return dict(
        why=why, endpoint=endpoint(), login_help=LOGIN_HELP, source=call.token_source, user=call.user,
        repo_id=call.repo_id, repo_type=call.repo_type, revision=call.revision, state=call.state,
        namespace=call.repo_id.split("/")[0], tries=f" after {call.attempts} attempts" if call.attempts > 1 else "",
        file=file, or_create_pr="" if call.create_pr else ", or --create-pr",
    )


def message(err: BaseException | None, call: HubCall) -> str | None:
    """The user-facing message for `err` raised during `call`, or None when no rule knows it."""
    for rule in RULES:
        if call.step in rule.steps and rule.matches(err):
            return rule.message.format(**_fields(err, call))
    return None


def translate(err: BaseException | None, call: HubCall) -> UserError | None:
    text = message(err, call)
    return UserError(text) if text is not None else None


@contextlib.contextmanager
def hub_errors(call: HubCall):
    """Run a block of Hub calls; a known failure leaves as a `UserError`, anything else unchanged."""
    try:
        yield
    except UserError:
        raise
    except Exception as err:
        translated = translate(err, call)
        if translated is None:
            raise
        raise translated from None
