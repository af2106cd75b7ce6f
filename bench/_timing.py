"""Training-time clock for bench/train_throughput.py: evaluate every N steps, clock paused meanwhile.

`EvalClock` is a `TrainerCallback`. Its clock starts when training starts and counts only
training: the bench's own evaluations, the Trainer's evaluations (their `eval_runtime`) and the
checkpoint saved right after one are paused out. Every `every` optimizer steps (and at the last
step) it evaluates the model and logs an `EvalPoint(step, train_s, f1)`. `time_to_target` and
`f1_at_budget` read that log; they are pure, so tests/test_train_bench.py checks them directly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from transformers import TrainerCallback


@dataclass(frozen=True)
class EvalPoint:
    step: int
    train_s: float  # training wall time up to this step, evaluations excluded
    f1: float


def time_to_target(log: list[EvalPoint], target: float) -> EvalPoint | None:
    """The first evaluation whose F1 reaches `target` (None: never reached)."""
    return next((point for point in log if point.f1 >= target), None)


def f1_at_budget(log: list[EvalPoint], budget_s: float) -> EvalPoint | None:
    """The last evaluation made within `budget_s` seconds of training (None: none that early)."""
    within = [point for point in log if point.train_s <= budget_s * (1 + 1e-9)]
    return within[-1] if within else None


class EvalClock(TrainerCallback):
    """Times training only, and evaluates `evaluate(model) -> F1` every `every` steps."""

    def __init__(self, evaluate: Callable[[object], float], every: int, on_point: Callable | None = None):
        if every < 1:
            raise ValueError(f"evaluate every N steps needs N >= 1, got {every}")
        self.evaluate, self.every, self.on_point = evaluate, every, on_point
        self.log: list[EvalPoint] = []
        self.started: float | None = None
        self.paused = 0.0
        self.train_s = 0.0
        self.steps = 0
        self._trainer_eval_end: float | None = None

    def elapsed(self) -> float:
        return time.perf_counter() - self.started - self.paused

    def on_train_begin(self, args, state, control, **kwargs):
        self.started, self.paused = time.perf_counter(), 0.0

    def on_step_end(self, args, state, control, model=None, **kwargs):
        self.train_s, self.steps = self.elapsed(), state.global_step
        self._trainer_eval_end = None
        if state.global_step % self.every and state.global_step < state.max_steps:
            return
        paused_at = time.perf_counter()
        was_training = model.training
        f1 = float(self.evaluate(model))
        model.train(was_training)
        point = EvalPoint(state.global_step, self.train_s, f1)
        self.log.append(point)
        if self.on_point:
            self.on_point(point)
        self.paused += time.perf_counter() - paused_at

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        self.paused += float((metrics or {}).get("eval_runtime", 0.0))
        self._trainer_eval_end = time.perf_counter()

    def on_save(self, args, state, control, **kwargs):
        if self._trainer_eval_end is not None:  # the checkpoint written right after an evaluation
            self.paused += time.perf_counter() - self._trainer_eval_end
            self._trainer_eval_end = None
