"""The card's images: per-type F1 bars (per_entity_f1.png), the confusion heatmap (confusion_matrix.png)
and the reliability chart (reliability.png).

Uses matplotlib's object API with the Agg canvas, so it never touches pyplot's global state or
needs a display. The charts are optional: without matplotlib, or if plotting fails, the card is
written without them and a warning says why.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from toolkit.card.context import CardContext


def _png(ctx: CardContext, what: str, size: tuple[float, float], draw: Callable[[Any], None]) -> bytes | None:
    """`draw(figure)` on a fresh Agg figure of `size` inches, as PNG bytes; None (with a warning) when it cannot."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except Exception as err:  # noqa: BLE001 - any import failure only costs the chart
        ctx.warn(f"matplotlib is not available ({err}); the card has no {what}. `pip install matplotlib` to add it.")
        return None
    try:
        figure = Figure(figsize=size, dpi=100)
        FigureCanvasAgg(figure)
        draw(figure)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", metadata={"Software": None})
        return buffer.getvalue()
    except Exception as err:  # noqa: BLE001 - a plotting failure only costs the chart
        ctx.warn(f"plotting the {what} failed ({type(err).__name__}: {err}); the card has no {what}.")
        return None


def f1_chart(ctx: CardContext) -> bytes | None:
    """A horizontal bar chart of F1 per type (with CI whiskers when known) as PNG bytes, or None."""
    kinds = ctx.types

    def draw(figure) -> None:
        values = [100 * ctx.per_type[k].f1 for k in kinds]
        axes = figure.add_subplot()
        positions = list(range(len(kinds)))
        intervals = [ctx.interval(k) for k in kinds]
        xerr = None
        if all(intervals):
            xerr = [[v - 100 * i[0] for v, i in zip(values, intervals)], [100 * i[1] - v for v, i in zip(values, intervals)]]
        axes.barh(positions, values, xerr=xerr, color="#4c72b0", capsize=3)
        axes.set_yticks(positions, labels=kinds)
        axes.invert_yaxis()
        axes.set_xlim(0, 100)
        axes.set_xlabel("F1 (%)")
        what = "entity type" if ctx.entities else "tag"
        whiskers = f", {ctx.level} CI" if xerr else ""
        axes.set_title(f"F1 per {what}, {ctx.dataset.pretty} {ctx.split}{whiskers}")
        for y, v in zip(positions, values):
            x, colour = (1.5, "white") if v >= 12 else (v + 1.5, "black")
            axes.text(x, y, f"{v:.1f}", va="center", ha="left", color=colour, fontsize=9)

    return _png(ctx, "F1 chart", (6.4, 0.45 * len(kinds) + 1.2), draw)


def confusion_heatmap(ctx: CardContext) -> bytes | None:
    """The entity-type confusion matrix (gold rows, predicted columns, plus missed and spurious) as PNG bytes, or None."""
    block = ctx.results.error_analysis
    if block is None or not ctx.entities:
        return None
    confusion = block.confusion
    kinds = confusion.types
    rows = [[confusion.cell(g, p) for p in kinds] + [confusion.missed.get(g, 0)] for g in kinds]
    rows.append([confusion.spurious.get(p, 0) for p in kinds] + [0])

    def draw(figure) -> None:
        from matplotlib.colors import LogNorm

        axes = figure.add_subplot()
        top = max(max(max(row) for row in rows), 2)
        # A log scale, so that errors stay visible beside the large diagonal; zeros stay white.
        shown = [[value if value > 0 else float("nan") for value in row] for row in rows]
        image = axes.imshow(shown, cmap="Blues", norm=LogNorm(vmin=1, vmax=top))
        figure.colorbar(image, ax=axes, shrink=0.8, label="entities (log scale)")
        axes.set_xticks(range(len(kinds) + 1), labels=[*kinds, "(missed)"], rotation=45, ha="right")
        axes.set_yticks(range(len(kinds) + 1), labels=[*kinds, "(spurious)"])
        axes.set_xlabel("predicted type")
        axes.set_ylabel("gold type")
        axes.set_title(f"Entity-type confusion, {ctx.dataset.pretty} {ctx.split}")
        for y, row in enumerate(rows):
            for x, value in enumerate(row):
                if y < len(kinds) or x < len(kinds):  # the corner (no gold, no prediction) is not a cell
                    colour = "white" if value > top ** 0.6 else "black"
                    axes.text(x, y, str(value), ha="center", va="center", color=colour, fontsize=9)

    size = 0.75 * len(kinds) + 2.4
    return _png(ctx, "confusion heatmap", (size + 0.8, size), draw)


def reliability_chart(ctx: CardContext) -> bytes | None:
    """Accuracy against mean score per score bin for the recommended strategy's entities, after calibration
    and (when calibration.json measured it on the same split and strategy) before, as PNG bytes, or None."""
    scores = ctx.results.strategies.results.get(ctx.strategy) if ctx.results.strategies else None
    report = scores.confidence if scores is not None else None
    if report is None or not report.reliability:
        return None
    before = (ctx.calibration_reading("before") or {}).get("reliability")

    def draw(figure) -> None:
        axes = figure.add_subplot()
        axes.plot([0, 1], [0, 1], linestyle="--", color="#888888", linewidth=1, label="perfect calibration")
        lines = [(before, "before calibration", "#dd8452"),
                 (report.reliability, "calibrated" if before else ctx.strategy, "#4c72b0")]
        for bins, label, colour in lines:
            if not bins:
                continue
            total = sum(b["count"] for b in bins)
            xs, ys = [b["confidence"] for b in bins], [b["accuracy"] for b in bins]
            axes.plot(xs, ys, color=colour, linewidth=1.5, label=label)
            axes.scatter(xs, ys, s=[20 + 400 * b["count"] / total for b in bins], color=colour, alpha=0.7, zorder=3)
        axes.set_xlim(0, 1.02)
        axes.set_ylim(0, 1.02)
        axes.set_xlabel("entity score (bin mean)")
        axes.set_ylabel("share of entities right")
        axes.set_title(f"Reliability of `{ctx.strategy}` entity scores, {ctx.dataset.pretty} {ctx.strategies_split}")
        axes.legend(loc="upper left", fontsize=8)

    return _png(ctx, "reliability chart", (5.2, 4.4), draw)
