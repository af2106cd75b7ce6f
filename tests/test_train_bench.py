"""bench/train_throughput.py's clock: time to a target F1, F1 at a budget, evaluation paused out.

bench/ is not a package, so its helper module is loaded by path. The clock is driven through a
real `Trainer` on a tiny model (toolkit `train()` with its `callbacks` hook, and a plain Trainer).
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY_CONLL = Path(__file__).resolve().parent / "data" / "tiny_conll"


def _load_timing():
    spec = importlib.util.spec_from_file_location("bench_timing", ROOT / "bench" / "_timing.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building the class
    spec.loader.exec_module(module)
    return module


timing = _load_timing()
P = timing.EvalPoint


def test_time_to_target_is_the_first_evaluation_at_or_above_it():
    log = [P(25, 10.0, 0.5), P(50, 20.0, 0.79), P(75, 30.0, 0.80), P(100, 40.0, 0.78), P(125, 50.0, 0.85)]
    assert timing.time_to_target(log, 0.80) == P(75, 30.0, 0.80)
    assert timing.time_to_target(log, 0.85).train_s == 50.0
    assert timing.time_to_target(log, 0.9) is None
    assert timing.time_to_target([], 0.5) is None


def test_f1_at_budget_is_the_last_evaluation_within_it():
    log = [P(25, 10.0, 0.5), P(50, 20.0, 0.7), P(75, 30.0, 0.6)]
    assert timing.f1_at_budget(log, 25.0) == P(50, 20.0, 0.7)
    assert timing.f1_at_budget(log, 20.0) == P(50, 20.0, 0.7)  # exactly at the budget counts
    assert timing.f1_at_budget(log, 30.0).f1 == 0.6  # the last one, not the best one
    assert timing.f1_at_budget(log, 5.0) is None


def test_eval_every_must_be_positive():
    with pytest.raises(ValueError, match="N >= 1"):
        timing.EvalClock(lambda model: 0.0, 0)


@pytest.fixture(scope="module")
def tiny_data():
    from toolkit.data import load_raw_splits
    from toolkit.labels import prepare_labels

    return prepare_labels(load_raw_splits(str(TINY_CONLL)))


def test_clock_pauses_while_evaluating_through_toolkit_train(tiny_bert, tiny_data, tmp_path):
    """Evaluations every 2 steps that each sleep 0.3 s must not show up in the training time."""
    from toolkit.training import TrainConfig, train

    calls = []

    def slow_evaluate(model):
        calls.append(time.perf_counter())
        time.sleep(0.3)
        return 0.1 * len(calls)

    clock = timing.EvalClock(slow_evaluate, every=2)
    config = TrainConfig(model=str(tiny_bert), output_dir=str(tmp_path / "run"), epochs=2, batch_size=4, logging_steps=1000)
    started = time.perf_counter()
    train(config, tiny_data, callbacks=(clock,))
    total = time.perf_counter() - started

    steps = clock.steps
    assert steps >= 2
    assert [p.step for p in clock.log] == sorted({*range(2, steps + 1, 2), steps})  # every 2 and the last
    assert [p.f1 for p in clock.log] == pytest.approx([0.1 * (i + 1) for i in range(len(clock.log))])
    times = [p.train_s for p in clock.log]
    assert times == sorted(times) and times[-1] == clock.train_s
    # all the sleeping (and the Trainer's own per-epoch evaluation) is paused out of the clock
    assert clock.train_s < total - 0.3 * len(calls)


def test_clock_with_a_plain_trainer_counts_training_only(tiny_bert, tiny_data, tmp_path):
    from transformers import AutoModelForTokenClassification, AutoTokenizer, DataCollatorForTokenClassification
    from transformers import Trainer, TrainingArguments

    from toolkit.alignment import tokenize_dataset

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    model = AutoModelForTokenClassification.from_pretrained(tiny_bert)
    train_ds, _ = tokenize_dataset(tiny_data.splits["train"], tokenizer, list(tiny_data.labels), strategy="first", max_length=64, desc="t")
    clock = timing.EvalClock(lambda m: time.sleep(0.2) or 0.5, every=3)
    args = TrainingArguments(output_dir=str(tmp_path), max_steps=5, per_device_train_batch_size=2, report_to="none",
                             save_strategy="no", logging_strategy="no", disable_tqdm=True, use_cpu=True)
    trainer = Trainer(model=model, args=args, train_dataset=train_ds.remove_columns(["length"]),
                      data_collator=DataCollatorForTokenClassification(tokenizer), callbacks=[clock])
    started = time.perf_counter()
    trainer.train()
    total = time.perf_counter() - started
    assert [p.step for p in clock.log] == [3, 5]
    assert clock.steps == 5 and model.training  # back in training mode after each evaluation
    assert clock.train_s < total - 0.4
