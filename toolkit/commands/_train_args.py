"""Training flags shared by `train` and `publish`, and the `TrainConfig` they become."""

from __future__ import annotations

import argparse
import shlex
import sys

from toolkit.commands._data_args import add_data_arguments


def add_train_arguments(parser: argparse.ArgumentParser, *, revision_flag: str = "--revision") -> None:
    """Every training flag; `nerkit publish` passes `--model-revision`, as its `--revision` is the Hub branch."""
    parser.add_argument("--model", required=True, help="base model: Hub id (e.g. bert-base-cased) or local folder")
    parser.add_argument(revision_flag, dest="revision", default=None, help="base model revision on the Hub")
    parser.add_argument("--output-dir", required=True, help="folder for the trained model and its reports")
    add_data_arguments(parser)
    hp = parser.add_argument_group("training")
    hp.add_argument("--learning-rate", type=float, default=2e-5, help="peak learning rate (default: 2e-5)")
    hp.add_argument("--epochs", type=float, default=3.0, help="number of epochs (default: 3)")
    hp.add_argument("--batch-size", type=int, default=16, help="training batch size per device (default: 16)")
    hp.add_argument("--eval-batch-size", type=int, default=64, help="evaluation batch size (default: 64)")
    hp.add_argument("--weight-decay", type=float, default=0.01, help="AdamW weight decay (default: 0.01)")
    hp.add_argument("--warmup-ratio", type=float, default=0.1, help="fraction of steps for linear warm-up (default: 0.1)")
    hp.add_argument("--gradient-accumulation-steps", type=int, default=1)
    hp.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    hp.add_argument("--max-length", type=int, default=None, help="max sub-tokens per sentence (default: model max, at most 512)")
    hp.add_argument("--label-all-subtokens", action="store_true",
                    help="label every sub-token (B- becomes I- on continuations) instead of only the first")
    hp.add_argument("--no-group-by-length", action="store_true",
                    help="shuffle batches at random instead of grouping sentences of similar length (slower: more padding)")
    hp.add_argument("--early-stopping", type=int, default=None, metavar="EPOCHS", help="stop after N epochs without a better F1")
    hp.add_argument("--precision", default="auto", choices=["auto", "fp32", "fp16", "bf16"], help="auto: bf16/fp16 on CUDA, fp32 elsewhere")
    ctx = parser.add_argument_group("document context (docs/cli.md#document-context)")
    ctx.add_argument("--context-tokens", type=int, default=0, metavar="N",
                     help="encode each sentence with up to N sub-tokens of its document per side (needs documents "
                          "in the data, e.g. CoNLL -DOCSTART-; recorded in config.json; default: 0, lone sentences)")
    ctx.add_argument("--context-dropout", type=float, default=0.0, metavar="P",
                     help="chance a training sentence is served without its context (default: 0)")
    hp.add_argument("--eval-steps", type=int, default=None, metavar="N",
                    help="evaluate and checkpoint every N steps instead of every epoch (long epochs, resumable runs)")
    hp.add_argument("--train-split", default="train")
    hp.add_argument("--eval-split", default="validation", help="split evaluated each epoch to pick the best model")
    hp.add_argument("--max-train-samples", type=int, default=None, help="train on the first N sentences only")
    hp.add_argument("--max-eval-samples", type=int, default=None, help="evaluate on the first N sentences only")
    recipes = parser.add_argument_group("recipes (docs/cli.md#training-recipes)")
    recipes.add_argument("--average-checkpoints", type=int, default=0, metavar="K",
                         help="publish the uniform average of the last K saved checkpoints instead of the best one "
                              "(use --eval-steps to save more often; default: 0, off)")
    recipes.add_argument("--train-with-dev", default=None, metavar="RUN",
                         help="fit once more on train + validation for the epoch count that the finished run RUN "
                              "chose on validation (its training_log.json best row; overrides --epochs); no "
                              "validation scores are reported, only test")
    run = parser.add_argument_group("run")
    run.add_argument("--resume", nargs="?", const=True, default=None, metavar="CHECKPOINT", help="resume from the last (or the given) checkpoint")
    run.add_argument("--overwrite", action="store_true", help="replace a model already in --output-dir")
    run.add_argument("--keep-checkpoints", action="store_true", help="keep the Trainer checkpoints after training")
    run.add_argument("--save-dtype", default="float32", choices=["float32", "float16", "bfloat16"],
                     help="dtype of the saved weights (float16 halves the size; loaders upcast to float32 on CPU)")


def config_from_args(args: argparse.Namespace, command: str = "train"):
    """The flags as a validated `TrainConfig`; records the command line when run as `nerkit <command>`."""
    from toolkit.training import TrainConfig

    epochs = args.epochs
    if getattr(args, "train_with_dev", None):
        from toolkit.recipes import chosen_epochs

        epochs = chosen_epochs(args.train_with_dev)
    return TrainConfig(
        model=args.model,
        output_dir=args.output_dir,
        revision=args.revision,
        learning_rate=args.learning_rate,
        epochs=epochs,
        batch_size=args.batch_size,
        eval_batch_size=args.eval_batch_size,
        weight_decay=args.weight_decay,
        warmup_ratio=args.warmup_ratio,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        seed=args.seed,
        max_length=args.max_length,
        label_strategy="all" if args.label_all_subtokens else "first",
        group_by_length=not args.no_group_by_length,
        early_stopping_patience=args.early_stopping,
        precision=args.precision,
        train_split=args.train_split,
        eval_split=args.eval_split,
        max_train_samples=args.max_train_samples,
        max_eval_samples=args.max_eval_samples,
        resume_from_checkpoint=args.resume,
        overwrite=args.overwrite,
        keep_checkpoints=args.keep_checkpoints,
        save_dtype=args.save_dtype,
        context_tokens=args.context_tokens,
        context_dropout=args.context_dropout,
        eval_steps=args.eval_steps,
        average_checkpoints=getattr(args, "average_checkpoints", 0),
        train_with_dev=str(args.train_with_dev) if getattr(args, "train_with_dev", None) else None,
        command=shlex.join(["nerkit", *sys.argv[1:]]) if sys.argv[1:2] == [command] else None,
    )
