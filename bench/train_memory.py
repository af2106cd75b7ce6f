"""Peak memory of `nerkit train` against the training set's size, at the first training step.

CoNLL-2003 train (the shared copy, never the repo) is written k times over into a temporary folder
(`--times 1,10`: the train split x1 and x10, the validation split once; `--max-eval-samples` keeps
the evaluation split small, the same for every size). A tiny random BERT (tests/tiny_models.py: the
model's own cost is small, so the data handling is what shows) starts `nerkit train` on it in a
fresh process per size; at the end of the first optimizer step the process reports its peak RSS
so far (ru_maxrss: reading, label preparation, tokenization, the sampler and step one) and its RSS
at that moment (anonymous and file-backed: memory-mapped Arrow pages count as file-backed), then
stops. Goal (issue 26): peak RSS at x10 <= 1.5x that at x1. Figures go to bench/results/train_memory.json.

    python bench/train_memory.py                     # x1 and x10
    python bench/train_memory.py --times 1,2 --no-record
    python bench/train_memory.py --root /tmp/old-tree --record-as train_memory_before   # another checkout

Each child gets a fresh, empty datasets cache (HF_DATASETS_CACHE, NERKIT_CACHE), so no size reads
the tokenized table another one wrote.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONLL = Path("/work/shared/data/conll2003")
GOAL = 1.5

# `nerkit train` in this process; a callback prints the memory figures at the end of step one and exits.
CHILD = r"""
import os, resource, sys
sys.path.insert(0, sys.argv.pop(1))
from transformers import TrainerCallback
import toolkit.training as training

def status():
    fields = {}
    for line in open("/proc/self/status"):
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields

class FirstStep(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        now = status()
        print("FIGURES", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, now["VmRSS"], now["RssAnon"],
              now["RssFile"], flush=True)
        os._exit(0)

original = training.train
training.train = lambda config, data, callbacks=(): original(config, data, callbacks=(*callbacks, FirstStep()))
from toolkit.cli import main
sys.exit(main(sys.argv[1:]))
"""


def write_data(folder: Path, times: int, source: Path) -> int:
    """train.txt = the source's train split `times` over, validation.txt copied; returns train bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    train = (source / "train.txt").read_bytes()
    with open(folder / "train.txt", "wb") as out:
        for _ in range(times):
            out.write(train if train.endswith(b"\n\n") else train.rstrip(b"\n") + b"\n\n")
    (folder / "validation.txt").write_bytes((source / "validation.txt").read_bytes())
    return (folder / "train.txt").stat().st_size


def run_one(root: Path, model: Path, data: Path, out: Path, cache: Path, args) -> dict:
    command = [sys.executable, "-c", CHILD, str(root), "train", "--model", str(model), "--dataset", str(data),
               "--output-dir", str(out), "--epochs", "1", "--batch-size", str(args.batch_size),
               "--max-eval-samples", str(args.max_eval_samples), "--seed", "42"]
    env = {**os.environ, "HF_DATASETS_CACHE": str(cache / "hf"), "NERKIT_CACHE": str(cache / "nerkit"),
           "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(root)}
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=str(root))
    wall = time.perf_counter() - began
    lines = [line for line in done.stdout.splitlines() if line.startswith("FIGURES")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"nerkit train failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    peak, rss, anon, file_backed = (int(v) / 1024 for v in lines[-1].split()[1:])
    return {"wall_to_first_step_s": round(wall, 1), "peak_rss_mib": round(peak, 1), "rss_at_step_mib": round(rss, 1),
            "rss_anon_mib": round(anon, 1), "rss_file_mib": round(file_backed, 1)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--times", default="1,10", help="copies of the train split, comma-separated (default 1,10)")
    parser.add_argument("--source", default=str(CONLL), help="folder with train.txt and validation.txt (CoNLL)")
    parser.add_argument("--root", default=str(ROOT), help="the checkout whose toolkit runs (default: this one)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-eval-samples", type=int, default=200)
    parser.add_argument("--record-as", default="train_memory", help="bench/results/<NAME>.json")
    parser.add_argument("--no-record", action="store_true", help="print only")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT / "bench"))
    from tiny_models import CONLL_LABELS, build_tiny_model

    sizes = [int(n) for n in args.times.split(",")]
    root = Path(args.root).resolve()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = build_tiny_model(tmp / "tiny", kind="bert", labels=CONLL_LABELS, max_position_embeddings=512)
        for times in sizes:
            data = tmp / f"data-x{times}"
            size = write_data(data, times, Path(args.source))
            row = run_one(root, model, data, tmp / f"run-x{times}", tmp / f"cache-x{times}", args)
            rows[times] = {"train_mib": round(size / 2**20, 1), **row}
            print(f"x{times:<3} train {rows[times]['train_mib']:6.1f} MiB: peak RSS {row['peak_rss_mib']:7.1f} MiB, "
                  f"RSS at step one {row['rss_at_step_mib']:7.1f} MiB (anon {row['rss_anon_mib']:.1f}, file "
                  f"{row['rss_file_mib']:.1f}), {row['wall_to_first_step_s']:.0f} s to step one", flush=True)
            for path in data.iterdir():
                path.unlink()
    smallest, largest = rows[sizes[0]], rows[sizes[-1]]
    ratio = largest["peak_rss_mib"] / smallest["peak_rss_mib"]
    print(f"\n{'size':>5} {'train MiB':>9} {'peak RSS MiB':>12} {'RSS@step1':>9} {'anon':>7} {'file':>6} "
          f"{'s to step 1':>11} {'peak vs x' + str(sizes[0]):>10}")
    for times, row in rows.items():
        print(f"{'x' + str(times):>5} {row['train_mib']:9.1f} {row['peak_rss_mib']:12.1f} {row['rss_at_step_mib']:9.1f} "
              f"{row['rss_anon_mib']:7.1f} {row['rss_file_mib']:6.1f} {row['wall_to_first_step_s']:11.0f} "
              f"{row['peak_rss_mib'] / smallest['peak_rss_mib']:9.2f}x")
    verdict = "met" if ratio <= GOAL else "NOT met"
    print(f"peak RSS x{sizes[-1]} / x{sizes[0]}: {ratio:.2f}x (goal <= {GOAL}x: {verdict}); checkout {root}")
    if not args.no_record:
        from _results import record

        record(args.record_as, {**{f"x{times}": row for times, row in rows.items()},
                                "peak_rss_ratio": round(ratio, 3), "goal": GOAL},
               notes=f"tiny random BERT (max 512 positions), CoNLL-2003 train repeated, batch {args.batch_size}, "
                     f"{args.max_eval_samples} eval sentences; checkout {root.name}; RSS is not a timing figure, "
                     "the machine was shared with other jobs")


if __name__ == "__main__":
    main()
