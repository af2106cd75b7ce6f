"""`nerkit calibrate`: temperature-scale a run folder's entity scores, baked into its classifier."""

from __future__ import annotations

import argparse

from toolkit.commands._parser import add_command, command_line

from toolkit.commands._data_args import DATA_HELP, add_data_arguments, load_data

EXAMPLES = """\
examples:
  nerkit calibrate runs/bert-conll --dataset conll2003
  nerkit calibrate runs/minilm-quick --dataset ../shared/data/conll2003 --max-samples 500   # a quick run
  nerkit calibrate runs/bert-conll --dataset my-data/ --strategy average

then, as after training (calibration removed what described the old scores):
  nerkit evaluate --model runs/bert-conll --dataset conll2003 --strategies
  nerkit card runs/bert-conll

what it does (docs/cli.md#nerkit-calibrate): runs the model once over --fit-split and --split, finds the
temperature T whose scaled entity scores best match how often entities are right on --fit-split
(never one that lowers the F1 of the strategy fitted to), divides the classifier's weight and bias
by T in model.safetensors (so any `pipeline(...)` user gets the calibrated scores), loads the saved
model back and checks that no sub-token's predicted label changed, and writes calibration.json
(T, ECE and each strategy's F1 before and after, on both splits).
"""

DESCRIPTION = ("Temperature-scale a model folder's scores: fit T on a validation split, bake it into the "
               "classifier weights, and check that no sub-token's predicted label changed.")


def register(subparsers) -> None:
    parser = add_command(subparsers, "calibrate", help="temperature-scale a model's scores (baked into its weights)",
                         description=DESCRIPTION, epilog=DATA_HELP + "\n" + EXAMPLES, func=run_calibrate)
    parser.add_argument("run_dir", metavar="RUN_DIR", help="the run folder (the --output-dir of `nerkit train`) or any local model folder")
    add_data_arguments(parser)
    parser.add_argument("--fit-split", default="validation", help="split the temperature is fitted on (default: validation)")
    parser.add_argument("--split", default="test", help="split also reported before and after (default: test)")
    parser.add_argument("--strategy", default=None,
                        help="the aggregation strategy whose entity scores T is fitted to (default: the one with "
                             "the best F1 on --fit-split, as the card recommends)")
    parser.add_argument("--max-samples", type=int, default=None, metavar="N",
                        help="read only the first N sentences of each split (a quick run; T is fitted on fewer entities)")
    parser.add_argument("--batch-size", type=int, default=64, help="windows per forward pass (default: 64)")
    parser.add_argument("--max-length", type=int, default=None, help="window length in sub-tokens (default: the model's)")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")


def run_calibrate(args: argparse.Namespace) -> int:
    from toolkit.evaluate.calibrate import calibrate_run, check_folder, format_report

    command = command_line(args, "calibrate", register, ["-"])
    check_folder(args.run_dir)  # before the data: a mistyped folder fails at once, not after reading the Hub
    record = calibrate_run(args.run_dir, load_data(args), fit_split=args.fit_split, split=args.split,
                           strategy=args.strategy, batch_size=args.batch_size, max_length=args.max_length,
                           progress=args.progress, command=command, max_samples=args.max_samples)
    print(format_report(record))
    print(f"written: {args.run_dir}/calibration.json and the rescaled classifier in the weights")
    return 0
