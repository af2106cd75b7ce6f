"""The Space's HTML, as pure functions: strategy rows, legend, entity tables, disagreement view, status.

Every piece of text that can come from a user (the text, a model id, an error message that
quotes them) goes through `html.escape`, and nothing here is Markdown, so `[a](http://x)`,
`![i](http://x/a.png)` and `<script>` are shown as typed. Rows put no extra width around an
entity (colour and an inset bar only), so the same word sits at the same x in every row.
"""

from __future__ import annotations

import colorsys
import html
import unicodedata
from typing import Collection, Iterable, Mapping, Sequence

from nercore.tags import entity_types, pipeline_type

# Distinct light colours for the first types (sorted by name); more are generated.
_BASE_COLORS = ("#f6b3b3", "#a9cdf7", "#aeeabc", "#f7e19c", "#d6b8f2", "#9fe3e0", "#f7c59f", "#c9d89a",
                "#f2b5dc", "#c3c7cf", "#b4e8f7", "#e8c4a0")
DISAGREE_COLOR = "#ff9f43"
_NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}

CSS = """
.ner-legend {display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: center; font-size: 0.9em; margin: 4px 0;}
.ner-legend .chip {display: inline-block; width: 1.1em; height: 1.1em; border-radius: 3px; vertical-align: -0.2em;
  margin-right: 4px; box-shadow: inset 0 0 0 1px rgba(0,0,0,.25);}
.ner-row-head {margin: 0 0 2px 0; font-size: 0.95em;}
.ner-row-head code {font-weight: 600;}
.ner-row-head .help {color: var(--body-text-color-subdued, #666);}
.ner-row-head .f1 {margin-left: 8px; white-space: nowrap;}
.ner-row-head .best {background: #2e7d32; color: #fff; border-radius: 8px; padding: 0 6px; font-size: 0.8em;
  margin-left: 6px; white-space: nowrap;}
.ner-text {white-space: pre-wrap; overflow-wrap: break-word; line-height: 1.9; font-size: 1rem; margin: 0;
  unicode-bidi: plaintext;}
.ner-text mark.ent {background: var(--c); color: inherit; padding: 0; margin: 0; border-radius: 0;
  box-shadow: inset 2px 0 0 rgba(0,0,0,.55); unicode-bidi: isolate;}
.ner-text mark.ent.low {background: transparent; box-shadow: inset 0 -2px 0 var(--c); opacity: .55;}
.ner-table, .ner-dis {border-collapse: collapse; width: 100%; font-size: 0.9em;}
.ner-table th, .ner-table td, .ner-dis th, .ner-dis td {border-bottom: 1px solid rgba(128,128,128,.3);
  padding: 3px 6px; text-align: start; vertical-align: top;}
.ner-table th, .ner-table td.num, .ner-table td.lab, .ner-dis th {white-space: nowrap;}
.ner-table td.num {text-align: end; font-variant-numeric: tabular-nums;}
.ner-dis {table-layout: fixed;}
.ner-dis td, .ner-dis th {word-break: normal; overflow-wrap: break-word; hyphens: none;}
.ner-dis col.where {width: 24%;}
.ner-rows {gap: 8px !important;}
.ner-dis .said {display: block;}
.ner-dis .said.low {opacity: .4;}
#disagreements {max-height: 40vh; overflow-y: auto !important;}
.ner-dis .chip-type {padding: 0 3px; border-radius: 3px; font-size: 0.85em;}
.ner-dis .where mark {background: var(--dis); color: inherit; padding: 0; unicode-bidi: isolate;}
.ner-dis .ctx {color: var(--body-text-color-subdued, #666);}
.ner-badge {display: inline-block; min-width: 1.4em; text-align: center; border-radius: 9px; padding: 0 5px;
  background: #ff9f43; color: #222; font-weight: 600; font-size: 0.85em;}
.ner-agree {padding: 6px 0; font-weight: 600;}
.ner-status {font-size: 0.9em; line-height: 1.5; white-space: pre-wrap; overflow-wrap: break-word;}
.ner-status details summary {cursor: pointer; color: var(--body-text-color-subdued, #666);}
.ner-summary {font-size: 1.05em; font-weight: 600; margin: 4px 0;}
.ner-summary .best {background: #2e7d32; color: #fff; border-radius: 8px; padding: 0 6px; font-size: 0.85em;}
.ner-dis th.best-col, .ner-dis td.best-col {background: rgba(46,125,50,.08);}
.ner-dis th .best {background: #2e7d32; color: #fff; border-radius: 8px; padding: 0 5px; font-size: 0.75em;
  margin-left: 4px; font-weight: 600;}
.ner-status.error {color: #b00020; font-weight: 600;}
.ner-row {gap: 2px !important;}
@media (max-width: 700px) {
  .ner-row-head .help {display: none;}
  .ner-dis .said {display: inline; margin-right: 6px;}
  .ner-dis, .ner-dis tbody, .ner-dis tr, .ner-dis td {display: block; width: auto;}
  .ner-dis colgroup, .ner-dis thead {display: none;}
  .ner-dis td, .ner-dis tr, .ner-dis {border: none !important; padding: 1px 0 !important; margin: 0 !important;
    line-height: 1.45;}
  #intro h1 {font-size: 1.5em !important; margin-bottom: 4px !important;}
  #intro-more {display: none !important;}
  /* Phone: the rows and the disagreement table carry every entity; the per-row tables stay on desktop.
     (Only the accordions: Gradio puts a status tracker first in a row, so "every block but the first"
     would hide the rows' text.) */
  .ner-row [id^="acc-"] {display: none !important;}
  .ner-status .wb-desc {display: none;}
  .ner-text {line-height: 1.6;}
  .ner-dis tr.region {border-bottom: 1px solid rgba(128,128,128,.4) !important; padding: 4px 0;}
  .ner-dis td[data-label]::before {content: attr(data-label) ": "; font-weight: 600;}
  .ner-dis td.best-col[data-label]::before {content: attr(data-label) " (best F1): ";}
  /* A long text must not make the page many screens tall: each row and the region list scroll inside. */
  .ner-text {max-height: 4.9em; overflow-y: auto;}
  #disagreements {max-height: 38vh;}
  /* Phone: the strategy ticks in two short lines instead of three, so the results start sooner. */
  #strategies label {padding: 2px 8px !important; margin: 0 !important;}
}
"""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def label_of(entity: Mapping) -> str:
    return str(entity.get("entity_group") or entity.get("entity"))


def legend_types(labels: Iterable[str]) -> list[str]:
    """The entity types a model's labels name: BIO types ("B-PER" -> "PER"), else every label but "O"."""
    labels = [str(label) for label in labels]
    types = entity_types(labels)
    return types or sorted({label for label in labels if label != "O"})


def palette(types: Sequence[str]) -> dict[str, str]:
    """One colour per type, in the given order; beyond the base colours, evenly spread hues."""
    colors = {}
    for i, kind in enumerate(types):
        if i < len(_BASE_COLORS):
            colors[kind] = _BASE_COLORS[i]
        else:
            r, g, b = colorsys.hls_to_rgb(((i - len(_BASE_COLORS)) * 0.618034) % 1.0, 0.82, 0.65)
            colors[kind] = "#%02x%02x%02x" % (round(r * 255), round(g * 255), round(b * 255))
    return colors


def color_of(label: str, colors: Mapping[str, str]) -> str:
    return colors.get(label) or colors.get(pipeline_type(label)) or colors.get(label.split("-", 1)[-1]) or "#dddddd"


def legend_html(colors: Mapping[str, str]) -> str:
    if not colors:
        return '<div class="ner-legend" id="legend-body">Colours appear once a model has run.</div>'
    chips = "".join(
        f'<span class="item" data-type="{esc(kind)}"><span class="chip" style="background:{color}"></span>'
        f"{esc(kind)}</span>" for kind, color in colors.items()
    )
    return (f'<div class="ner-legend" id="legend-body"><span>Entity types:</span>{chips}'
            f'<span class="item"><span class="chip" style="background:{DISAGREE_COLOR}"></span>'
            "strategies disagree</span></div>")


def _pieces(text: str, entities: Sequence[Mapping]) -> list[tuple[str, Mapping | None]]:
    """(segment, entity or None) covering `text` once; overlapping entities (byte pieces of one emoji)
    are shown once."""
    pieces, cursor = [], 0
    for entity in sorted(entities, key=lambda e: (int(e["start"]), -int(e["end"]))):
        start, end = int(entity["start"]), int(entity["end"])
        if start < cursor or end <= start:
            continue
        if start > cursor:
            pieces.append((text[cursor:start], None))
        pieces.append((text[start:end], entity))
        cursor = end
    if cursor < len(text):
        pieces.append((text[cursor:], None))
    return pieces


def text_html(text: str, entities: Sequence[Mapping], colors: Mapping[str, str], low: Collection[int] = ()) -> str:
    """The text with each entity coloured by type; label and score in the tooltip and data attributes.
    The entities at the indices in `low` (under the threshold, `nercore.thresholds`) are dimmed
    (class `low`), never dropped."""
    out = []
    index = {id(e): i for i, e in enumerate(entities)}
    for segment, entity in _pieces(text, entities):
        if entity is None:
            out.append(esc(segment))
            continue
        label = label_of(entity)
        low_one = index[id(entity)] in low
        out.append(
            f'<mark class="ent{" low" if low_one else ""}" data-label="{esc(label)}" style="--c:{color_of(label, colors)}" '
            f'title="{esc(label)} · {float(entity["score"]):.3f}{" (below the threshold)" if low_one else ""}">'
            f"{esc(segment)}</mark>"
        )
    return f'<div class="ner-text" dir="auto">{"".join(out)}</div>'


def is_pipeline(strategy: object) -> bool:
    """False for rows that are not a transformers pipeline strategy (nerkit's own `word` view)."""
    return bool(getattr(strategy, "pipeline", True))


def roles_text(table: Iterable[object]) -> str:
    """The intro's sentences on rows that are not plain compared pipeline rows, read from each row's roles
    (`nercore.strategies`): a `reference_view` row is shown for reference and does not vote where the
    strategies disagree; a non-pipeline row that votes is compared like the pipeline rows."""
    out = []
    for strategy in table:
        name, own = getattr(strategy, "name"), "" if is_pipeline(strategy) else "nerkit's own view, not a pipeline strategy, "
        if getattr(strategy, "reference_view", False):
            out.append(f" The `{name}` row is {own}shown for reference: it does not count where the strategies disagree.")
        elif own:
            out.append(f" The `{name}` row is {own}compared like the others: it counts where the strategies disagree.")
    return "".join(out)


def row_title(strategy: object) -> str:
    name = getattr(strategy, "name")
    if is_pipeline(strategy):
        return name
    return f"{name} — nerkit's view, not a pipeline strategy"


def f1_text(f1: float) -> str:
    """One F1 format on the whole page, the model card's: "F1 86.01" (percent, two decimals)."""
    return f"F1 {100 * float(f1):.2f}"


def _row_help(strategy: object) -> str:
    """The row's one-line help, without repeating what a non-pipeline row's title already says."""
    text = str(getattr(strategy, "help", ""))
    if not is_pipeline(strategy) and "not a pipeline strategy" in text:
        text = text.split(":", 1)[-1].strip() if ":" in text else text.replace("not a pipeline strategy", "").strip()
    return text


def row_head_html(strategy: object, f1: float | None = None, best: bool = False, measured_on: str = "") -> str:
    name, title = getattr(strategy, "name"), row_title(strategy)
    title_html = f"<code>{esc(name)}</code>{esc(title[len(name):])}"
    score = ""
    if f1 is not None:
        where = f' title="end-to-end F1 of this model ({esc(measured_on)})"' if measured_on else ""
        score = f'<span class="f1"{where}>{f1_text(f1)}</span>'
        if best:
            score += '<span class="best">best F1</span>'
    return (f'<div class="ner-row-head" data-strategy="{esc(name)}">{title_html}{score}'
            f' <span class="help">— {esc(_row_help(strategy))}</span></div>')


def entity_table_html(text: str, entities: Sequence[Mapping]) -> str:
    if not entities:
        return '<p class="ner-empty">No entities.</p>'
    rows = "".join(
        f'<tr><td dir="auto">{esc(text[int(e["start"]):int(e["end"])])}</td><td class="lab">{esc(label_of(e))}</td>'
        f'<td class="num">{float(e["score"]):.4f}</td><td class="num">{int(e["start"])}</td>'
        f'<td class="num">{int(e["end"])}</td></tr>'
        for e in entities
    )
    return ('<table class="ner-table"><thead><tr><th>word</th><th>label</th><th>score</th><th>start</th>'
            f"<th>end</th></tr></thead><tbody>{rows}</tbody></table>")


def _said(spans: Sequence[Mapping], text: str, colors: Mapping[str, str], low: Collection[tuple] = ()) -> str:
    """What one strategy said in a region; spans whose (type, start, end) is in `low` are dimmed."""
    if not spans:
        return "—"
    return "".join(
        f'<span class="said{" low" if (str(s["entity_group"]), int(s["start"]), int(s["end"])) in low else ""}">'
        f'<span class="chip-type" style="background:{color_of(str(s["entity_group"]), colors)}">'
        f'{esc(s["entity_group"])}</span> <bdi>{esc(text[int(s["start"]):int(s["end"])] if text else s.get("word", ""))}'
        f'</bdi> ({float(s["score"]):.2f})</span>'
        for s in spans
    )


def _where(text: str, start: int, end: int, context: int = 24) -> str:
    before, after = text[max(0, start - context):start], text[end:end + context]
    left = ("…" if start > context else "") + before
    right = after + ("…" if end + context < len(text) else "")
    return (f'<bdi class="ctx">{esc(left)}</bdi><mark style="--dis:{DISAGREE_COLOR}">'
            f'<bdi>{esc(text[start:end])}</bdi></mark><bdi class="ctx">{esc(right)}</bdi>')


def text_direction(text: str) -> str:
    """"rtl" or "ltr": the direction of the text's first strong character (what dir="auto" picks)."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


def agreement_message(names: Sequence[str], pipeline_names: Iterable[str]) -> str:
    pipeline_names = set(pipeline_names)
    strategies = [n for n in names if n in pipeline_names]
    others = [n for n in names if n not in pipeline_names]
    count = _NUMBER_WORDS.get(len(strategies), str(len(strategies)))
    subject = f"the {count} strategies" if len(strategies) != 1 else "the one strategy"
    if others:
        subject += " and nerkit's " + ", ".join(f"{n} view" for n in others)
    return f"{subject[0].upper()}{subject[1:]} agree on this text."


NOTHING_FOUND = "No entities found by any strategy in this text, so there is nothing to disagree on."


def disagreement_html(regions: Sequence[Mapping], names: Sequence[str], text: str,
                      colors: Mapping[str, str], pipeline_names: Iterable[str], best: str | None = None,
                      low: Mapping[str, Collection[tuple]] | None = None, found: bool = True) -> str:
    """One table row per region (numbered badge, the region in context, what each strategy said there);
    a sentence instead when all agree (another when nothing was found). Fixed layout: it fits its
    container, whatever the text. `best`: the strategy with the model's best measured F1, whose column
    is marked. `low`: per strategy, the (type, start, end) of spans under the threshold, dimmed."""
    if not text.strip():
        return ""
    if not found:
        return f'<div class="ner-agree" id="agree">{esc(NOTHING_FOUND)}</div>'
    if not regions:
        return f'<div class="ner-agree" id="agree">{esc(agreement_message(names, pipeline_names))}</div>'
    cols = '<col class="where">' + "<col>" * len(names)
    mark = {n: ' class="best-col"' if n == best else "" for n in names}
    badge = '<span class="best">best F1</span>'
    head = "<th>where</th>" + "".join(f"<th{mark[n]}>{esc(n)}{badge if n == best else ''}</th>" for n in names)
    rows, direction = [], text_direction(text)
    for i, region in enumerate(regions, 1):
        start, end = int(region["start"]), int(region["end"])
        cells = "".join(
            f'<td{mark[n]} data-label="{esc(n)}" dir="auto">'
            f'{_said(region["strategies"].get(n, []), text, colors, (low or {}).get(n, ()))}</td>'
            for n in names
        )
        rows.append(f'<tr class="region"><td class="where" dir="{direction}"><span class="ner-badge">{i}</span> '
                    f'{_where(text, start, end)}</td>{cells}</tr>')
    return (f'<table class="ner-dis"><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def status_html(result: Mapping) -> str:
    """The run's status: a visitor's advice in plain sight, the technical details collapsed."""
    if result.get("message"):
        return f'<div class="ner-status">ℹ️ {esc(result["message"])}</div>'
    wb = result["word_boundaries"]
    method = "WordPiece-style prefix (real words)" if wb["method"] == "prefix" else "space heuristic"
    n_dis = len(result["disagreements"])
    context = result.get("document_context")
    reads = (f"Trained with document context ({int(context['tokens_per_side'])} sub-tokens of the neighbouring "
             "sentences per side): paste whole paragraphs, not single sentences.\n" if context else "")
    return (
        f'<div class="ner-status">{esc(reads)}<details><summary>Run details: model {esc(result["model"])} · '
        f"{float(result['total_ms']):.0f} ms</summary>"
        f"Device {esc(result['device'])}\n"
        f"Word boundaries: {esc(method)}<span class=\"wb-desc\"> — {esc(wb['description'])}</span>\n"
        f"One forward pass: {float(result['forward_ms']):.1f} ms for {int(result['num_tokens'])} tokens in "
        f"{int(result['windows'])} window(s) of ≤ {int(result['max_tokens_per_window'])} tokens · all strategies "
        f"{float(result['total_ms']):.1f} ms · {n_dis} disagreement region(s)</details></div>"
    )


def summary_html(views: int, regions: int, best: tuple[str, float, str] | None, found: bool = True) -> str:
    """The one line above the rows: how many views, where they disagree, which one measured best.

    `best`: (strategy, F1, split) from the model's own evaluation, or None when it has none.
    `found`: whether any view found an entity ("they all agree" would mislead when none did)."""
    where = ("no entities found" if not found else "they all agree" if regions == 0 else
             f"{regions} place{'s' if regions != 1 else ''} where they disagree")
    line = f"{views} view{'s' if views != 1 else ''}, {where}"
    if best:
        name, f1, split = best
        line = (f'{esc(line)} · best on this model\'s {esc(split)} set: <span class="best">{esc(name)}</span> '
                f"({f1_text(f1)})")
    else:
        line = esc(line)
    return f'<div class="ner-summary" id="summary-line">{line}</div>'


def notice_html(message: str) -> str:
    return f'<div class="ner-status">{esc(message)}</div>'


def error_html(message: str) -> str:
    """A refusal or failure, as one plain-text line (never Markdown: links and images stay text)."""
    return f'<div class="ner-status error" role="alert">⚠️ Cannot run: {esc(message)}</div>'


__all__ = [
    "CSS", "DISAGREE_COLOR", "NOTHING_FOUND", "agreement_message", "color_of", "disagreement_html",
    "entity_table_html", "error_html", "f1_text", "is_pipeline", "legend_html", "legend_types", "notice_html", "palette", "roles_text",
    "row_head_html", "row_title", "status_html", "summary_html", "text_html",
]
