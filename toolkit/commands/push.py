"""`nerkit push`: publish an already trained output folder to the Hub, in one commit."""

from __future__ import annotations

import argparse

DESCRIPTION = """\
Push a trained output folder (model, tokenizer, card, evaluation files) to a Hub model repo in
one commit. Training leftovers (checkpoints/, optimizer state, training_args.bin) and files that
hold evaluation-set text (predictions_*.conll, errors_*.txt) stay out; local paths in the JSON
files are rewritten. Pushing an unchanged folder again makes no commit.

The token comes from HF_TOKEN or from your stored login (`hf auth login`); it is never printed.
Under torchrun only rank 0 pushes.
"""

EXAMPLES = """\
examples:
  hf auth login                        # once: paste a token with write access
  nerkit push runs/bert-conll --repo-id alice/bert-conll
  nerkit push runs/bert-conll --repo-id alice/bert-conll --private --commit-message "Seed 13 rerun"
  nerkit push runs/bert-conll --repo-id acme/bert-conll --create-pr
  nerkit push runs/bert-conll --repo-id alice/bert-conll --revision experiment-2
  nerkit push runs/bert-conll --repo-id alice/bert-conll --dry-run /tmp/bert-conll-preview
"""


def add_hub_arguments(parser: argparse.ArgumentParser, *, repo_kind: str = "model", revision_dest: str = "revision") -> None:
    """Flags shared by push, publish and publish-space."""
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


def hub_options(args: argparse.Namespace, revision_dest: str = "revision") -> dict:
    return dict(
        repo_id=args.repo_id,
        revision=getattr(args, revision_dest),
        private=args.private,
        create_pr=args.create_pr,
        commit_message=args.commit_message,
        commit_description=args.commit_description,
        dry_run=args.dry_run,
    )


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "push",
        help="push a trained output folder to the Hub in one commit",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("output_dir", metavar="OUTPUT_DIR", help="output folder of `nerkit train` (with README.md)")
    add_hub_arguments(parser)
    parser.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                        help="also leave out files matching GLOB (repeatable), e.g. --exclude '*.png'")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from toolkit import publish

    rank = publish.process_rank()
    if rank != 0:
        print(f"nerkit push: process rank {rank}: skipping, only rank 0 pushes")
        return 0
    publish.check_repo_id(args.repo_id)
    plan = publish.plan_model_folder(args.output_dir, exclude=tuple(args.exclude))
    return push_plan(plan, **hub_options(args))


def push_plan(plan, *, repo_id: str, revision: str | None = None, private: bool | None = None,
              create_pr: bool = False, commit_message: str | None = None, commit_description: str | None = None,
              dry_run: str | None = None, session=None) -> int:
    """Dry-run or push a plan (used by push, publish and publish-space)."""
    from toolkit import publish

    where = f"{plan.repo_type} repo {repo_id}" + (f"@{revision}" if revision else "")
    publish.check_secrets(plan)  # before anything is written or created
    if dry_run:
        dest = publish.write_tree(plan, dry_run)
        print(publish.format_plan(plan, f"Dry run: would push these files to {where}:"))
        print(f"Wrote them to {dest}; nothing was sent to the Hub.")
        return 0
    if session is None:
        session = publish.preflight(
            repo_id,
            repo_type=plan.repo_type,
            private=private,
            create_pr=create_pr,
            space_sdk="gradio" if plan.repo_type == "space" else None,
        )
    print(publish.format_plan(plan, f"Publishing to {where} as {session.user}:"))
    result = publish.push(
        plan,
        session,
        revision=revision,
        create_pr=create_pr,
        commit_message=commit_message,
        commit_description=commit_description,
    )
    print(publish.format_result(result, plan))
    return 0
