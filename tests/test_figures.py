"""One source for every figure: the measured numbers in README.md and docs/*.md are checked against the
files that hold them, so a figure typed by hand cannot drift from the run that measured it (issue 27).

Sources: `bench/results/<bench>.json` (written by `bench/_results.py`'s `record`, keys inside its
`figures`) and the bundled model's run records `model/<file>.json` (keys inside the file).

Markup (HTML comments: invisible on GitHub and the Hub):

- `<!-- fig SOURCE KEY -->` right after a number binds that number to one value: `SOURCE` is a bench
  name (`space_compare`) or a path (`model/eval_results.json`), `KEY` a dotted path (`overall.f1`,
  `readings.test.after.first.ece`; list items by index). The number must equal the value, or 100× the
  value (a percentage), rounded to the decimals the doc shows. The strict check.
- `<!-- figures SOURCE [SOURCE ...] -->` marks a block (paragraph, list item, table or fenced block;
  on its own line just before it, or anywhere inside it): each figure in it must be held by one of
  the sources, under any key (same rounding rule).
- `<!-- historical YYYY-MM-DD [why] -->` marks figures of an earlier run on that date, kept for the
  record and not checked: right after a number, that number; elsewhere, the whole block.
- `<!-- not-figures [why] -->` marks decimals that are settings, goals, examples or arithmetic on
  figures nearby (a difference, a ratio), not measurements: right after a number, that number;
  elsewhere, the whole block.

A figure is a decimal number (`87.42`, `0.93`, `7.4e-6`) or a ratio (`2×`, `3x`) outside inline code
and link targets; fenced blocks are read only when marked. Any figure in an unmarked block fails.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pytest

from conftest import REPO_ROOT

PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
RESULTS = REPO_ROOT / "bench" / "results"
MARKER = re.compile(r"<!--\s*(fig|figures|historical|not-figures)\b(.*?)-->", re.S)
FIGURE = re.compile(r"(?<![\w.\-/])(\d+(?:\.\d+)(?:e-?\d+)?|\d+(?=\s?[×x](?![\w])))(?![\w.]*\d)")
NOT_A_FIGURE = re.compile(r"(?<!\w)(?:torch|transformers|gradio|datasets|Python|python|opset|huggingface_hub|onnxruntime|"
                          r"version|v|issue|sdk_version)\s*$", re.I)
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class Block:
    page: str
    line: int  # 1-based, first line of the block
    text: str
    fenced: bool = False
    markers: list[tuple[str, str]] = field(default_factory=list)  # (kind, argument text)


def blocks(text: str, page: str) -> list[Block]:
    """Paragraphs, list items, tables and fenced blocks; a marker alone on a line goes to the next block."""
    out: list[Block] = []
    pending: list[tuple[str, str]] = []
    current: Block | None = None
    fence: Block | None = None

    def close():
        nonlocal current
        if current is not None:
            out.append(current)
        current = None

    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if fence is not None:
            if stripped.startswith("```"):
                out.append(fence)
                fence = None
            else:
                fence.text += line + "\n"
            continue
        if stripped.startswith("```"):
            close()
            fence, pending = Block(page, number, "", fenced=True, markers=pending), []
            continue
        alone = MARKER.fullmatch(stripped)
        if alone:
            close()
            pending.append((alone.group(1), alone.group(2).strip()))
            continue
        starts_item = re.match(r"^\s{0,3}(?:[-*+]|\d+\.)\s", line) is not None
        if not stripped or stripped.startswith("#") or (starts_item and current is not None and not current.text.lstrip().startswith("|")):
            close()
            if not stripped or stripped.startswith("#"):
                continue
        if current is None:
            current, pending = Block(page, number, "", markers=pending), []
        current.text += line + "\n"
        current.markers += [(m.group(1), m.group(2).strip()) for m in MARKER.finditer(line)]
    close()
    return out


def _visible(text: str) -> str:
    """The text a figure can be read from: comments, inline code and link targets blanked (offsets kept)."""
    def blank(match: re.Match) -> str:
        return " " * len(match.group(0))

    text = re.sub(r"<!--.*?-->", blank, text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", blank, text)
    return re.sub(r"\]\([^)\s]*\)", blank, text)


def figures(text: str) -> list[tuple[int, str]]:
    """(offset, number) of each figure of a text (see the module docstring)."""
    visible = _visible(text)
    found = []
    for match in FIGURE.finditer(visible):
        if NOT_A_FIGURE.search(visible[max(0, match.start() - 20):match.start()]):
            continue
        found.append((match.start(), match.group(1)))
    return found


# ------------------------------------------------------------------------------------------------
# sources
# ------------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def source(name: str):
    """A source's values: a bench's `figures`, or a model record's whole JSON."""
    if "/" in name:
        path = REPO_ROOT / name
        if not path.is_file() or path.suffix != ".json":
            raise AssertionError(f"figure source {name}: no such JSON file")
        return json.loads(path.read_text(encoding="utf-8"))
    path = RESULTS / f"{name}.json"
    if not path.is_file():
        raise AssertionError(f"figure source {name}: no {path.relative_to(REPO_ROOT)} (run the bench; it calls record())")
    return json.loads(path.read_text(encoding="utf-8"))["figures"]


def lookup(data, key: str):
    for part in key.split("."):
        if isinstance(data, list) and part.lstrip("-").isdigit():
            data = data[int(part)]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            raise KeyError(key)
    return data


@lru_cache(maxsize=None)
def numbers(name: str) -> tuple[float, ...]:
    """Every number a source holds (numbers written inside its strings too)."""
    out: list[float] = []

    def walk(value):
        if isinstance(value, bool):
            return
        if isinstance(value, (int, float)):
            out.append(float(value))
        elif isinstance(value, str):
            out.extend(float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", value))
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item)
                walk(key) if re.fullmatch(r"-?\d+(?:\.\d+)?", str(key)) else None
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(source(name))
    return tuple(out)


def shown_as(value: float, written: str) -> bool:
    """Whether `value` (or 100× it) rounds to the number as the doc writes it (its decimals)."""
    target = float(written)
    mantissa = written.split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    exponent = int(written.split("e")[1]) if "e" in written else 0
    step = 10 ** (exponent - decimals)
    for candidate in (value, 100 * value, abs(value), 100 * abs(value)):
        if math.isfinite(candidate) and abs(candidate - target) <= step / 2 + 1e-9 * max(1.0, abs(target)):
            return True
    return False


def held(written: str, names: list[str]) -> bool:
    return any(shown_as(v, written) for name in names for v in numbers(name))


# ------------------------------------------------------------------------------------------------
# the check
# ------------------------------------------------------------------------------------------------


def _attached(block: Block) -> dict[int, tuple[str, str, str, int]]:
    """Inline markers right after a number: {figure offset: (kind, argument, number as written, marker offset)}."""
    spots = {}
    for match in MARKER.finditer(block.text):
        if match.group(1) == "figures":
            continue  # always marks its block
        before = figures(block.text[:match.start()])
        if before and not _visible(block.text[before[-1][0]:match.start()]).replace(before[-1][1], "", 1).strip(" *×x%)s"):
            spots[before[-1][0]] = (match.group(1), match.group(2).strip(), before[-1][1], match.start())
    return spots


def _check_tag(where: str, argument: str, written: str) -> str | None:
    name, _, key = argument.partition(" ")
    try:
        value = lookup(source(name), key.strip())
    except KeyError:
        return f"{where}: {name} has no key {key.strip()!r}"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not shown_as(float(value), written):
        return f"{where}: {written} is tagged `fig {argument}`, which holds {value!r}"
    return None


def _dated(where: str, argument: str) -> str | None:
    if DATE.match((argument.split() or [""])[0]):
        return None
    return f"{where}: a historical marker needs its date: <!-- historical YYYY-MM-DD -->"


def problems(block: Block) -> list[str]:
    """What is wrong with the figures of one block (empty when they are all sourced)."""
    where = f"{block.page}:{block.line}"
    out: list[str] = []
    attached = _attached(block)
    for kind, argument, written, _ in attached.values():
        if kind == "fig":
            out.append(_check_tag(where, argument, written))
        elif kind == "historical":
            out.append(_dated(where, argument))
    taken = {spot[3] for spot in attached.values()}
    inline = [(m.group(1), m.group(2).strip()) for m in MARKER.finditer(block.text) if m.start() not in taken]
    markers = block.markers + [(k, a) for k, a in inline if k != "fig"]
    out += [_dated(where, a) for k, a in markers if k == "historical"]
    kinds = {kind for kind, _ in markers}
    if kinds & {"historical", "not-figures"} or (block.fenced and not kinds):
        return [p for p in out if p]
    sources = [name for kind, argument in markers if kind == "figures" for name in argument.split()]
    for offset, written in figures(block.text):
        if offset in attached:
            continue
        if not sources:
            out.append(f"{where}: {written} has no source (tag it <!-- fig SOURCE KEY -->, mark the block "
                       "<!-- figures SOURCE -->, or <!-- historical DATE --> for an earlier run)")
        elif not held(written, sources):
            out.append(f"{where}: {written} is in none of {', '.join(sources)}")
    return [p for p in out if p]


def page_blocks() -> list[Block]:
    return [b for page in PAGES for b in blocks(page.read_text(encoding="utf-8"), page.relative_to(REPO_ROOT).as_posix())]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_every_figure_in_the_docs_has_a_source(page):
    found = [p for b in blocks(page.read_text(encoding="utf-8"), page.relative_to(REPO_ROOT).as_posix()) for p in problems(b)]
    assert not found, f"{len(found)} unsourced or wrong figure(s):\n" + "\n".join(found)


def _problems_of(text: str) -> list[str]:
    return [p for b in blocks(text, "planted.md") for p in problems(b)]


def test_a_planted_wrong_number_fails():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    tagged = "**87.42**<!-- fig model/eval_results.json overall.f1 -->"
    assert tagged in readme and not _problems_of(readme)
    wrong = _problems_of(readme.replace(tagged, tagged.replace("87.42", "87.24")))
    assert any("87.24 is tagged `fig model/eval_results.json overall.f1`" in p for p in wrong), wrong
    in_block = readme.replace("calibration error on the test split 0.124 →", "calibration error on the test split 0.142 →")
    assert any("0.142 is in none of model/calibration.json, model/eval_results.json" in p for p in _problems_of(in_block))


def test_an_unmarked_figure_fails_and_a_marked_one_passes():
    assert _problems_of("The Space answers in 0.93 s.\n")[0].startswith("planted.md:1: 0.93 has no source")
    assert not _problems_of("<!-- historical 2026-11-20 an earlier run -->\nThe Space answered in 0.93 s.\n")
    assert not _problems_of("Goals: within 0.5<!-- not-figures: a goal --> F1.\n")
    assert "needs its date" in _problems_of("<!-- historical -->\nIt took 0.93 s.\n")[0]
    assert _problems_of("F1 87.42<!-- fig model/eval_results.json no.such.key -->\n") == [
        "planted.md:1: model/eval_results.json has no key 'no.such.key'"]
    assert not _problems_of("F1 **87.42**<!-- fig model/eval_results.json overall.f1 --> and 1.75<!-- fig model/calibration.json temperature -->\n")


def test_figures_are_decimals_and_ratios_outside_code_and_versions():
    text = "torch 2.13, 0.5 and `0.7` in code, [a](x1.2.md), 3× faster, 7.4e-6 and v1.2"
    assert [f for _, f in figures(text)] == ["0.5", "3", "7.4e-6"]


@pytest.mark.parametrize("value,written,ok", [(0.874243, "87.42", True), (0.874243, "0.874", True),
                                              (0.874243, "87.43", False), (1.7469, "1.75", True),
                                              (4.77e-06, "4.77e-6", True), (4.77e-06, "4.7e-6", False)])
def test_a_value_is_shown_as_the_doc_rounds_it(value, written, ok):
    assert shown_as(value, written) is ok
