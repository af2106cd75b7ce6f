"""`nerkit publish`: train -> evaluate -> card -> push, with a Hub pre-flight before training."""

from __future__ import annotations

import argparse

from toolkit.commands._data_args import DATA_HELP, load_data
from toolkit.commands._hub_args import add_hub_arguments, add_onnx_argument, hub_options
from toolkit.commands._parser import add_command
from toolkit.commands._train_args import add_train_arguments, config_from_args

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

  # a quick trial: 200 training sentences, the final evaluation on 100 sentences without intervals
  nerkit publish --repo-id alice/trial --model bert-base-cased --dataset conll2003 --output-dir runs/trial \\
      --max-train-samples 200 --max-eval-sentences 100 --bootstrap 0 --dry-run /tmp/trial-preview

  # everything except the push: the tree that would be sent lands in /tmp/preview
  nerkit publish --repo-id alice/bert-conll --model bert-base-cased --dataset conll2003 \\
      --output-dir runs/bert-conll --dry-run /tmp/preview

  # two processes: all train, rank 0 publishes
  torchrun --nproc_per_node=2 -m toolkit.cli publish --repo-id alice/bert-conll ...
"""


def register(subparsers) -> None:
    parser = add_command(subparsers, "publish", help="train, evaluate, write the card and push to the Hub, in one command",
                         description=DESCRIPTION, epilog=DATA_HELP + "\n" + EXAMPLES, func=run)
    add_train_arguments(parser, revision_flag="--model-revision")
    evaluation = parser.add_argument_group("evaluation and card")
    evaluation.add_argument("--evaluate-split", default=None,
                            help="split scored for the card, checked before training (default: test; the --eval-split "
                                 "when there is none)")
    evaluation.add_argument("--max-eval-sentences", type=int, default=None, metavar="N",
                            help="score only the first N sentences of --evaluate-split (default: all), e.g. for a trial run")
    evaluation.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                            help="bootstrap resamples for the card's confidence intervals (default: 1000; 0: none)")
    evaluation.add_argument("--language", default="en", help="language code(s) of the data, comma-separated")
    evaluation.add_argument("--license", default=None, help="licence id for the model card, e.g. apache-2.0")
    evaluation.add_argument("--base-model", default=None, metavar="HUB_ID",
                            help="Hub id of the base model for the card, when --model is a local folder")
    evaluation.add_argument("--widget-text", action="append", default=None, metavar="TEXT",
                            help="a widget example for the card (repeatable) instead of evaluated sentences")
    add_hub_arguments(parser, revision_dest="hub_revision")
    add_onnx_argument(parser)


def run(args: argparse.Namespace) -> int:
    from toolkit.card import CardOptions
    from toolkit.hub.publish_run import publish_model

    options = hub_options(args, revision_dest="hub_revision")  # validates --repo-id first
    config = config_from_args(args, command="publish")  # validates the training flags before anything else
    card = CardOptions(language=args.language, license=args.license, base_model=args.base_model,
                       widget_texts=args.widget_text)
    return publish_model(config, lambda: load_data(args), options, card, evaluate_split=args.evaluate_split,
                         bootstrap=args.bootstrap, max_eval_sentences=args.max_eval_sentences,
                         include_onnx=args.include_onnx)
