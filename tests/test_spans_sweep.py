"""nercore.spans.disagreements is a sort + sweep: the same regions as the grow-until-stable loop it
replaced, on many random cases, and work that grows about linearly with the number of spans
(counted in executed lines, not timed)."""

from __future__ import annotations

import random
import sys
from typing import Iterable, Mapping, Sequence

import pytest

from nercore import spans as spans_module
from nercore.spans import as_spans, disagreements


# -- the implementation before the sweep (regions x spans, repeated until nothing grows) ---------------

def _old_regions(disputed: list, every: list) -> list[list[int]]:
    regions: list[list[int]] = []
    for _type, start, end in disputed:
        if regions and start < regions[-1][1]:
            regions[-1][1] = max(regions[-1][1], end)
        else:
            regions.append([start, end])
    changed = True
    while changed:
        changed = False
        for region in regions:
            for _type, start, end in every:
                if start < region[1] and end > region[0] and (start < region[0] or end > region[1]):
                    region[0], region[1] = min(region[0], start), max(region[1], end)
                    changed = True
        regions.sort()
        merged: list[list[int]] = []
        for region in regions:
            if merged and region[0] < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], region[1])
                changed = True
            else:
                merged.append(region)
        regions = merged
    return regions


def _old_said_there(spans: Sequence[Mapping], start: int, end: int, text: str | None) -> list[dict]:
    return [
        {"entity_group": s["entity_group"], "start": int(s["start"]), "end": int(s["end"]),
         "word": text[int(s["start"]) : int(s["end"])] if text is not None else s.get("word"),
         "score": float(s["score"])}
        for s in spans
        if int(s["start"]) < end and int(s["end"]) > start
    ]


def old_disagreements(results_by_strategy: Mapping, text: str | None = None, reference: Iterable[str] = ()) -> list:
    key = lambda s: (str(s["entity_group"]), int(s["start"]), int(s["end"]))  # noqa: E731
    shown = list(results_by_strategy)
    reference = [name for name in reference if name in results_by_strategy]
    names = [name for name in shown if name not in reference]
    if len(names) < 2:
        return []
    spans = {name: as_spans(results_by_strategy[name], text) for name in names}
    keys = {name: {key(s) for s in spans[name]} for name in names}
    agreed = set.intersection(*keys.values())
    disputed = sorted({k for ks in keys.values() for k in ks} - agreed, key=lambda k: (k[1], k[2], k[0]))
    if not disputed:
        return []
    every = sorted((k for ks in keys.values() for k in ks), key=lambda k: (k[1], k[2]))
    out = []
    for start, end in _old_regions(disputed, every):
        region: dict = {"start": start, "end": end}
        if text is not None:
            region["text"] = text[start:end]
        region["strategies"] = {name: _old_said_there(as_spans(results_by_strategy[name], text) if name in reference
                                                      else spans[name], start, end, text) for name in shown}
        out.append(region)
    return out


# -- random cases ----------------------------------------------------------------------------------

TYPES = ("PER", "ORG", "LOC", "MISC")


def grouped(rng: random.Random, length: int, count: int, *, nested: bool, empty: bool) -> list[dict]:
    """Random grouped entities; `nested`: they may overlap each other (no real strategy does, the rule allows it)."""
    out, at = [], 0
    for _ in range(count):
        if nested:
            start = rng.randrange(length)
        else:
            start = at + rng.randrange(4)
        end = start + (0 if empty and rng.random() < 0.1 else rng.randrange(1, 8))
        if end > length:
            break
        at = end
        out.append({"entity_group": rng.choice(TYPES[:2] if rng.random() < 0.7 else TYPES), "score": rng.random(),
                    "word": f"w{start}", "start": start, "end": end})
    if nested:
        rng.shuffle(out)
    return out


def tokens(rng: random.Random, length: int) -> list[dict]:
    """Random token-level ("none") output: one token per 3 characters, some labelled."""
    out = []
    for index, start in enumerate(range(0, length - 2, 3)):
        if rng.random() < 0.4:
            out.append({"entity": rng.choice(["B-", "I-"]) + rng.choice(TYPES[:2]), "score": rng.random(),
                        "index": index, "word": "tok", "start": start, "end": start + 2})
    return out


def random_case(rng: random.Random, *, nested: bool = False, empty: bool = False) -> tuple[dict, str, list]:
    length = rng.randrange(5, 120)
    text = "".join(rng.choice("ab cd.") for _ in range(length))
    base = grouped(rng, length, rng.randrange(0, 12), nested=nested, empty=empty)
    results = {}
    for name in ("simple", "first", "average", "max"):  # mostly the same spans, some changed
        mine = [dict(e) for e in base if rng.random() < 0.85]
        mine += grouped(rng, length, rng.randrange(0, 3), nested=True, empty=empty)
        results[name] = mine
    if rng.random() < 0.5:
        results["none"] = tokens(rng, length)
    results["word"] = grouped(rng, length, rng.randrange(0, 10), nested=nested, empty=empty)
    reference = ["word"] if rng.random() < 0.7 else []
    return results, text if rng.random() < 0.8 else None, reference


@pytest.mark.parametrize("nested, empty", [(False, False), (True, False), (True, True)])
def test_the_sweep_gives_the_old_regions_on_random_cases(nested, empty):
    rng = random.Random(20261207 + 2 * nested + empty)
    found = 0
    for _ in range(1500):
        results, text, reference = random_case(rng, nested=nested, empty=empty)
        expected = old_disagreements(results, text, reference)
        assert disagreements(results, text, reference=reference) == expected, (results, text, reference)
        found += len(expected)
    assert found > 1500  # the cases really disagree, often in several regions


def test_an_empty_disputed_span_inside_another_joins_its_region():
    results = {"a": [{"entity_group": "PER", "score": 0.5, "word": "", "start": 3, "end": 3}],
               "b": [{"entity_group": "ORG", "score": 0.5, "word": "abcdef", "start": 1, "end": 7}]}
    assert disagreements(results, "0123456789") == old_disagreements(results, "0123456789")
    assert [(r["start"], r["end"]) for r in disagreements(results, "0123456789")] == [(1, 7)]


# -- work grows about linearly (executed lines, not time) -------------------------------------------

def executed_lines(call) -> int:
    """Lines executed by `call()` in nercore.spans and this test's old implementation."""
    count = 0
    watched = {spans_module.__file__, __file__}

    def tracer(frame, event, _arg):
        nonlocal count
        if frame.f_code.co_filename not in watched:
            return None
        if event == "line":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        call()
    finally:
        sys.settrace(None)
    return count


def many_regions(n: int) -> dict:
    """`n` entities in a row, every third one disputed: about n / 3 regions."""
    a = [{"entity_group": "PER", "score": 0.9, "word": "x", "start": 10 * i, "end": 10 * i + 5} for i in range(n)]
    b = [dict(e, entity_group="ORG") if i % 3 == 0 else dict(e) for i, e in enumerate(a)]
    return {"simple": a, "first": b, "word": [dict(e) for e in a]}


@pytest.mark.parametrize("implementation", [disagreements, pytest.param(old_disagreements, marks=pytest.mark.xfail(
    strict=True, reason="the old loop: regions x spans"))])
def test_work_grows_about_linearly_with_the_spans(implementation):
    small = executed_lines(lambda: implementation(many_regions(150), None, ["word"]))
    large = executed_lines(lambda: implementation(many_regions(600), None, ["word"]))
    assert large / small < 6, (small, large)  # 4x the spans: ~4x the lines near-linear, ~16x quadratic
