"""Fair scheduling of forward passes: windows, not whole texts, are the unit of work.

Why: with one inference slot, a visitor's 20,000-character text (about a dozen 512-token windows,
2-4 s of CPU) used to hold the slot until its last window, so a one-line request behind 8 such
texts waited 13 s. Here each request's text is cut into its windows in the request's own thread
(`nercore.engine.prepare`), and the worker runs **one pass at a time of at most `max_tokens`
padded sub-tokens**, filled in order of fewest windows left (then arrival): a short request goes
into the very next pass, so it waits for at most one pass already running, never for a whole
long text. Windows of several requests share a pass while the budget allows (micro-batching), so
many short requests still cost one padded forward pass. Except on a model that runs every row of
a batch alone (ONNX int8, `pass_windows`): there a pass is one window, since sharing would save
nothing and a one-line request would wait for a pass of other texts' windows, then share its own
with them (fairness p95 1.22 -> 0.31 s, long-text throughput 1.00x; docs/benchmarks.md).

A worker collects for at most `max_wait_s`, and only while other requests are known to be on their
way (`expect()`), so a lone visitor never waits. A pass that fails is retried window by window, so
one bad text cannot fail its neighbours. Each request's answer is computed from its own windows'
logits exactly as `nercore.engine.predict_detailed` computes it (`finish`).

Grouping a long text's windows into every strategy's entities is pure Python in the request's
thread: about as long as its forward passes (a 20,000-character text: 100 windows on the bundled
model). Eight of them at once held the GIL in turn with a one-line request's thread, so its every
step waited behind them (p95 0.67-0.76 s). `grouping(pending)` lets one multi-window text group at
a time; one-window texts never wait for it. Long texts lose nothing: the GIL ran them one at a time anyway.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from nercore.engine import Pending
from nercore.windows import forward_items, window_length


def pass_windows(pipe: Any, max_windows: int) -> int:
    """Windows one pass may hold: 1 for a model that runs every row of a batch alone (ONNX int8,
    `rows_alone`), where sharing a pass saves nothing and only makes a one-line request wait for the
    others' windows in its own pass and in the pass before it; else `max_windows`."""
    return 1 if getattr(getattr(pipe, "model", None), "rows_alone", False) else max_windows


@dataclass(eq=False)
class _Task:
    pipe: Any
    pending: Pending
    order: int
    sent: int = 0  # windows handed to a pass
    done: int = 0  # windows with logits
    future: Future = field(default_factory=Future)

    @property
    def left(self) -> int:
        return self.pending.num_windows - self.sent


class WindowScheduler:
    """`run(pipe, pending)` blocks until every window of `pending` has its logits (or raises its error).

    `max_tokens`: padded sub-tokens per forward pass (windows × longest window); one window always
    goes, however long. `max_windows`: windows per pass (1: no sharing between requests).
    """

    def __init__(self, *, max_tokens: int = 512, max_windows: int = 16, max_wait_s: float = 0.0,
                 workers: int = 1, name: str = "nerkit-infer"):
        if max_tokens < 1 or max_windows < 1 or workers < 1 or max_wait_s < 0:
            raise ValueError(f"max_tokens, max_windows and workers must be >= 1 and max_wait_s >= 0; got "
                             f"{max_tokens}, {max_windows}, {workers}, {max_wait_s}")
        self.max_tokens, self.max_windows, self.max_wait_s = max_tokens, max_windows, max_wait_s
        self._tasks: list[_Task] = []  # tasks with windows not yet sent, in arrival order
        self._grouping = threading.Lock()  # one multi-window text groups its entities at a time
        self._cond = threading.Condition()
        self._expected = 0
        self._orders = itertools.count()
        self.batch_sizes: deque[int] = deque(maxlen=1000)  # requests that shared each recent pass (bench, tests)
        for i in range(workers):
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True).start()

    @contextlib.contextmanager
    def expect(self):
        """Mark a request that will submit soon (checking input, loading): workers wait for it briefly."""
        with self._cond:
            self._expected += 1
        try:
            yield
        finally:
            with self._cond:
                self._expected -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def grouping(self, pending: Pending):
        """Hold while turning `pending`'s logits into entities: texts of several windows take turns."""
        if pending.num_windows <= 1:
            yield
            return
        with self._grouping:
            yield

    def run(self, pipe: Any, pending: Pending) -> None:
        task = _Task(pipe, pending, next(self._orders))
        with self._cond:
            self._tasks.append(task)
            self._cond.notify_all()
        task.future.result()

    # -- worker -----------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._tasks:
                    self._cond.wait()
                self._wait_for_company_locked()
                try:
                    batch = self._pick_locked()
                except BaseException as exc:  # noqa: BLE001 - never a dead worker with callers waiting on it
                    failed, self._tasks = self._tasks, []
                    for task in failed:
                        task.future.set_exception(exc)
                    continue
            self._forward(batch)

    def _wait_for_company_locked(self) -> None:
        """Up to `max_wait_s` while requests are on their way and fewer windows wait than a pass holds."""
        deadline = time.perf_counter() + self.max_wait_s
        while (self._expected > len(self._tasks) and sum(t.left for t in self._tasks) < self.max_windows
               and (remaining := deadline - time.perf_counter()) > 0):
            self._cond.wait(min(remaining, 0.001))

    def _pick_locked(self) -> list[tuple[_Task, int]]:
        """The next pass: windows of the model of the task with fewest windows left, one per task per
        round (fewest left first), while the pass stays within the budget."""
        ranked = sorted(self._tasks, key=lambda t: (t.left, t.order))
        pipe = ranked[0].pipe
        ranked = [t for t in ranked if t.pipe is pipe]
        most = pass_windows(pipe, self.max_windows)
        batch: list[tuple[_Task, int]] = []
        longest = 0
        while len(batch) < most:
            added = False
            for task in ranked:
                if task.left == 0 or len(batch) >= most:
                    continue
                length = window_length(task.pending.encoded, task.sent)
                if batch and (len(batch) + 1) * max(longest, length) > self.max_tokens:
                    continue
                batch.append((task, task.sent))
                task.sent += 1
                longest = max(longest, length)
                added = True
            if not added:
                break
        self._tasks = [t for t in self._tasks if t.left > 0]
        self.batch_sizes.append(len({id(t) for t, _ in batch}))
        return batch

    def _forward(self, batch: list[tuple[_Task, int]]) -> None:
        pipe = batch[0][0].pipe
        try:
            forward_items(pipe, [(task.pending.encoded, index) for task, index in batch], len(batch))
        except BaseException as exc:  # noqa: BLE001 - handed to the callers
            if len({id(task) for task, _ in batch}) == 1:
                self._fail(batch[0][0], exc)
                return
            for item in batch:  # find the window that failed; the others still get their logits
                self._forward([item])
            return
        for task, _index in batch:
            task.done += 1
            if task.done == task.pending.num_windows and not task.future.done():
                task.future.set_result(None)

    def _fail(self, task: _Task, exc: BaseException) -> None:
        with self._cond:
            self._tasks = [t for t in self._tasks if t is not task]  # its other windows are not run
        if not task.future.done():
            task.future.set_exception(exc)


__all__ = ["WindowScheduler", "pass_windows"]
