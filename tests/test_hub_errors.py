"""The one Hub-error translator: which failure becomes which message, and that tokens never leak."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from hub_fixtures import fake_token
from toolkit.hub.errors import HubCall, hub_errors, is_transient, translate
from nercore.errors import UserError


class HTTPError(Exception):
    """Shaped like huggingface_hub's HfHubHTTPError: a message and a response with a status."""

    def __init__(self, status: int, text: str = "failed"):
        super().__init__(text)
        self.response = SimpleNamespace(status_code=status)


from httpx2 import ConnectError  # noqa: E402 (what huggingface_hub 2's client raises when the network fails)


class NamedLikeATransportError(Exception):
    """Only its name says "network": matching by class name would take it for one, isinstance does not."""


NamedLikeATransportError.__name__ = "NetworkError"


@pytest.mark.parametrize("step, error, expected", [
    ("whoami", HTTPError(401), "rejected the token from the HF_TOKEN environment variable (invalid or expired)"),
    ("whoami", HTTPError(500), "could not check your token at"),
    ("whoami", ConnectError("refused"), "could not reach the Hub at"),
    ("create", HTTPError(403), "no write access to model repo alice/x for user alice"),
    ("create", HTTPError(400), "could not create or check alice/x: HTTP 400"),
    ("commit", HTTPError(412), "alice/x@main changed while pushing"),
    ("commit", HTTPError(403), "the Hub refused the push to alice/x"),
    ("commit", HTTPError(404), "model repo alice/x (revision main) not found"),
    ("commit", ValueError("Invalid metadata in README.md.\n- tags: wrong"), "rejected the YAML metadata of README.md"),
    ("model_info", HTTPError(404), "model alice/x was not found on the Hub"),
])
def test_each_known_failure_has_one_message(step, error, expected):
    call = HubCall(step, repo_id="alice/x", user="alice", token_source="the HF_TOKEN environment variable")
    assert expected in str(translate(error, call))


def test_unknown_failures_pass_through_unchanged():
    with pytest.raises(KeyError):
        with hub_errors(HubCall("commit", repo_id="alice/x")):
            raise KeyError("a bug, not a Hub answer")
    assert translate(HTTPError(500), HubCall("commit", repo_id="alice/x")) is None, "5xx on commit: retried instead"


def test_messages_never_hold_the_token():
    token = fake_token()
    with pytest.raises(UserError) as err:
        with hub_errors(HubCall("whoami", token=token)):
            raise HTTPError(500, f"server saw Authorization: Bearer {token}")
    assert token not in str(err.value) and "hf_***" in str(err.value)


def test_messages_end_in_one_full_stop_and_drop_the_mdn_link():
    raw = ("Client error '400 Bad Request' for url 'http://127.0.0.1/api/models/alice/x/commit/main'\n"
           "For more information check: https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/400\n\n"
           "Bad request: the commit has no operations!")
    call = HubCall("commit_failed", repo_id="alice/x", attempts=1, state="nothing was committed")
    text = str(translate(HTTPError(400, raw), call))
    assert "developer.mozilla.org" not in text and "For more information" not in text
    assert "no operations. nothing was committed." in text
    assert "!." not in text and ".." not in text
    created = str(translate(HTTPError(400, "Repository name is invalid."), HubCall("create", repo_id="alice/x")))
    assert created.endswith("HTTP 400: Repository name is invalid") and ".." not in created


def test_create_pr_is_not_suggested_to_someone_who_asked_for_it():
    refused = HTTPError(403)
    plain = str(translate(refused, HubCall("create", repo_id="bob/x", user="alice")))
    asked = str(translate(refused, HubCall("create", repo_id="bob/x", user="alice", create_pr=True)))
    assert plain.endswith("Use a token with write access to 'bob', or --create-pr.")
    assert asked.endswith("Use a token with write access to 'bob'.") and "--create-pr" not in asked


def test_failed_push_names_attempts_and_state():
    call = HubCall("commit_failed", repo_id="alice/x", attempts=3, state="nothing was committed")
    text = str(translate(HTTPError(500, "boom"), call))
    assert text.startswith("could not push to alice/x after 3 attempts: HTTP 500: boom. nothing was committed.")


def test_transient_errors_are_found_in_the_cause_chain():
    try:
        try:
            raise HTTPError(503)
        except HTTPError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert is_transient(outer)
    assert is_transient(ConnectError("down")) and not is_transient(HTTPError(403))
    assert is_transient(TimeoutError("slow")) and not is_transient(NamedLikeATransportError("a name only"))


def _upload_failed(cause: BaseException) -> RuntimeError:
    """What huggingface_hub raises when an LFS transfer fails (after its own retries)."""
    try:
        raise RuntimeError("Error while uploading 'weights/model.safetensors' to the Hub.") from cause
    except RuntimeError as err:
        return err


def test_storage_failures_name_the_file_and_the_status():
    call = HubCall("commit_failed", repo_id="alice/x", state="nothing was committed: alice/x@main still points to abc1234")
    refused = HTTPError(403, "403 Forbidden for url: https://s3.example/bucket/obj?X-Amz-Signature=secret")
    refused.response.text = "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
    refused.response.reason_phrase = "Forbidden"
    text = str(translate(_upload_failed(refused), call))
    assert text.startswith("could not upload weights/model.safetensors to the Hub's file storage: "
                           "HTTP 403 Forbidden (AccessDenied: Request has expired). nothing was committed")
    assert "secret" not in text and "\n" not in text
    dropped = str(translate(_upload_failed(ConnectError("Server disconnected https://s3.example/o?sig=secret")), call))
    assert "file storage: connection dropped (ConnectError: Server disconnected https://s3.example/o)." in dropped
    assert translate(_upload_failed(HTTPError(500)), call.but(step="commit")) is None, "only a failed push reports it"
