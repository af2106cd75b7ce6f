"""Benchmark: the Space's all-strategies call against one plain transformers pipeline call, each backend
in its own process, as the Space runs it.

Why separate processes: two runtimes in one process interfere (torch's OpenMP threads and ONNX
Runtime's pool fight over the same cores), and a visitor only ever meets one backend per process.
One worker process per backend (torch, ONNX fp32, ONNX int8) loads the model the way the Space does
(`space.model.get_pipeline` with `NER_BACKEND`); the parent asks them for one timed call at a time,
round-robin, so machine noise hits every method alike while only one process runs.

Forward-only and in-process rows, on a short, a ~120-token and a ~1 000-token text (median ms):
  forward   the raw forward on the already-tokenised windows (`nercore.windows.forward_windows`)
  simple    one `pipeline(..., aggregation_strategy="simple", stride=...)` call (torch process)
  five      one pipeline call per pipeline strategy (torch process; with --five)
  all       `nercore.engine.predict_all(pipe, text)`: every registered strategy from one forward pass
  group     the grouping part of `all` alone: every strategy from the text's logits, computed once before
End-to-end rows: `python app.py` per backend (NER_BACKEND), `/compare` with every strategy through
`gradio_client`, sequential calls, round-robin over the servers. That row is what a visitor meets:
on the bundled model (it ships onnx/model_quantized.onnx) the Space's default `NER_BACKEND=auto`
runs int8 on a CPU.

Goals: all strategies on int8 <= 0.6x one torch `simple` call, on ONNX fp32 <= 0.9x, on torch
<= 1.0x (at ~120 and ~1 000 tokens). A local model folder without onnx/ files is exported into a
temporary copy first (`nerkit export`).

    python bench/space_compare.py                         # NER_MODEL, else ./model
    python bench/space_compare.py --repeats 30 --no-e2e   # in-process rows only
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

BACKENDS = ("torch", "onnx", "onnx-int8")
GOALS = {"torch": 1.0, "onnx": 0.9, "onnx-int8": 0.6}  # all strategies / one torch `simple` call
PARAGRAPH = (  # invented text: CoNLL-2003 (Reuters) sentences are research-only and stay out of the repo
    "The European Space Agency said on Monday that its new Mars orbiter would launch from Kourou in French "
    "Guiana next spring. Agency director Josef Aschbacher told reporters in Paris that the mission, built with "
    "Airbus Defence and Space, had passed its final review. NASA administrator Bill Nelson welcomed the news "
    "from Washington, and the Japan Aerospace Exploration Agency confirmed it would supply an instrument "
    "designed at the University of Tokyo. Indonesian President Joko Widodo met Barack Obama at the United "
    "Nations in New York City. "
)
LABELS = {"short": "short", "~120 tokens": "tokens_120", "~1000 tokens": "tokens_1000"}


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

    return {"short": "Barack Obama visited the United Nations in New York City.",
            "~120 tokens": sized(120), "~1000 tokens": sized(1000)}


# -- the worker: one backend, loaded as the Space loads it ------------------------------------------------

def worker(model: str, backend: str, five: bool = False) -> int:
    """Answer `{"text": label, "method": name}` lines with `{"s": seconds}`; first line: what was loaded."""
    from nercore.device import select_device
    from nercore.engine import _checked_stride, _postprocess, predict_all
    from nercore.strategies import STRATEGIES
    from nercore.windows import encode, forward_windows
    from space.model import LoadPolicy, get_pipeline

    pipe = get_pipeline(model, select_device("cpu"), policy=LoadPolicy(backend=backend))
    stride = _checked_stride(pipe, None)
    texts = texts_for(pipe.tokenizer)
    scored = {t: encode(pipe, t, stride) for t in texts.values()}  # windows with logits: the grouping timed alone
    forward_windows(pipe, list(scored.values()), 8)
    methods = {"forward": lambda t: forward_windows(pipe, [encode(pipe, t, stride)], 8),
               "group": lambda t: _postprocess(pipe, scored[t], STRATEGIES, stride, ("O",)),
               "all": lambda t: predict_all(pipe, t)}
    if backend == "torch":
        from transformers import pipeline

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipes = {s.name: pipeline("token-classification", model=pipe.model, tokenizer=pipe.tokenizer, device=pipe.device,
                                      aggregation_strategy=s.name, **({"stride": stride} if s.whole_entities else {}))
                     for s in STRATEGIES if s.pipeline}
        methods["simple"] = lambda t: pipes["simple"](t)
        if five:
            methods["five"] = lambda t: [p(t) for p in pipes.values()]
    import torch

    info = {"backend": pipe.nerkit_backend, "threads": torch.get_num_threads(), "stride": stride,
            "max_length": pipe.tokenizer.model_max_length, "methods": list(methods),
            "texts": {label: {"tokens": len(pipe.tokenizer(t, truncation=False)["input_ids"]) - 2,
                              "windows": len(encode(pipe, t, stride).chunks)} for label, t in texts.items()}}
    print(json.dumps(info), flush=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for line in sys.stdin:
            ask = json.loads(line)
            began = time.perf_counter()
            methods[ask["method"]](texts[ask["text"]])
            print(json.dumps({"s": time.perf_counter() - began}), flush=True)
    return 0


class Worker:
    def __init__(self, model: str, backend: str, five: bool = False):
        # OpenMP waits passively, as space/app.py sets it before torch loads: spinning threads on shared cores
        # made one 11-token torch forward take seconds here.
        env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker", backend, "--model", model, *(["--five"] if five else [])],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT, env=env)
        self.info = json.loads(self._line())

    def _line(self) -> str:
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit(f"a bench worker died (exit {self.proc.poll()})")
            if line.startswith("{"):
                return line

    def time(self, text: str, method: str) -> float:
        self.proc.stdin.write(json.dumps({"text": text, "method": method}) + "\n")
        self.proc.stdin.flush()
        return json.loads(self._line())["s"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(30)


def in_process_rows(model: str, repeats: int, warmup: int, five: bool = False) -> tuple[dict, dict]:
    """{(backend, method): {text label: median ms}} and the workers' info, round-robin over the processes."""
    workers = {b: Worker(model, b, five) for b in BACKENDS}
    try:
        labels = list(workers["torch"].info["texts"])
        samples: dict = {}
        for label in labels:
            for i in range(warmup + repeats):
                for backend, w in workers.items():
                    for method in w.info["methods"]:
                        t = w.time(label, method)
                        if i >= warmup:
                            samples.setdefault((backend, method), {}).setdefault(label, []).append(t)
    finally:
        for w in workers.values():
            w.close()
    medians = {key: {label: statistics.median(v) * 1000 for label, v in per.items()} for key, per in samples.items()}
    return medians, {b: w.info for b, w in workers.items()}


def e2e_rows(model: str, texts: dict[str, str], repeats: int, warmup: int) -> dict:
    """{backend: {text label: median ms of /compare}} plus ("torch", "predict-simple"): sequential calls,
    round-robin over one `python app.py` per backend."""
    from space_load import Server

    servers = {b: Server(model, NER_BACKEND=b) for b in BACKENDS}
    try:
        samples: dict = {}
        calls = [(b, "/compare") for b in BACKENDS] + [("torch", "/predict")]
        for label, text in texts.items():
            for i in range(warmup + repeats):
                for backend, api in calls:
                    kwargs = {"strategy": "simple"} if api == "/predict" else {}
                    began = time.perf_counter()
                    servers[backend].client.predict(text=text, api_name=api, **kwargs)
                    if i >= warmup:
                        samples.setdefault((backend, api), {}).setdefault(label, []).append(time.perf_counter() - began)
    finally:
        for server in servers.values():
            server.close()
    return {key: {label: statistics.median(v) * 1000 for label, v in per.items()} for key, per in samples.items()}


def ensure_onnx(model: str, tmp: Path) -> str:
    """`model`, or a temporary copy with both ONNX files exported when a local folder lacks one."""
    from nercore.backends import ONNX_FP32, ONNX_INT8

    source = Path(model)
    if not source.is_dir() or ((source / ONNX_FP32).is_file() and (source / ONNX_INT8).is_file()):
        return model
    from toolkit.export import export_onnx

    copy = tmp / "onnx-export"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("checkpoints", "onnx"))
    print(f"exporting {model} to ONNX in a temporary copy: {export_onnx(copy).summary()}")
    return str(copy)


def report(medians: dict, info: dict, e2e: dict | None) -> dict:
    """Print the tables and return the figures for bench/results/space_compare.json."""
    labels = list(info["torch"]["texts"])
    simple = medians[("torch", "simple")]
    five = ("torch", "five") in medians
    print(f"{'text':<14}{'tokens':>7}{'windows':>8}" + "".join(f"{b + ' fwd':>15}" for b in BACKENDS)
          + f"{'torch simple':>14}" + (f"{'torch five':>12}" if five else "") + "".join(f"{b + ' all':>15}" for b in BACKENDS))
    figures: dict = {"forward_ms": {}, "all_ms": {}, "torch_simple_ms": {}, "all_vs_torch_simple": {},
                     "forward_vs_torch_forward": {}}
    for label in labels:
        key, t = LABELS[label], info["torch"]["texts"][label]
        print(f"{label:<14}{t['tokens']:>7}{t['windows']:>8}"
              + "".join(f"{medians[(b, 'forward')][label]:>15.1f}" for b in BACKENDS)
              + f"{simple[label]:>14.1f}" + (f"{medians[('torch', 'five')][label]:>12.1f}" if five else "")
              + "".join(f"{medians[(b, 'all')][label]:>15.1f}" for b in BACKENDS))
        figures["torch_simple_ms"][key] = round(simple[label], 2)
        for b in BACKENDS:
            figures["forward_ms"].setdefault(b, {})[key] = round(medians[(b, "forward")][label], 2)
            figures["all_ms"].setdefault(b, {})[key] = round(medians[(b, "all")][label], 2)
            figures["all_vs_torch_simple"].setdefault(b, {})[key] = round(medians[(b, "all")][label] / simple[label], 2)
            figures["forward_vs_torch_forward"].setdefault(b, {})[key] = round(
                medians[(b, "forward")][label] / medians[("torch", "forward")][label], 2)
    print("\nall strategies from one pass / one torch `simple` pipeline call (goal at ~120 and ~1000 tokens):")
    for b in BACKENDS:
        ratios = figures["all_vs_torch_simple"][b]
        worst = max(ratios["tokens_120"], ratios["tokens_1000"])
        verdict = "MET" if worst <= GOALS[b] else "NOT MET"
        print(f"  {b:<10} " + " / ".join(f"{ratios[LABELS[l]]:.2f}x" for l in labels) + f"  (goal <= {GOALS[b]}x): {verdict}")
        figures.setdefault("goal_met", {})[b] = verdict == "MET"
    for b in BACKENDS:
        for label in labels:
            figures.setdefault("group_ms", {}).setdefault(b, {})[LABELS[label]] = round(medians[(b, "group")][label], 2)
    print("grouping every strategy on ready logits (ms), the rest of the all-strategies call being the forward: "
          + "; ".join(f"{b} " + " / ".join(f"{figures['group_ms'][b][LABELS[l]]:.1f}" for l in labels) for b in BACKENDS))
    print("forward only / torch forward: " + "; ".join(
        f"{b} " + " / ".join(f"{figures['forward_vs_torch_forward'][b][LABELS[l]]:.2f}x" for l in labels) for b in BACKENDS[1:]))
    if e2e:
        print("\nend to end through `python app.py` (gradio_client, sequential), median ms — what a visitor meets:")
        print(f"{'text':<14}" + "".join(f"{b + ' /compare':>20}" for b in BACKENDS) + f"{'torch /predict simple':>23}"
              + "".join(f"{b + '/torch':>16}" for b in BACKENDS[1:]))
        for label in labels:
            key = LABELS[label]
            row = {b: e2e[(b, "/compare")][label] for b in BACKENDS}
            print(f"{label:<14}" + "".join(f"{row[b]:>20.1f}" for b in BACKENDS) + f"{e2e[('torch', '/predict')][label]:>23.1f}"
                  + "".join(f"{row[b] / row['torch']:>15.2f}x" for b in BACKENDS[1:]))
            for b in BACKENDS:
                figures.setdefault("e2e_compare_ms", {}).setdefault(b, {})[key] = round(row[b], 1)
                figures.setdefault("e2e_compare_vs_torch_compare", {}).setdefault(b, {})[key] = round(row[b] / row["torch"], 2)
            figures.setdefault("e2e_torch_predict_simple_ms", {})[key] = round(e2e[("torch", "/predict")][label], 1)
        print("A visitor of the Space with the bundled model meets the onnx-int8 /compare row (NER_BACKEND=auto on CPU).")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="Hub id or folder (default: NER_MODEL, else ./model)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--e2e-repeats", type=int, default=10, help="sequential /compare calls per text and server")
    parser.add_argument("--no-e2e", action="store_true", help="skip the end-to-end rows (no app.py servers)")
    parser.add_argument("--no-record", action="store_true", help="do not write bench/results/space_compare.json")
    parser.add_argument("--five", action="store_true", help="also time one pipeline call per strategy (slow)")
    parser.add_argument("--worker", choices=BACKENDS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    model = args.model or os.environ.get("NER_MODEL") or str(REPO_ROOT / "model")
    if args.worker:
        return worker(model, args.worker, args.five)
    with tempfile.TemporaryDirectory(prefix="space-bench-") as tmp:
        model = ensure_onnx(model, Path(tmp))
        medians, info = in_process_rows(model, args.repeats, args.warmup, args.five)
        for b in BACKENDS:
            if info[b]["backend"] != b:
                raise SystemExit(f"the {b} worker loaded {info[b]['backend']}; install onnxruntime and export the model")
        t = info["torch"]
        print(f"model: {model}; each backend in its own process; threads {t['threads']}; max tokens/window "
              f"{t['max_length']}; stride {t['stride']}; repeats {args.repeats} (median), round-robin\n")
        e2e = None
        if not args.no_e2e:
            from transformers import AutoTokenizer

            from nercore.lengths import fit_tokenizer  # noqa: F401 (the workers' texts: same tokenizer)

            e2e = e2e_rows(model, texts_for(AutoTokenizer.from_pretrained(model)), args.e2e_repeats, 2)
        figures = report(medians, info, e2e)
    if not args.no_record:
        from _results import record

        path = record("space_compare", figures, notes="2 shared vCPUs, loaded by other jobs; each backend in its own process")
        print(f"\nfigures written to {path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
