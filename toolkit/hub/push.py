"""The push flows the commands call: dry-run or pre-flight + one commit, for a folder or a Space.

Each prints what it plans and what happened, so the commands stay flag parsers. Under torchrun
only rank 0 talks to the Hub.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from toolkit.hub.commit import format_result, push
from toolkit.hub.model_folder import plan_model_folder
from toolkit.hub.plan import PushPlan, check_secrets, format_plan, write_tree
from toolkit.hub.session import HubSession, check_space_model, create_repo, preflight
from toolkit.hub.space_bundle import plan_space
from toolkit.ids import check_repo_id
from toolkit.runtime import process_rank


@dataclass(frozen=True)
class HubOptions:
    """Where and how to push: the Hub flags shared by push, publish and publish-space."""

    repo_id: str
    revision: str | None = None
    private: bool | None = None
    create_pr: bool = False
    commit_message: str | None = None
    commit_description: str | None = None
    dry_run: str | Path | None = None

    def __post_init__(self) -> None:
        check_repo_id(self.repo_id)

    def preflight(self, repo_type: str = "model", *, create: bool = True) -> HubSession:
        return preflight(self.repo_id, repo_type=repo_type, private=self.private, create_pr=self.create_pr,
                         space_sdk="gradio" if repo_type == "space" else None, create=create)

    def create(self, session: HubSession) -> None:
        """Create the repo a `preflight(create=False)` checked (after the local inputs were)."""
        create_repo(session, private=self.private, create_pr=self.create_pr,
                    space_sdk="gradio" if session.repo_type == "space" else None)


def push_plan(plan: PushPlan, options: HubOptions, *, session: HubSession | None = None) -> int:
    """Dry-run or push a plan; pre-flight first unless `session` comes from an earlier one."""
    where = f"{plan.repo_type} repo {options.repo_id}" + (f"@{options.revision}" if options.revision else "")
    check_secrets(plan)  # before anything is written or created
    if options.dry_run:
        dest = write_tree(plan, options.dry_run)
        print(format_plan(plan, f"Dry run: would push these files to {where}:"))
        print(f"Wrote them to {dest}; nothing was sent to the Hub.")
        return 0
    session = session or options.preflight(plan.repo_type)
    print(format_plan(plan, f"Publishing to {where} as {session.user}:"))
    try:
        result = push(plan, session, revision=options.revision, create_pr=options.create_pr,
                      commit_message=options.commit_message, commit_description=options.commit_description)
    except BaseException:
        clear_progress_bars()
        raise
    print(format_result(result, plan))
    return 0


def clear_progress_bars() -> None:
    """Close and erase the upload bars a failed transfer left open: the error then starts on a line of
    its own, and no bar redraws itself at "100%" after it (the bytes were sent; the storage refused them)."""
    try:
        from tqdm import tqdm
    except ImportError:
        return
    for bar in list(getattr(tqdm, "_instances", ())):
        bar.leave = False
        bar.close()


def push_folder(output_dir: str | Path, options: HubOptions, *, exclude: tuple[str, ...] = (),
                include_onnx: bool = True) -> int:
    """`nerkit push`: a trained output folder (with its onnx/ unless `include_onnx` is False), from rank 0 only."""
    rank = process_rank()
    if rank != 0:
        print(f"nerkit push: process rank {rank}: skipping, only rank 0 pushes")
        return 0
    plan = plan_model_folder(output_dir, exclude=tuple(exclude), repo_id=options.repo_id, include_onnx=include_onnx)
    return push_plan(plan, options)


def publish_space(model_id: str, options: HubOptions, *, source_dir: str | Path | None = None,
                  title: str | None = None, hardware: str = "cpu") -> int:
    """`nerkit publish-space`: the Gradio app as a Space that loads `model_id` by default."""
    plan = plan_space(model_id, source_dir=source_dir, title=title, hardware=hardware)
    session = None
    if not options.dry_run:
        session = options.preflight("space", create=False)
        check_space_model(session, model_id)  # before the Space exists: a Space with no model is refused
        options.create(session)
    return push_plan(plan, options, session=session)
