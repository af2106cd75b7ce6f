"""`nerkit push`: publish an already trained output folder to the Hub, in one commit."""

from __future__ import annotations

import argparse

from toolkit.commands._hub_args import add_hub_arguments, add_onnx_argument, hub_options
from toolkit.commands._parser import add_command

DESCRIPTION = """\
Push a trained output folder (model, tokenizer, card, evaluation files) to a Hub model repo in
one commit. Training leftovers (checkpoints/, optimizer state, training_args.bin) and files that
hold evaluation-set text (predictions_*.conll, errors_*.txt) stay out; local paths in the JSON
files are rewritten. The onnx/ folder of `nerkit export` goes along when present (--no-onnx leaves
it out). Pushing an unchanged folder again makes no commit.

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
  nerkit push runs/bert-conll --repo-id alice/bert-conll --no-onnx   # without onnx/ from `nerkit export`
"""


def register(subparsers) -> None:
    parser = add_command(subparsers, "push", help="push a trained output folder to the Hub in one commit",
                         description=DESCRIPTION, epilog=EXAMPLES, func=run)
    parser.add_argument("output_dir", metavar="OUTPUT_DIR", help="output folder of `nerkit train` (with README.md)")
    add_hub_arguments(parser)
    parser.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                        help="also leave out files matching GLOB (repeatable), e.g. --exclude '*.png'")
    add_onnx_argument(parser)


def run(args: argparse.Namespace) -> int:
    from toolkit.hub.push import push_folder

    return push_folder(args.output_dir, hub_options(args), exclude=tuple(args.exclude), include_onnx=args.include_onnx)
