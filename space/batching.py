"""Micro-batching: texts that arrive within a few milliseconds share one padded forward pass.

On a CPU the forward pass of one short text leaves most of the matrix units idle, and on a GPU
even more so; 32 concurrent visitors therefore get more done as one batch of 32 than as 32
passes in turn. `Batcher` is also the Space's inference slot: only its worker threads (one per
`NER_CONCURRENCY`) run forward passes, so model loading never occupies it.

A worker takes the oldest job, then collects more for at most `max_wait_s`, but only while
other requests are known to be on their way (`expect()`), so a lone visitor never waits.
Jobs are grouped by key (one pipeline and settings); a group's failure is retried job by job so
one bad text cannot fail its neighbours.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Sequence

log = logging.getLogger(__name__)


@dataclass
class _Job:
    key: Hashable
    payload: Any
    future: Future = field(default_factory=Future)


class Batcher:
    """`submit(key, payload)` blocks until `process(key, payloads)` (one call per batch) has answered it."""

    def __init__(self, process: Callable[[Any, Sequence[Any]], list], *, max_batch: int = 16,
                 max_wait_s: float = 0.005, workers: int = 1, name: str = "nerkit-batch"):
        if max_batch < 1 or workers < 1 or max_wait_s < 0:
            raise ValueError(f"max_batch and workers must be >= 1 and max_wait_s >= 0; got {max_batch}, {workers}, {max_wait_s}")
        self.process, self.max_batch, self.max_wait_s = process, max_batch, max_wait_s
        self._jobs: "queue.Queue[_Job]" = queue.Queue()
        self._expected = 0
        self._lock = threading.Lock()
        self.batch_sizes: list[int] = []  # recent batch sizes (for the bench and tests)
        for i in range(workers):
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True).start()

    @contextlib.contextmanager
    def expect(self):
        """Mark a request that will submit soon (checking input, loading): workers wait for it briefly."""
        with self._lock:
            self._expected += 1
        try:
            yield
        finally:
            with self._lock:
                self._expected -= 1

    def submit(self, key: Hashable, payload: Any) -> Any:
        job = _Job(key, payload)
        self._jobs.put(job)
        return job.future.result()

    def _others_coming(self, batch_len: int) -> bool:
        with self._lock:
            return self._expected > batch_len

    def _collect(self, first: _Job) -> list[_Job]:
        batch = [first]
        deadline = time.perf_counter() + self.max_wait_s
        while len(batch) < self.max_batch:
            try:
                batch.append(self._jobs.get_nowait())
                continue
            except queue.Empty:
                pass
            remaining = deadline - time.perf_counter()
            if remaining <= 0 or not self._others_coming(len(batch)):
                break
            try:
                batch.append(self._jobs.get(timeout=min(remaining, 0.001)))
            except queue.Empty:
                continue
        return batch

    def _work(self) -> None:
        while True:
            batch = self._collect(self._jobs.get())
            self.batch_sizes = (self.batch_sizes + [len(batch)])[-1000:]
            groups: dict[Hashable, list[_Job]] = {}
            for job in batch:
                groups.setdefault(job.key, []).append(job)
            for key, jobs in groups.items():
                self._run_group(key, jobs)

    def _run_group(self, key: Hashable, jobs: list[_Job]) -> None:
        try:
            results = self.process(key, [j.payload for j in jobs])
        except BaseException as exc:  # noqa: BLE001 - handed to the callers
            if len(jobs) == 1:
                jobs[0].future.set_exception(exc)
                return
            for job in jobs:  # find the job that failed; the others still get their answers
                self._run_group(key, [job])
            return
        for job, result in zip(jobs, results):
            job.future.set_result(result)
