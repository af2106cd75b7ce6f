"""`nerkit publish`: train -> evaluate -> card -> push, with a Hub pre-flight before training."""

from __future__ import annotations

import argparse

DESCRIPTION = """\
One command from a base model and a dataset to a published model: checks your token and write
access to --repo-id and creates the repo (seconds), then trains (all `nerkit train` flags work
here), evaluates on the test split, renders the model card and pushes the folder in one commit.
The folder stays in --output-dir; `nerkit push` can push it again later.

The token comes from HF_TOKEN or from your stored login (`hf auth login`); it is never printed.
Under torchrun every process trains and only rank 0 checks the Hub, evaluates and pushes.
`--revision` is the Hub branch to push to; the base model's revision is `--model-revision`.
"""

EXAMPLES = """\
examples:
  hf auth login                        # once: paste a token with write access
  nerkit publish --repo-id alice/bert-conll --model bert-base-cased --dataset conll2003 \\
      --output-dir runs/bert-conll --license apache-2.0

  # offline data, private repo, open a pull request instead of pushing to main
  nerkit publish --repo-id acme/minilm-ner --private --create-pr --model ./minilm \\
      --base-model sentence-transformers/all-MiniLM-L6-v2 --dataset ../shared/data/conll2003 \\
      --output-dir runs/minilm --epochs 1

  # everything except the push: the tree that would be sent lands in /tmp/preview
  nerkit publish --repo-id alice/bert-conll --model bert-base-cased --dataset conll2003 \\
      --output-dir runs/bert-conll --dry-run /tmp/preview

  # two processes: all train, rank 0 publishes
  torchrun --nproc_per_node=2 -m toolkit.cli publish --repo-id alice/bert-conll ...
"""


def register(subparsers) -> None:
    from toolkit.commands._data_args import DATA_HELP
    from toolkit.commands.push import add_hub_arguments
    from toolkit.commands.train import add_train_arguments

    parser = subparsers.add_parser(
        "publish",
        help="train, evaluate, write the card and push to the Hub, in one command",
        description=DESCRIPTION,
        epilog=DATA_HELP + "\n" + EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_train_arguments(parser, revision_flag="--model-revision")
    evaluation = parser.add_argument_group("evaluation and card")
    evaluation.add_argument("--evaluate-split", default="test",
                            help="split scored for the card (default: test; the --eval-split when there is none)")
    evaluation.add_argument("--language", default="en", help="language code(s) of the data, comma-separated")
    evaluation.add_argument("--license", default=None, help="licence id for the model card, e.g. apache-2.0")
    evaluation.add_argument("--base-model", default=None, metavar="HUB_ID",
                            help="Hub id of the base model for the card, when --model is a local folder")
    evaluation.add_argument("--widget-text", action="append", default=None, metavar="TEXT",
                            help="a widget example for the card (repeatable) instead of evaluated sentences")
    add_hub_arguments(parser, revision_dest="hub_revision")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import shlex
    import sys
    from pathlib import Path

    from toolkit import publish
    from toolkit.commands._data_args import load_data
    from toolkit.commands.push import hub_options, push_plan
    from toolkit.commands.train import config_from_args
    from toolkit.errors import UserError

    publish.check_repo_id(args.repo_id)
    config = config_from_args(args)  # validates the training flags before anything else
    if sys.argv[1:2] == ["publish"]:
        config = dataclasses.replace(config, command=shlex.join(["nerkit", *sys.argv[1:]]))
    if args.dry_run:
        publish.check_dry_run_dir(args.dry_run, output_dir=config.output_dir)
    rank = publish.process_rank()
    session = None
    if rank == 0 and not args.dry_run:
        session = publish.preflight(args.repo_id, private=args.private, create_pr=args.create_pr)
        print(f"pre-flight ok: {session.user} can push to {args.repo_id}; training now")

    from toolkit.card import render_card
    from toolkit.evaluation import evaluate_model
    from toolkit.training import train

    data = load_data(args)
    if args.evaluate_split not in data.splits and config.eval_split not in data.splits:
        raise UserError(f"--evaluate-split {args.evaluate_split}: the dataset has no such split (it has: "
                        f"{', '.join(data.splits)}). Pass --evaluate-split.")
    result = train(config, data)
    if rank != 0:
        print(f"nerkit publish: process rank {rank}: training done; rank 0 evaluates and pushes")
        return 0
    output_dir = Path(result.output_dir)
    split = args.evaluate_split
    if split not in data.splits:  # checked before training: the eval split exists
        print(f"nerkit publish: the dataset has no {split!r} split; the card reports {config.eval_split!r}")
        split = config.eval_split
    evaluate_model(str(output_dir), data, split, output_dir=output_dir, batch_size=config.eval_batch_size,
                   max_length=config.max_length, progress=False, strategies="all", bootstrap=1000)
    languages = [code.strip() for code in args.language.split(",") if code.strip()] or None
    render_card(output_dir, repo_id=args.repo_id,
                language=languages[0] if languages and len(languages) == 1 else languages,
                license=args.license, base_model=args.base_model, widget_texts=args.widget_text)
    plan = publish.plan_model_folder(output_dir)
    return push_plan(plan, session=session, **hub_options(args, revision_dest="hub_revision"))
