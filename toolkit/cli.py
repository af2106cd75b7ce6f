"""`nerkit` command line: one subcommand per file in `toolkit/commands/`, wired here.

User mistakes (`UserError`) print one clear message and exit 2 with no traceback; a core message's
neutral fix gets the command of its step (`toolkit.steps`).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from toolkit import __version__
from nercore.errors import UserError
from toolkit.steps import with_command

# Subcommand modules, in pipeline order. Each exposes `register(subparsers)`, which adds a
# parser whose `func(args) -> int | None` runs the command.
COMMANDS = ["train", "calibrate", "export", "evaluate", "predict", "audit", "card", "push", "publish", "publish_space"]

DESCRIPTION = """\
Fine-tune, evaluate, document and publish named-entity-recognition models.

examples:
  nerkit train --model bert-base-cased --dataset conll2003 --output-dir runs/bert-conll
  nerkit export runs/bert-conll
  nerkit evaluate --model runs/bert-conll --dataset conll2003 --split test
  nerkit predict --model runs/bert-conll --input corpus.txt --output corpus.ner.jsonl --strategies all
  nerkit card runs/bert-conll
  nerkit push runs/bert-conll --repo-id USER/bert-conll
  nerkit publish --repo-id USER/bert-conll --model bert-base-cased --dataset conll2003 --output-dir runs/bert-conll
  nerkit publish-space --repo-id USER/bert-conll-demo --model USER/bert-conll

Run `nerkit COMMAND --help` for each command's options and examples.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nerkit", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"nerkit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"toolkit.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UserError as err:
        print(f"nerkit {args.command}: error: {with_command(str(err), err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
