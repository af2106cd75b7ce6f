"""`nerkit evaluate`: score any token-classification model per entity type with seqeval."""

from __future__ import annotations

import argparse

from toolkit.commands._parser import add_command, command_line

from toolkit.commands._data_args import DATA_HELP, add_data_arguments, load_raw_and_data

EXAMPLES = """\
examples:
  nerkit evaluate --model runs/bert-conll --dataset conll2003 --split test
  nerkit evaluate --model dslim/bert-base-NER --dataset ../shared/data/conll2003 --split test \\
      --output-dir eval/dslim
  # a model whose types are named differently from the dataset's
  nerkit evaluate --model some/model --dataset conll2003 --label-map PERSON=PER,GPE=LOC,DATE=O
  # end-to-end F1 of every pipeline aggregation strategy, and 2000 bootstrap resamples
  nerkit evaluate --model runs/bert-conll --dataset conll2003 --strategies --bootstrap 2000 --seed 1
  nerkit evaluate --model runs/bert-conll --dataset conll2003 --strategies first,average --bootstrap 0
  # the int8 ONNX model written by `nerkit export runs/bert-conll` (results: eval_results.onnx-int8.json)
  nerkit evaluate --model runs/bert-conll --dataset conll2003 --backend onnx-int8
  # span data (Label Studio, doccano, Prodigy, brat): every strategy's exact character spans on the
  # exported texts, beside the word-level seqeval figures
  nerkit evaluate --model runs/my-ner --test-file export.json --split test

writes into --output-dir (default: the model folder, or ./eval-<model id>):
  eval_results.json       per-type P/R/F1/support, averages, default and strict modes,
                          95% bootstrap confidence intervals (unless --bootstrap 0),
                          per-strategy F1 with --strategies (always, on the raw texts, for
                          span data), and the command line
  predictions_<split>.conll   token gold predicted
  errors_<split>.txt      entity errors by kind, hardest sentences first (never pushed)
"""


DESCRIPTION = (
    "Evaluate a token-classification model (trained here or anywhere) on a dataset split: "
    "seqeval precision/recall/F1 per entity type in default and strict IOB2 mode, token accuracy, "
    "and the number of invalid predicted label sequences."
)


def _own_views(every: tuple[str, ...], pipeline: tuple[str, ...]) -> str:
    """"`word` is nerkit's own view, not a pipeline strategy": the rows without a pipeline value."""
    own = [f"`{name}`" for name in every if name not in pipeline]
    if not own:
        return "each a pipeline strategy"
    return f"{', '.join(own)} {'is' if len(own) == 1 else 'are'} nerkit's own view, not a pipeline strategy"


def register(subparsers) -> None:
    from nercore.backends import table as backend_table
    from nercore.strategies import names, pipeline_names

    parser = add_command(subparsers, "evaluate", help="evaluate a model per entity type (seqeval)",
                         description=DESCRIPTION, epilog=DATA_HELP + "\n" + EXAMPLES, func=run_evaluate)
    parser.add_argument("--model", required=True, help="model folder or Hub id")
    parser.add_argument("--revision", default=None, help="model revision on the Hub")
    add_data_arguments(parser)
    parser.add_argument("--split", default="test", help="split to evaluate (default: test)")
    parser.add_argument("--output-dir", default=None, help="where to write the results (default: the model folder)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-length", type=int, default=None, help="max sub-tokens per sentence (default: model max)")
    parser.add_argument("--max-samples", type=int, default=None, help="evaluate the first N sentences only")
    parser.add_argument("--label-map", default=None, help="rename model labels or types: MODEL=DATASET,... (=O drops a type)")
    parser.add_argument(
        "--backend", choices=backend_table.names(), default=backend_table.TORCH,
        help="run the model with torch (default) or on the files of `nerkit export` ("
        + ", ".join(f"{row.name}: {row.files[0]}" for row in backend_table.exported())
        + "); results go to eval_results.<backend>.json etc., beside torch's, never over them",
    )
    ctx = parser.add_argument_group("document context (docs/cli.md#document-context)")
    ctx.add_argument(
        "--context", choices=("both", "with", "without"), default="both",
        help="on data with documents (CoNLL -DOCSTART-, a document field): read each sentence inside its "
        "document, alone, or both (default; the headline is the reading the model was trained for)",
    )
    ctx.add_argument("--context-tokens", type=int, default=None, metavar="N",
                     help="context sub-tokens per side (default: the model's own setting, else 24)")
    extra = parser.add_argument_group("aggregation strategies and confidence intervals")
    extra.add_argument(
        "--strategies", nargs="?", const="all", default=None, metavar="LIST",
        help="also run the model through the token-classification pipeline on each sentence (words joined with "
        f"spaces) and score each aggregation strategy's character spans by exact match; all of them "
        f"({', '.join(names())}; {_own_views(names(), pipeline_names())}) when given "
        "alone, or a comma-separated subset. One forward pass per sentence. On span data (Label Studio, doccano, "
        "Prodigy, brat) every strategy is scored on the exported texts against their character spans unless this "
        "names some.",
    )
    extra.add_argument(
        "--bootstrap", type=int, nargs="?", const=1000, default=1000, metavar="N",
        help="bootstrap resamples over sentences for confidence intervals of overall and per-type F1 "
        "(default: 1000; 0 turns them off)",
    )
    extra.add_argument("--seed", type=int, default=0, help="random seed of the bootstrap (default: 0)")
    extra.add_argument("--ci-level", type=float, default=0.95, help="confidence level of the intervals (default: 0.95)")


def run_evaluate(args: argparse.Namespace) -> int:
    from toolkit.evaluate import EvalConfig, evaluate_and_report
    from toolkit.evaluate.span_scores import GoldRecords

    config = EvalConfig(  # every setting checked here, before the data is read or the model loaded
        model=args.model, split=args.split, output_dir=args.output_dir, revision=args.revision, backend=args.backend,
        batch_size=args.batch_size, max_length=args.max_length, max_samples=args.max_samples, label_map=args.label_map,
        context=args.context, context_tokens=args.context_tokens, strategies=args.strategies,
        bootstrap=args.bootstrap, seed=args.seed, ci_level=args.ci_level,
        command=command_line(args, "evaluate", register, ["--model", "-"]),
    )
    raw, data = load_raw_and_data(args)
    records = GoldRecords.of(raw.splits[args.split], args.max_samples) if args.split in raw.splits else None
    print(evaluate_and_report(config, data, records=records))
    return 0
