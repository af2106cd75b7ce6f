"""Benchmark: `nerkit predict` with every strategy against a plain pipeline loop, side by side.

In one run, on the same model folder and the same sentences, it measures sentences per second of
  nerkit    `toolkit.predict.predict_corpus` (what `nerkit predict --strategies all` runs): read a
            text file, load the model, every registered strategy from one forward pass per sentence,
            write the JSONL;
  pipeline  the loop a user would write: load the model (float32, like nerkit), then
            `for out in pipe(KeyDataset(dataset, "text"), batch_size=B)` with one strategy ("simple"),
            results kept in a list;
and prints nerkit / pipeline. Goal: >= 1.0 while nerkit returns all strategies. Both timings
include loading the model (imports are warmed up first, untimed). Runs alternate (nerkit, pipeline, nerkit, ...) so machine noise hits
both alike; the best run of each counts. It also checks that nerkit's "simple" spans equal the
pipeline's.

Sentences: the CoNLL-2003 test split (tokens joined with spaces), read at run time from
NERKIT_CONLL_DIR or ../shared/data/conll2003 (research-only: never copied into the repo), else
invented sentences.

    python bench/predict_throughput.py                 # ./model, all 3 453 test sentences, 2 runs each
    python bench/predict_throughput.py --quick         # 500 sentences, 1 run each
    python bench/predict_throughput.py --model runs/bert-conll --batch-size 64 --threads 4
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

GOAL = 1.0
INVENTED = [  # used when CoNLL-2003 is not there
    "The European Space Agency said on Monday that its Mars orbiter would launch from Kourou next spring.",
    "Agency director Josef Aschbacher told reporters in Paris that the mission had passed its final review.",
    "Indonesian President Joko Widodo met Barack Obama at the United Nations in New York City.",
    "Shares of Siemens rose 3 percent in Frankfurt after the company raised its forecast.",
]


def sentences(limit: int | None) -> tuple[list[str], str]:
    from toolkit.predict.inputs import read_conll

    folder = Path(os.environ.get("NERKIT_CONLL_DIR", REPO_ROOT.parent / "shared" / "data" / "conll2003"))
    test = folder / "test.txt"
    if test.is_file():
        texts, source = [d.text for d in read_conll(test.read_text(encoding="utf-8"), test.name)], "CoNLL-2003 test"
    else:
        texts, source = INVENTED * 900, "invented sentences"
    return (texts[:limit] if limit else texts), source


def run_nerkit(model: str, source: Path, output: Path, batch_size: int) -> tuple[float, list[dict]]:
    import json

    from toolkit.predict import InputSpec, PredictConfig, predict_corpus

    began = time.perf_counter()
    predict_corpus(PredictConfig(model, InputSpec(str(source), "text"), output, strategies="all",
                                 batch_size=batch_size, device="cpu", progress=False))
    elapsed = time.perf_counter() - began
    return elapsed, [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]


def run_pipeline(model: str, texts: list[str], batch_size: int) -> tuple[float, list[list[dict]]]:
    import datasets
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline
    from transformers.pipelines.pt_utils import KeyDataset

    began = time.perf_counter()
    loaded = AutoModelForTokenClassification.from_pretrained(model, dtype=torch.float32).eval()
    pipe = pipeline("token-classification", model=loaded, tokenizer=AutoTokenizer.from_pretrained(model),
                    aggregation_strategy="simple", device=torch.device("cpu"))
    dataset = datasets.Dataset.from_dict({"text": texts})
    outputs = [out for out in pipe(KeyDataset(dataset, "text"), batch_size=batch_size)]
    return time.perf_counter() - began, outputs


def agreement(nerkit: list[dict], pipeline: list[list[dict]]) -> int:
    """Sentences where nerkit's "simple" spans differ from the pipeline's (type and offsets)."""
    def key(spans):
        return [(s["entity_group"], int(s["start"]), int(s["end"])) for s in spans]

    return sum(key(n["entities"]["simple"]) != key(p) for n, p in zip(nerkit, pipeline))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(REPO_ROOT / "model"), help="model folder (default: ./model)")
    parser.add_argument("--sentences", type=int, default=None, help="first N sentences (default: all)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2, help="runs of each method (default: 2)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--quick", action="store_true", help="500 sentences, one run each")
    args = parser.parse_args()
    if args.quick:
        args.sentences, args.repeats = args.sentences or 500, 1

    import logging
    import warnings

    import torch
    import transformers

    from nercore.strategies import validate_strategies

    warnings.filterwarnings("ignore")
    transformers.logging.set_verbosity_error()
    logging.disable(logging.WARNING)
    if args.threads:
        torch.set_num_threads(args.threads)
    texts, source = sentences(args.sentences)
    print(f"model {args.model}; {len(texts)} sentences ({source}); batch size {args.batch_size}; "
          f"{torch.get_num_threads()} torch threads; {args.repeats} run(s) each, best counts")
    best = {"nerkit": float("inf"), "pipeline": float("inf")}
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.txt"  # the sentences stay in a temp folder, never in the repo
        corpus.write_text("\n".join(texts) + "\n", encoding="utf-8")
        warm = Path(tmp) / "warm.txt"  # imports and first-call set-up, untimed, for both methods
        warm.write_text("\n".join(texts[:8]) + "\n", encoding="utf-8")
        run_nerkit(args.model, warm, Path(tmp) / "warm.jsonl", args.batch_size)
        run_pipeline(args.model, texts[:8], args.batch_size)
        for run in range(args.repeats):
            ours_s, ours = run_nerkit(args.model, corpus, Path(tmp) / f"out{run}.jsonl", args.batch_size)
            theirs_s, theirs = run_pipeline(args.model, texts, args.batch_size)
            best["nerkit"], best["pipeline"] = min(best["nerkit"], ours_s), min(best["pipeline"], theirs_s)
            print(f"  run {run + 1}: nerkit {len(texts) / ours_s:.1f}/s, pipeline {len(texts) / theirs_s:.1f}/s")
    names = validate_strategies("all")
    rate = {name: len(texts) / seconds for name, seconds in best.items()}
    differ = agreement(ours, theirs)
    print(f"nerkit predict ({len(names)} strategies: {', '.join(names)}): {rate['nerkit']:8.1f} sentences/s")
    print(f"pipeline loop  (simple only):{' ' * max(1, 12 - len(names))}{rate['pipeline']:8.1f} sentences/s")
    ratio = rate["nerkit"] / rate["pipeline"]
    print(f"ratio nerkit / pipeline: {ratio:.2f}x (goal >= {GOAL:.1f}x: {'met' if ratio >= GOAL else 'NOT met'})")
    print(f"'simple' spans equal to the pipeline's: {len(texts) - differ}/{len(texts)} sentences")
    from _results import record

    record("predict_throughput", {"sentences": len(texts), "nerkit_sentences_per_s": round(rate["nerkit"], 1),
                                  "pipeline_sentences_per_s": round(rate["pipeline"], 1), "ratio": round(ratio, 2),
                                  "simple_spans_equal": len(texts) - differ})
    return 0


if __name__ == "__main__":
    sys.exit(main())
