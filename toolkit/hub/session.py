"""Pre-flight: token, account, write access and repo creation, before any long work.

`nerkit publish` runs this before training, so a bad token fails in seconds, not after hours.
The token is only handed to `HfApi`: never printed, logged or written.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from toolkit import __version__
from nercore.errors import UserError
from toolkit.hub.errors import LOGIN_HELP, HubCall, hub_errors, message, scrub
from toolkit.hub.plan import current_token
from toolkit.ids import check_repo_id

log = logging.getLogger(__name__)


@dataclass
class HubSession:
    """An authenticated client after a successful pre-flight. The token never appears in its repr."""

    api: object = field(repr=False)
    user: str
    repo_id: str
    repo_type: str
    repo_url: str
    token: str = field(repr=False)
    token_source: str = ""
    created: bool = False  # this run created the repo (it was not there before)

    def scrub(self, text: str) -> str:
        return scrub(text, self.token)

    def call(self, step: str, **facts) -> HubCall:
        """The facts an error message about this repo may name."""
        return HubCall(step, repo_id=self.repo_id, repo_type=self.repo_type, token=self.token,
                       token_source=self.token_source, user=self.user, **facts)


def preflight(
    repo_id: str,
    *,
    repo_type: str = "model",
    private: bool | None = None,
    create_pr: bool = False,
    space_sdk: str | None = None,
    create: bool = True,
) -> HubSession:
    """Check the token and write access and (unless `create` is False: `create_repo` later) create the
    repo. Raises UserError."""
    from huggingface_hub import HfApi

    check_repo_id(repo_id)
    token = current_token()
    if not token:
        raise UserError(f"no Hugging Face token found (HF_TOKEN is not set and you are not logged in). {LOGIN_HELP}")
    api = HfApi(token=token, library_name="nerkit", library_version=__version__)
    source = "the HF_TOKEN environment variable" if os.environ.get("HF_TOKEN") else "your stored login (`hf auth login`)"
    call = HubCall("whoami", repo_id=repo_id, repo_type=repo_type, token=token, token_source=source)
    with hub_errors(call):
        me = api.whoami()
    user = me.get("name", "?")
    if not create_pr:
        _check_may_push(me, repo_id, source)
    session = HubSession(api=api, user=user, repo_id=repo_id, repo_type=repo_type, repo_url="", token=token,
                         token_source=source)
    if create:
        create_repo(session, private=private, create_pr=create_pr, space_sdk=space_sdk)
    return session


def create_repo(session: HubSession, *, private: bool | None = None, create_pr: bool = False,
                space_sdk: str | None = None) -> None:
    """Create the session's repo (or find it), check write access; `session.created` says whether this
    call made it, so a run that fails afterwards can say that it left an empty repo behind."""
    api, repo_id, repo_type = session.api, session.repo_id, session.repo_type
    with hub_errors(session.call("create", create_pr=create_pr)):
        session.created = not api.repo_exists(repo_id, repo_type=repo_type)
        session.repo_url = str(api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True,
                                               space_sdk=space_sdk))
        if not create_pr:
            api.auth_check(repo_id, repo_type=repo_type, write=True)
        if private is not None:
            _warn_on_visibility(api, repo_id, repo_type, private)
    log.info("pre-flight ok: user %s can write to %s %s", session.user, repo_type, repo_id)


def _check_may_push(me: dict, repo_id: str, source: str) -> None:
    """A read-only token, or a namespace that is not the user's: say so before creating anything."""
    user = me.get("name", "?")
    role = ((me.get("auth") or {}).get("accessToken") or {}).get("role")
    orgs = [org.get("name") for org in me.get("orgs") or []]
    namespace, name = repo_id.split("/")
    if role == "read":
        raise UserError(f"the token from {source} (user {user}) is read-only, so it cannot push to {repo_id}. "
                        "Create a token with write access at https://huggingface.co/settings/tokens, then "
                        "`hf auth login --force` (or set HF_TOKEN).")
    if namespace != user and namespace not in orgs:
        where = f"your organisations ({', '.join(orgs)})" if orgs else "your organisations (you have none)"
        raise UserError(f"--repo-id {repo_id}: '{namespace}' is neither your user name ({user}) nor one of {where}. "
                        f"Use --repo-id {user}/{name}, or --create-pr to propose the change to someone else's repo.")


def _warn_on_visibility(api, repo_id: str, repo_type: str, private: bool) -> None:
    info = api.repo_info(repo_id, repo_type=repo_type)
    if info.private is not None and bool(info.private) != private:
        log.warning("%s already exists and is %s; --private%s only applies when the repo is created. "
                    "Change its visibility in the repo settings.", repo_id,
                    "private" if info.private else "public", "" if private else "=False")


def check_space_model(session: HubSession, model_id: str) -> None:
    """Refuse a Space whose model is not on the Hub (it would serve nothing); warn when the model is
    private (the Space needs a token) or cannot be checked right now."""
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    call = session.call("model_info").but(repo_id=model_id, repo_type="model")
    try:
        info = session.api.model_info(model_id)
    except RepositoryNotFoundError as err:
        raise UserError(message(err, call).replace("the Space will fail to start until it exists",
                                                   "a Space for it would serve nothing")) from None
    except HfHubHTTPError as err:
        log.warning("%s", message(err, call))
        return
    _check_model_files(model_id, info.siblings)
    if info.private:
        log.warning("model %s is private: add a secret named HF_TOKEN (a read token) in the Space settings, "
                    "or the Space cannot load it", model_id)


def _check_model_files(model_id: str, siblings) -> None:
    """A model repo the Space can load: config.json and weights (an empty repo left by a failed push has neither)."""
    from toolkit.hub.model_folder import WEIGHT_FILES

    if siblings is None:  # the Hub did not list the files: nothing to check against
        return
    files = {sibling.rfilename for sibling in siblings}
    needed = {"config.json": ("config.json",), f"weights ({' or '.join(WEIGHT_FILES)})": WEIGHT_FILES}
    missing = [what for what, names in needed.items() if not files & set(names)]
    if missing:
        raise UserError(f"model {model_id} is on the Hub but holds no {' and no '.join(missing)}, so a Space for it "
                        f"would serve nothing. Push the trained folder first: nerkit push OUTPUT_DIR --repo-id {model_id}")
