"""Benchmark: `nercore.spans.disagreements` (sort + sweep) against the loop it replaced (regions x spans,
repeated until nothing grows), side by side on the same inputs.

Input: `n` entities in a row from two voting strategies, every third one disputed (about n / 3
regions), plus a reference row with the same spans (the `word` view). A 20,000-character text holds
about 3 000 entities. Times are the median of `--repeats` calls; the old loop is the reference
implementation kept in tests/test_spans_sweep.py.

    python bench/spans_sweep.py            # n = 300 and 3000
    python bench/spans_sweep.py --no-record
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from nercore.spans import disagreements  # noqa: E402
from test_spans_sweep import many_regions, old_disagreements  # noqa: E402


def median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 3000], help="entities per strategy")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-record", action="store_true", help="do not write bench/results/spans_sweep.json")
    args = parser.parse_args(argv)
    figures: dict = {}
    print(f"{'entities':>9} {'regions':>8} {'old ms':>10} {'sweep ms':>10} {'old/sweep':>10}")
    for n in args.sizes:
        results = many_regions(n)
        regions = disagreements(results, None, reference=["word"])
        assert regions == old_disagreements(results, None, ["word"])
        old = median_ms(lambda: old_disagreements(results, None, ["word"]), args.repeats)
        new = median_ms(lambda: disagreements(results, None, reference=["word"]), args.repeats)
        print(f"{n:>9} {len(regions):>8} {old:>10.1f} {new:>10.2f} {old / new:>9.0f}x")
        figures[f"n_{n}"] = {"regions": len(regions), "old_ms": round(old, 2), "sweep_ms": round(new, 2),
                             "old_vs_sweep": round(old / new, 1)}
    if not args.no_record:
        from _results import record

        print(f"figures written to {record('spans_sweep', figures, notes='2 shared vCPUs, loaded by other jobs')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
