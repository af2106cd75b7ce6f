"""Hub flags shared by `push`, `publish` and `publish-space`, and the options object they become."""

from __future__ import annotations

import argparse


def add_hub_arguments(parser: argparse.ArgumentParser, *, repo_kind: str = "model", revision_dest: str = "revision") -> None:
    """--repo-id, --private, --revision, --create-pr, --commit-message/-description, --dry-run."""
    hub = parser.add_argument_group("Hub options")
    hub.add_argument("--repo-id", required=True, metavar="USER/NAME",
                     help=f"{repo_kind} repo to push to (created if missing), e.g. alice/bert-conll")
    hub.add_argument("--private", action="store_const", const=True, default=None,
                     help="create the repo as private (an existing repo keeps its visibility)")
    hub.add_argument("--revision", dest=revision_dest, metavar="BRANCH", default=None,
                     help="branch to commit to (default main; created from main if missing)")
    hub.add_argument("--create-pr", action="store_true",
                     help="open a pull request instead of committing to the branch")
    hub.add_argument("--commit-message", metavar="TEXT", default=None, help="commit title")
    hub.add_argument("--commit-description", metavar="TEXT", default=None, help="commit description")
    hub.add_argument("--dry-run", metavar="DIR", default=None,
                     help="write the exact tree that would be pushed into DIR (new or empty), list it, "
                          "and send nothing")


def add_onnx_argument(parser: argparse.ArgumentParser) -> None:
    """--no-onnx, for the commands that push a model folder (`push`, `publish`)."""
    from nercore.backends import table as backend_table

    folders = ", ".join(f"{name}/" for name in backend_table.exported_folders())
    parser.add_argument("--no-onnx", dest="include_onnx", action="store_false",
                        help=f"leave out {folders} (the files of nerkit export) even when present")


def hub_options(args: argparse.Namespace, revision_dest: str = "revision"):
    """The parsed Hub flags as `toolkit.hub.push.HubOptions` (validates --repo-id)."""
    from toolkit.hub.push import HubOptions

    return HubOptions(
        repo_id=args.repo_id,
        revision=getattr(args, revision_dest),
        private=args.private,
        create_pr=args.create_pr,
        commit_message=args.commit_message,
        commit_description=args.commit_description,
        dry_run=args.dry_run,
    )
