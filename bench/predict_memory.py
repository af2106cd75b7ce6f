"""Peak memory of `nerkit predict` against the input's size: constant in the input, since the input is
streamed twice (a checking pass, then a predicting pass in chunks) and the output appended chunk by chunk.

A tiny random BERT (tests/tiny_models.py: the model's own cost is small, so the input handling is
what shows) runs over 10k, 100k and 1M generated lines (one sentence per line, plain text), each in
a fresh process; printed per size: wall time, records/s and the process's peak RSS. Goal: peak RSS
at 1M lines <= 1.2x that at 10k. The figures go to bench/results/predict_memory.json.

    python bench/predict_memory.py                         # 10k, 100k, 1M lines
    python bench/predict_memory.py --sizes 1000,10000      # a quick look
    python bench/predict_memory.py --sizes 10000,1000000 --time-limit 2400   # 1M lines cut after 40 min

With --time-limit, a size still running after that many seconds is stopped (SIGTERM) and its row is
marked partial: the peak RSS (VmHWM, polled twice a second) so far, over the whole checking pass and
the records predicted by then (its records/s: records written / wall time).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
GOAL = 1.2

# One `nerkit predict` in this process, then its peak RSS (ru_maxrss is in KiB on Linux).
CHILD = ("import resource, sys; sys.path.insert(0, %r); from toolkit.cli import main; code = main(sys.argv[1:]); "
         "print('PEAK_KIB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(code)") % str(ROOT)
WORDS = ("John Smith visited Paris and Oslo on Monday with Mara Lindqvist of the United Nations in New York "
         "City while the bank group said the company would hire German and British staff").split()


def write_lines(path: Path, count: int) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for i in range(count):
            start = (i * 7) % len(WORDS)
            length = 6 + (i * 13) % 18
            out.write(" ".join(WORDS[(start + k) % len(WORDS)] for k in range(length)) + f" {i} .\n")


def run_one(model: Path, source: Path, output: Path, batch_size: int,
            time_limit: float | None = None) -> tuple[float, float, int | None]:
    """(wall s, peak RSS MiB, records written if stopped at `time_limit`, else None)."""
    command = [sys.executable, "-c", CHILD, "predict", "--model", str(model), "--input", str(source), "--output",
               str(output), "--no-progress", "--batch-size", str(batch_size)]
    began = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak_kib, stopped = 0, False
    while child.poll() is None:
        peak_kib = max(peak_kib, _hwm_kib(child.pid))
        if time_limit and time.perf_counter() - began > time_limit and not stopped:
            child.terminate()  # SIGTERM: a child started from a background shell ignores SIGINT
            stopped = True
        time.sleep(0.5)
    stdout, stderr = child.communicate()
    wall = time.perf_counter() - began
    if stopped:
        partial = output.with_name(output.name + ".partial")
        done = sum(1 for _ in open(partial, encoding="utf-8")) if partial.exists() else 0
        partial.unlink(missing_ok=True)
        return wall, peak_kib / 1024, done
    if child.returncode != 0:
        raise SystemExit(f"nerkit predict failed:\n{stderr[-3000:]}")
    peak = next(int(line.split()[1]) for line in stdout.splitlines() if line.startswith("PEAK_KIB"))
    return wall, max(peak, peak_kib) / 1024, None


def _hwm_kib(pid: int) -> int:
    """The process's peak resident set so far (VmHWM, KiB), 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="input lines, comma-separated")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--time-limit", type=float, default=None,
                        help="stop a size after this many seconds and record a partial row (peak RSS so far)")
    parser.add_argument("--record-as", default="predict_memory", help="bench/results/<NAME>.json (default: predict_memory)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "tests"))
    from tiny_models import build_tiny_model

    sizes = [int(n) for n in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = build_tiny_model(tmp / "tiny", kind="bert")
        for count in sizes:
            source = tmp / f"in-{count}.txt"
            write_lines(source, count)
            wall, peak, partial = run_one(model, source, tmp / f"out-{count}.jsonl", args.batch_size, args.time_limit)
            if partial is None:
                lines = sum(1 for _ in open(tmp / f"out-{count}.jsonl", encoding="utf-8"))
                assert lines == count, f"{lines} records for {count} lines"
            done = count if partial is None else partial
            rows.append((count, source.stat().st_size / 2**20, wall, peak, done))
            cut = "" if partial is None else f" (PARTIAL: stopped after {wall:.0f} s with {done} records written)"
            print(f"{count:>9} lines ({rows[-1][1]:7.1f} MiB): {wall:8.1f} s, {done / wall:7.0f} records/s, "
                  f"peak RSS {peak:7.1f} MiB{cut}", flush=True)
            source.unlink()
            (tmp / f"out-{count}.jsonl").unlink(missing_ok=True)
            save(rows, args.batch_size, args.record_as)  # whatever finished is recorded
    base = rows[0][3]
    print(f"\n{'lines':>9} {'input MiB':>9} {'wall s':>8} {'records/s':>9} {'peak RSS MiB':>12} {'vs smallest':>11}")
    for count, mib, wall, peak, done in rows:
        mark = "" if done == count else f"  partial: {done} records predicted"
        print(f"{count:>9} {mib:9.1f} {wall:8.1f} {done / wall:9.0f} {peak:12.1f} {peak / base:10.2f}x{mark}")
    ratio = rows[-1][3] / base
    verdict = "met" if ratio <= GOAL else "NOT met"
    print(f"peak RSS at {rows[-1][0]} lines / at {rows[0][0]}: {ratio:.2f}x (goal <= {GOAL}x: {verdict}); machine "
          "shared with other jobs, so wall times are loose, RSS is not")


def save(rows: list[tuple], batch_size: int, name: str = "predict_memory") -> None:
    from _results import record

    record(name, {
        **{f"lines_{count}": {"input_mib": round(mib, 1), "wall_s": round(wall, 1), "records_per_s": round(done / wall),
                              "peak_rss_mib": round(peak, 1),
                              **({} if done == count else {"partial_records_predicted": done})}
           for count, mib, wall, peak, done in rows},
        "peak_rss_ratio_largest_vs_smallest": round(rows[-1][3] / rows[0][3], 3), "goal": GOAL,
    }, notes="tiny random BERT, plain-text input, --strategies first (default), batch %d; 2 CPU cores shared with "
       "other jobs (wall times loose)" % batch_size)


if __name__ == "__main__":
    main()
