"""One-line requests never queue behind long texts' Python work (issue 22, fairness on /compare).

Eight 20,000-character texts on /compare used to put a one-line request at p95 0.67-0.76 s: each
long text is cut into windows under the tokenizer's lock, and grouped into every strategy's
entities in its request thread, holding the GIL in turn with the one-line request.
"""

from __future__ import annotations

import threading

import pytest

from nercore.device import DeviceChoice
from nercore.engine import prepare
from nercore.windows import LONG_TEXT_CHARS, _long_text_pipe, _tokenizer_lock, encode
from space.model import load_pipeline
from space.scheduler import WindowScheduler

LONG = ("John Smith toured the United Nations offices in New York City . " * 60)[: LONG_TEXT_CHARS + 500]


@pytest.fixture(scope="module")
def pipe(tiny_bert):
    return load_pipeline(str(tiny_bert), DeviceChoice("cpu", "float32", "cpu"))


def test_a_short_text_is_cut_while_a_long_one_holds_its_tokenizer(pipe):
    """A long text is cut by a tokenizer copy of its own, so a short text does not wait for it."""
    long_lock = _tokenizer_lock(_long_text_pipe(pipe))
    assert long_lock is not _tokenizer_lock(pipe)
    short_done, long_done = threading.Event(), threading.Event()
    with long_lock:  # a long text being cut
        threading.Thread(target=lambda: (encode(pipe, "John Smith", 16), short_done.set()), daemon=True).start()
        threading.Thread(target=lambda: (encode(pipe, LONG, 16), long_done.set()), daemon=True).start()
        assert short_done.wait(30), "the short text waited for the long text's tokenizer"
        assert not long_done.wait(0.3)  # long texts take turns on their own tokenizer
    assert long_done.wait(30)
    cut = encode(pipe, LONG, 16)
    pre, _, _ = pipe._sanitize_parameters(aggregation_strategy="simple", stride=16)
    same = list(pipe.preprocess(LONG, **pre))  # the copy cuts exactly as the pipeline's own tokenizer
    assert [c["input_ids"].tolist() for c in cut.chunks] == [c["input_ids"].tolist() for c in same]


def test_long_texts_group_one_at_a_time_and_short_ones_never_wait(pipe):
    scheduler = WindowScheduler(max_tokens=512)
    long_a, long_b = prepare(pipe, LONG, stride=16), prepare(pipe, LONG, stride=16)
    short = prepare(pipe, "John Smith", stride=16)
    assert long_a.num_windows > 1 and short.num_windows == 1
    entered = threading.Event()

    def group_b():
        with scheduler.grouping(long_b):
            entered.set()

    with scheduler.grouping(long_a):
        threading.Thread(target=group_b, daemon=True).start()
        assert not entered.wait(0.3), "two long texts grouped at once"
        with scheduler.grouping(short):  # a one-window text never waits
            pass
    assert entered.wait(10)


def test_a_rows_alone_model_runs_one_window_a_pass(pipe, monkeypatch):
    """int8 runs every row of a pass alone, so sharing a pass saves nothing: a one-line request then
    waited for a pass of other texts' windows and again for its own (fairness p95 1.2 s on /compare)."""
    from space.scheduler import _Task

    scheduler = WindowScheduler(max_tokens=100_000, max_windows=16)
    long_text, short = prepare(pipe, LONG, stride=16), prepare(pipe, "John Smith", stride=16)

    def first_pass() -> list:
        with scheduler._cond:  # the worker waits on this lock: it runs nothing of ours
            scheduler._tasks = [_Task(pipe, long_text, 0), _Task(pipe, short, 1)]
            picked = scheduler._pick_locked()
            scheduler._tasks = []
        return [(task.pending, index) for task, index in picked]

    shared = first_pass()
    assert shared[0] == (short, 0) and len(shared) > 1  # a batching model: the short text's window and others
    monkeypatch.setattr(pipe.model, "rows_alone", True, raising=False)
    assert first_pass() == [(short, 0)]  # rows alone: the short text's window, alone
