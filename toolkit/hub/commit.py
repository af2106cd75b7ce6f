"""Send a planned tree in one commit, retried safely, or no commit when nothing changed.

- One `create_commit` per push, never `upload_folder` (which may split a large folder into several
  commits when hf_xet is installed): the repo never shows half a model.
- Re-pushing an unchanged folder compares blob ids with the remote tree and makes no commit.
- A commit that fails on a transient error is retried, but only after checking that it did not
  land (a lost response), so a retry never makes a duplicate commit.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from toolkit import __version__
from nercore.errors import UserError
from toolkit.hub.errors import HubCall, describe, is_transient, status, storage_failure, translate
from toolkit.hub.plan import PlannedFile, PushPlan, check_secrets
from toolkit.hub.session import HubSession

log = logging.getLogger(__name__)


@dataclass
class PushResult:
    repo_id: str
    repo_type: str
    revision: str
    commit_oid: str | None
    commit_url: str | None = None
    pr_url: str | None = None
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    lfs: list[str] = field(default_factory=list)  # changed paths the Hub stored in LFS, read back after the commit
    attempts: int = 0

    @property
    def nothing_to_push(self) -> bool:
        return not self.changed


# ---- the remote side ------------------------------------------------------------------------------
def remote_files(session: HubSession, revision: str):
    """(head commit, {path: RepoFile}) at `revision`, or (None, {}) when the revision does not exist."""
    from huggingface_hub.errors import RevisionNotFoundError
    from huggingface_hub.hf_api import RepoFile

    api = session.api
    try:
        head = api.repo_info(session.repo_id, repo_type=session.repo_type, revision=revision).sha
    except RevisionNotFoundError:
        return None, {}
    tree = api.list_repo_tree(session.repo_id, recursive=True, revision=head, repo_type=session.repo_type)
    return head, {f.path: f for f in tree if isinstance(f, RepoFile)}


def same(item: PlannedFile, remote) -> bool:
    if remote is None:
        return False
    if remote.lfs is not None:
        return remote.lfs.sha256 == item.sha256
    return remote.blob_id == item.git_oid


def _pr_refs(session: HubSession) -> dict[str, str]:
    refs = session.api.list_repo_refs(session.repo_id, repo_type=session.repo_type, include_pull_requests=True)
    return {ref.ref: ref.target_commit for ref in refs.pull_requests or []}


def _landed(session: HubSession, revision: str, files: list[PlannedFile], head: str | None,
            prs_before: dict[str, str] | None) -> tuple[str, str | None] | None:
    """After a failed commit call: did the commit land anyway? -> (commit oid, PR ref) or None."""
    if prs_before is None:
        new_head, remote = remote_files(session, revision)
        if new_head and new_head != head and all(same(f, remote.get(f.path)) for f in files):
            return new_head, None
        return None
    for ref, target in _pr_refs(session).items():
        if ref not in prs_before:
            _, remote = remote_files(session, ref)
            if all(same(f, remote.get(f.path)) for f in files):
                return target, ref
    return None


def _stored_in_lfs(session: HubSession, commit_oid: str, paths: list[str]) -> list[str]:
    """Which of `paths` the Hub stored in LFS at `commit_oid` (what it decided, not our prediction)."""
    infos = session.api.get_paths_info(session.repo_id, paths, revision=commit_oid, repo_type=session.repo_type)
    return sorted(info.path for info in infos if getattr(info, "lfs", None) is not None)


# ---- the push ---------------------------------------------------------------------------------------
def push(
    plan: PushPlan,
    session: HubSession,
    *,
    revision: str | None = None,
    create_pr: bool = False,
    commit_message: str | None = None,
    commit_description: str | None = None,
    attempts: int = 3,
    wait_s: float = 1.0,
) -> PushResult:
    """Send the planned tree in one commit (or none when the remote already holds it)."""
    check_secrets(plan, session.token)
    revision = revision or "main"
    result = PushResult(session.repo_id, session.repo_type, revision, None)
    call = session.call("commit", revision=revision)
    try:
        head, changed = _changes(plan, session, revision, create_pr, result)
        if changed:
            message = commit_message or f"Upload {len(changed)} file(s) with nerkit {__version__}"
            description = commit_description
            if description is None:
                description = "Files: " + ", ".join(result.changed) + f"\n\nPushed by `nerkit` {__version__}."
            _commit_with_retry(session, result, changed, head, create_pr, message, description, attempts, wait_s)
        return result
    except UserError:
        raise
    except Exception as err:
        if storage_failure(err) is not None:  # an LFS transfer failed: no commit was attempted
            raise _failed(session, call, result.commit_oid, err, result.attempts, create_pr) from None
        translated = translate(err, call)
        if translated is not None:
            raise translated from None
        if is_transient(err) or status(err) is not None:
            raise _failed(session, call, result.commit_oid, err, result.attempts, create_pr) from None
        raise


def _changes(plan: PushPlan, session: HubSession, revision: str, create_pr: bool, result: PushResult):
    """(head, files that differ from the remote), creating the branch when it is missing."""
    head, remote = remote_files(session, revision)
    if head is None:
        if create_pr:
            raise UserError(f"--revision {revision}: no such branch in {session.repo_id}; a pull request needs an "
                            "existing branch to target. Leave out --revision to target main.")
        log.info("creating branch %s in %s", revision, session.repo_id)
        session.api.create_branch(session.repo_id, branch=revision, repo_type=session.repo_type, exist_ok=True)
        head, remote = remote_files(session, revision)
    changed = [f for f in plan.files if not same(f, remote.get(f.path))]
    result.unchanged = [f.path for f in plan.files if f not in changed]
    result.changed = [f.path for f in changed]
    result.commit_oid = head
    return head, changed


def _commit_with_retry(session: HubSession, result: PushResult, changed: list[PlannedFile], head: str | None,
                       create_pr: bool, message: str, description: str, attempts: int, wait_s: float) -> None:
    from huggingface_hub import CommitOperationAdd

    revision, last_error = result.revision, None
    prs_before = _pr_refs(session) if create_pr else None
    for attempt in range(1, attempts + 1):
        result.attempts = attempt
        operations = [CommitOperationAdd(path_in_repo=f.path, path_or_fileobj=f.data if f.data is not None else str(f.source))
                      for f in changed]
        try:
            info = session.api.create_commit(
                session.repo_id, operations, commit_message=message, commit_description=description,
                repo_type=session.repo_type, revision=revision, create_pr=create_pr,
                parent_commit=None if create_pr else head,
            )
        except Exception as err:  # noqa: BLE001 - sorted into transient / not below
            last_error = err
            if not is_transient(err) or storage_failure(err) is not None:
                raise  # huggingface_hub already retried the LFS transfer itself
            log.warning("attempt %d/%d to commit to %s failed: %s", attempt, attempts, session.repo_id,
                        describe(err, session.token))
            landed = _check_landed(session, revision, changed, head, prs_before, attempt)
            if landed is False:
                break
            if landed:
                log.warning("the commit reached %s although its answer was lost; not sending it again", session.repo_id)
                _record(session, result, landed[0], landed[1])
                return
            if create_pr:
                break  # no PR appeared, but retrying a PR blindly could open two: stop here
            if attempt < attempts:
                time.sleep(wait_s * 2 ** (attempt - 1))
            continue
        pr_ref = f"refs/pr/{info.pr_num}" if info.pr_num is not None else None
        _record(session, result, info.oid, pr_ref, commit_url=info.commit_url, pr_url=info.pr_url)
        return
    raise _failed(session, session.call("commit", revision=revision), head, last_error, result.attempts, create_pr)


def _check_landed(session, revision, changed, head, prs_before, attempt):
    """The landed-check; False when it cannot tell and a retry would not be safe."""
    try:
        return _landed(session, revision, changed, head, prs_before)
    except Exception as check_err:  # noqa: BLE001 - the Hub may still be down
        if not is_transient(check_err):
            raise
        # Unknown. A retry is safe only where it names the old head as parent (a commit that did
        # land then makes it fail with 412); on a branch without a head, stop.
        log.warning("could not check whether attempt %d reached %s: %s", attempt, session.repo_id,
                    describe(check_err, session.token))
        return False if head is None else None


def _record(session: HubSession, result: PushResult, oid: str, pr_ref: str | None, *,
            commit_url: str | None = None, pr_url: str | None = None) -> None:
    result.commit_oid = oid
    result.commit_url = commit_url or f"{session.repo_url}/commit/{oid}"
    if pr_ref:
        result.pr_url = pr_url or f"{session.repo_url}/discussions/{pr_ref.rsplit('/', 1)[1]}"
    try:
        result.lfs = _stored_in_lfs(session, oid, result.changed)
    except Exception as err:  # noqa: BLE001 - the commit is made; the listing is only a report
        log.warning("could not list which files went through LFS: %s", describe(err, session.token))


def _failed(session: HubSession, call: HubCall, head: str | None, err: BaseException | None,
            attempts: int, create_pr: bool) -> UserError:
    """A clear message for a push that did not happen, saying what the repo holds now."""
    try:
        now, _ = remote_files(session, call.revision)
        if create_pr:
            state = f"no pull request was opened by this run (check {session.repo_url}/discussions)"
        elif now == head:
            state = f"nothing was committed: {session.repo_id}@{call.revision} still points to {str(head)[:7]}"
        else:
            state = f"{session.repo_id}@{call.revision} now points to {str(now)[:7]} (changed by someone else)"
    except Exception:  # noqa: BLE001 - the Hub is unreachable: say so instead
        state = "the repo could not be checked afterwards, but a commit is all-or-nothing: no partial upload is visible"
    return translate(err, call.but(step="commit_failed", state=state, attempts=attempts))


def format_result(result: PushResult, plan: PushPlan) -> str:
    where = f"{result.repo_id}@{result.revision}"
    if result.nothing_to_push:
        return (f"Nothing to push: {where} already holds these {len(plan.files)} files "
                f"(commit {str(result.commit_oid)[:7]}); no commit made.")
    lines = [f"Pushed {len(result.changed)} changed file(s) to {where} in one commit {str(result.commit_oid)[:7]}"
             + (f" ({len(result.unchanged)} unchanged)" if result.unchanged else "") + "."]
    if result.lfs:
        lines.append(f"  through LFS: {', '.join(result.lfs)}")
    if result.pr_url:
        lines.append(f"  pull request: {result.pr_url}")
    elif result.commit_url:
        lines.append(f"  commit: {result.commit_url}")
    return "\n".join(lines)
