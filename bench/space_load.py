"""Load on the launched Space (`python app.py` on 127.0.0.1), side by side in one run.

Reports: 64 concurrent /compare calls (calls/s, p50/p95, errors); server RSS before/after N
sequential calls and after 50 oversized bodies; how long a /predict on the loaded default model
waits while other models load; and micro-batching on vs off (NER_BATCH_SIZE=16 vs 1) at
1/8/32/64 clients: calls/s, p95, and the server process's CPU time per call (the clients share the
machine, so calls/s also pays for them; CPU per call is what a Space with remote visitors pays).
Fairness: how long one-line /predict calls wait while 8 texts of 20,000 characters are in flight,
sent to /compare with every strategy as the page sends them, and how long those long texts take;
`--baseline REV` runs the same row on the app of another git revision (a temporary worktree), side
by side. Soak (`--soak`): 10 rounds of 64 clients calling /compare for 30 s each, server RSS after
every round (goal: round 10 <= round 2 + 50 MB).
Model: NER_MODEL, else the bundled ./model; backend: NER_BACKEND (auto: ONNX int8 on CPU).
Figures go to bench/results/space_load.json, space_fairness.json and space_soak.json.

    python bench/space_load.py            # full
    python bench/space_load.py --quick    # fewer calls (a couple of minutes on 2 CPU cores)
    NER_BACKEND=torch python bench/space_load.py --quick --batching-only --wait-ms 15
    python bench/space_load.py --fairness-only --baseline HEAD~3
    python bench/space_load.py --soak     # 10 rounds x 64 clients x 30 s (6-7 minutes)
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import record  # noqa: E402
NAMES = ["Barack Obama", "Angela Merkel", "Joko Widodo", "John Smith"]
PLACES = ["Paris", "New York City", "Jakarta", "Montpellier"]


def text_for(i: int) -> str:
    return (f"{NAMES[i % 4]} met {NAMES[(i + 1) % 4]} at the United Nations in {PLACES[i % 4]} "
            f"on day {i}, said Reuters." + " Ubisoft agreed." * (i % 3))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`python app.py` in a subprocess with extra environment."""

    def __init__(self, model: str, cwd: Path = ROOT, **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        environ = dict(os.environ, NER_MODEL=model, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(self.port),
                       NER_DEVICE="cpu", NER_QUEUE_SIZE="256", **env)
        self.proc = subprocess.Popen([sys.executable, "app.py"], cwd=cwd, env=environ,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 180
        while True:
            try:
                urllib.request.urlopen(self.url, timeout=5).read()
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise SystemExit("app.py did not start")
                time.sleep(0.5)
        from gradio_client import Client

        self.client = Client(self.url, verbose=False)
        self.client.predict(text="warm up", strategy="simple", api_name="/predict")

    def cpu_s(self) -> float:
        """CPU seconds the server process has used (user + system, all its threads)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def p95(sorted_values: list[float]) -> float:
    """Nearest-rank 95th percentile (for 2 values: the larger one)."""
    return sorted_values[max(0, math.ceil(0.95 * len(sorted_values)) - 1)]


def timed(fn, *args, **kwargs) -> tuple[float, Exception | None]:
    began = time.perf_counter()
    try:
        fn(*args, **kwargs)
        return time.perf_counter() - began, None
    except Exception as exc:  # counted as an error
        return time.perf_counter() - began, exc


def load_run(server: Server, clients: int, calls: int, api: str = "/compare") -> dict:
    """`calls` calls from `clients` concurrent clients; calls/s, p50, p95 (s), errors."""
    def one(i: int):
        kwargs = {"text": text_for(i), "api_name": api}
        return timed(server.client.predict, **kwargs)

    began, cpu = time.perf_counter(), server.cpu_s()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(one, range(calls)))
    wall = time.perf_counter() - began
    times = sorted(t for t, _ in results)
    return {"calls_s": calls / wall, "p50": statistics.median(times), "p95": p95(times),
            "errors": sum(1 for _, e in results if e is not None), "cpu_ms": (server.cpu_s() - cpu) * 1000 / calls}


def oversized(server: Server, n: int, size: int = 5_000_000) -> tuple[int, float, float]:
    import httpx

    before, refused = server.rss_mb(), 0
    body = b'{"data": ["' + b"x" * size + b'"]}'
    for _ in range(n):
        try:
            refused += httpx.post(server.url + "gradio_api/call/compare", content=body, timeout=60,
                                  headers={"content-type": "application/json"}).status_code == 413
        except httpx.HTTPError:
            pass
    time.sleep(1)
    return refused, before, server.rss_mb()


def wait_during_loads(server: Server, model: str, copies: int = 3) -> tuple[float, float]:
    """(baseline /predict s, the same /predict while `copies` other models load)."""
    baseline = statistics.median(timed(server.client.predict, text=text_for(1), strategy="first",
                                       api_name="/predict")[0] for _ in range(5))
    tmp = Path(tempfile.mkdtemp(prefix="space-load-"))
    folders = []
    for i in range(copies):
        shutil.copytree(model, tmp / f"other-{i}")
        folders.append(str(tmp / f"other-{i}"))
    jobs = [threading.Thread(target=timed, args=(server.client.predict,),
                             kwargs=dict(text="John", strategy="simple", model=f, api_name="/predict")) for f in folders]
    for job in jobs:
        job.start()
    time.sleep(0.3)  # the loads have started
    during = timed(server.client.predict, text=text_for(1), strategy="first", api_name="/predict")[0]
    for job in jobs:
        job.join(300)
    shutil.rmtree(tmp, ignore_errors=True)
    return baseline, during


def long_text(chars: int = 20_000) -> str:
    parts, i = [], 0
    while sum(len(p) + 1 for p in parts) < chars:
        parts.append(text_for(i))
        i += 1
    return " ".join(parts)[:chars]


def fairness(server: Server, long_clients: int = 8, rounds: int = 1, gap_s: float = 0.25) -> dict:
    """One-line /predict waits (p50, p95, max) while `long_clients` 20,000-character texts are in flight
    on /compare with every strategy (`rounds` each), and the wall time until every long text is answered."""
    text = long_text()
    errors = []

    def long_calls():
        for _ in range(rounds):
            _t, exc = timed(server.client.predict, text=text, api_name="/compare")
            if exc is not None:
                errors.append(exc)

    threads = [threading.Thread(target=long_calls) for _ in range(long_clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # every long text has arrived
    waits, i = [], 0
    while any(thread.is_alive() for thread in threads):
        waits.append(timed(server.client.predict, text=text_for(i), strategy="first", api_name="/predict")[0])
        i += 1
        time.sleep(gap_s)
    long_wall = max(time.perf_counter() - began - gap_s, 1e-9)
    for thread in threads:
        thread.join()
    waits.sort()
    return {"short_p50": statistics.median(waits), "short_p95": p95(waits),
            "short_max": waits[-1], "shorts": len(waits), "long_wall": long_wall,
            "long_per_s": long_clients * rounds / long_wall, "errors": len(errors)}


def fairness_rows(model: str, baseline: str | None, rounds: int) -> None:
    """The fairness row for this checkout, and for `baseline` (a git revision) when given."""
    runs = [("this checkout", ROOT)]
    worktree = None
    if baseline:
        worktree = Path(tempfile.mkdtemp(prefix="space-baseline-"))
        subprocess.run(["git", "worktree", "add", "--detach", "--force", str(worktree), baseline], cwd=ROOT,
                       check=True, capture_output=True)
        runs.insert(0, (f"baseline {baseline[:12]}", worktree))
    rows = []
    try:
        for label, cwd in runs:
            server = Server(model, cwd=cwd)
            try:
                rows.append((label, fairness(server, rounds=rounds)))
            finally:
                server.close()
    finally:
        if worktree is not None:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT, capture_output=True)
    print("fairness: one-line /predict while 8 texts of 20,000 characters are in flight on /compare (every strategy)")
    print("app                 | short wait p50 s  p95 s  max s (n) | long texts: wall s  texts/s | errors")
    for label, r in rows:
        print(f"{label:19} | {r['short_p50']:16.2f} {r['short_p95']:6.2f} {r['short_max']:6.2f} ({r['shorts']:3d}) | "
              f"{r['long_wall']:19.1f} {r['long_per_s']:8.2f} | {r['errors']}")
    figures = {"rounds": rounds, "long_clients": 8, "long_chars": 20_000, "long_api": "/compare (every strategy)"}
    for label, r in rows:
        key = "baseline" if label.startswith("baseline") else "this"
        figures[key] = {k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}
        if key == "baseline":
            figures["baseline_rev"] = baseline
    if len(rows) == 2:
        (_, old), (_, new) = rows
        print(f"ratio this/baseline: short p95 {new['short_p95'] / old['short_p95']:.2f}x, "
              f"long-text throughput {new['long_per_s'] / old['long_per_s']:.2f}x")
        figures["long_throughput_this_vs_baseline"] = round(new["long_per_s"] / old["long_per_s"], 2)
    this = figures["this"]
    figures["goal_short_p95_met"] = this["short_p95"] <= 0.5 and this["shorts"] >= 30
    record("space_fairness", figures, notes="2 shared vCPUs, loaded by other jobs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer calls")
    parser.add_argument("--batching-only", action="store_true", help="only the batched-vs-unbatched table")
    parser.add_argument("--wait-ms", type=int, default=5, help="NER_BATCH_WAIT_MS of the batched server (default 5)")
    parser.add_argument("--fairness-only", action="store_true", help="only the fairness row(s)")
    parser.add_argument("--baseline", metavar="REV", help="also run the fairness row on the app at git revision REV")
    parser.add_argument("--rounds", type=int, default=None, help="long texts per long client in the fairness row "
                        "(default: 1 with --quick, else 2)")
    parser.add_argument("--soak", action="store_true", help="only the soak: 10 rounds of 64 clients x 30 s, RSS after each")
    parser.add_argument("--soak-rounds", type=int, default=10)
    parser.add_argument("--soak-seconds", type=float, default=30.0)
    args = parser.parse_args()
    model = os.environ.get("NER_MODEL") or str(ROOT / "model")
    sequential = 100 if args.quick else 500
    per_clients = 64 if args.quick else 256
    print(f"model {Path(model).name if Path(model).exists() else model}; quick={args.quick}; "
          f"backend {os.environ.get('NER_BACKEND', 'auto')}; batch wait {args.wait_ms} ms")
    rounds = args.rounds or (1 if args.quick else 2)
    if args.soak:
        soak(model, args.soak_rounds, args.soak_seconds)
        return
    if args.fairness_only:
        fairness_rows(model, args.baseline, rounds=rounds)
        return
    figures = {}
    if not args.batching_only:
        figures["server"] = server_checks(model, sequential)
        fairness_rows(model, args.baseline, rounds=rounds)
    figures["batching"] = batching_table(model, per_clients, args.wait_ms)
    record("space_load", figures, notes="2 shared vCPUs, loaded by other jobs; clients on the same machine")


def soak(model: str, rounds: int, seconds: float, clients: int = 64) -> dict:
    """`rounds` rounds of `clients` clients calling /compare back to back for `seconds`; server RSS after each."""
    server = Server(model)
    rss, calls, errors = [server.rss_mb()], [], []
    try:
        for round_ in range(1, rounds + 1):
            deadline = time.perf_counter() + seconds
            done, failed, first_error = [0], [0], []

            def client(i: int) -> None:
                while time.perf_counter() < deadline:
                    _t, exc = timed(server.client.predict, text=text_for(i + done[0]), api_name="/compare")
                    done[0] += 1
                    failed[0] += exc is not None
                    if exc is not None and not first_error:
                        first_error.append(f"{type(exc).__name__}: {str(exc)[:120]}")

            with ThreadPoolExecutor(clients) as pool:
                list(pool.map(client, range(clients)))
            time.sleep(1)
            rss.append(server.rss_mb())
            calls.append(done[0])
            errors.append(failed[0])
            print(f"round {round_:2d}: {done[0]:5d} calls, {failed[0]} errors, server RSS {rss[-1]:.0f} MB"
                  + (f" (first error: {first_error[0]})" if first_error else ""), flush=True)
    finally:
        server.close()
    growth = rss[-1] - rss[2] if len(rss) > 2 else float("nan")
    print(f"RSS before {rss[0]:.0f} MB; after round 2 {rss[min(2, len(rss) - 1)]:.0f} MB, after round {rounds} "
          f"{rss[-1]:.0f} MB: {growth:+.0f} MB (goal <= +50 MB): {'MET' if growth <= 50 else 'NOT MET'}")
    figures = {"clients": clients, "seconds_per_round": seconds, "rss_mb": [round(x) for x in rss], "calls": calls,
               "errors": errors, "growth_round2_to_last_mb": round(growth), "goal_met": bool(growth <= 50)}
    record("space_soak", figures, notes="2 shared vCPUs, loaded by other jobs; rss_mb[0] is before round 1")
    return figures


def server_checks(model: str, sequential: int) -> dict:
    server = Server(model, NER_ALLOW_ANY_MODEL="1", NER_ALLOW_LOCAL_PATHS="1")
    try:
        r64 = r = load_run(server, 64, 64)
        print(f"64 concurrent /compare: {r['calls_s']:.1f} calls/s, p50 {r['p50']:.2f} s, p95 {r['p95']:.2f} s, "
              f"errors {r['errors']}")
        before = server.rss_mb()
        r = load_run(server, 1, sequential)
        after = server.rss_mb()
        print(f"RSS {before:.0f} MB before, {after:.0f} MB after {sequential} sequential calls "
              f"({r['calls_s']:.1f} calls/s)")
        refused, rss0, rss1 = oversized(server, 50)
        print(f"50 oversized 5 MB bodies: {refused} refused with 413; RSS {rss0:.0f} -> {rss1:.0f} MB "
              f"({rss1 - rss0:+.0f} MB)")
        base, during = wait_during_loads(server, model)
        print(f"/predict on the loaded default: {base:.2f} s alone, {during:.2f} s while 3 other models load "
              f"(+{during - base:.2f} s)")
    finally:
        server.close()
    return {"concurrent_64": {k: round(v, 3) for k, v in r64.items()}, "rss_before_mb": round(before),
            "rss_after_sequential_mb": round(after), "sequential_calls": sequential, "oversized_refused": refused,
            "oversized_rss_mb": [round(rss0), round(rss1)], "predict_alone_s": round(base, 3),
            "predict_during_loads_s": round(during, 3)}


def batching_table(model: str, per_clients: int, wait_ms: int) -> dict:
    rows = {}
    for label, batch in (("unbatched", "1"), ("batched", "16")):
        server = Server(model, NER_BATCH_SIZE=batch, NER_BATCH_WAIT_MS=str(wait_ms))
        try:
            for clients in (1, 8, 32, 64):
                rows[(label, clients)] = load_run(server, clients, max(clients * 2, per_clients // 4 if clients > 1 else 32))
        finally:
            server.close()
    print("clients | unbatched calls/s  p95 s  server CPU ms/call | batched calls/s  p95 s  server CPU ms/call | "
          "throughput ratio | server CPU per call ratio")
    for clients in (1, 8, 32, 64):
        u, b = rows[("unbatched", clients)], rows[("batched", clients)]
        print(f"{clients:7d} | {u['calls_s']:17.1f} {u['p95']:6.2f} {u['cpu_ms']:19.1f} | {b['calls_s']:15.1f} {b['p95']:6.2f} "
              f"{b['cpu_ms']:19.1f} | {b['calls_s'] / u['calls_s']:15.2f}x | {b['cpu_ms'] / u['cpu_ms']:24.2f}x"
              f"  (errors {u['errors']}/{b['errors']})")
    print("The clients run on the same machine (gradio_client threads in this process), so calls/s also pays for them;\n"
          "server CPU ms per call is what a Space with remote visitors pays for each request.")
    return {f"{label}_{clients}": {k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}
            for (label, clients), r in rows.items()}


if __name__ == "__main__":
    main()
