"""The per-type F1 bar chart (per_entity_f1.png) beside the card.

Uses matplotlib's object API with the Agg canvas, so it never touches pyplot's global state or
needs a display. The chart is optional: without matplotlib, or if plotting fails, the card is
written without it and a warning says why.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from toolkit.card.context import CardContext


def f1_chart(ctx: CardContext) -> bytes | None:
    """A horizontal bar chart of F1 per type (with CI whiskers when known) as PNG bytes, or None."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except Exception as err:  # noqa: BLE001 - any import failure only costs the chart
        ctx.warn(f"matplotlib is not available ({err}); the card has no F1 chart. `pip install matplotlib` to add it.")
        return None
    try:
        kinds = ctx.types
        values = [100 * ctx.per_type[k].f1 for k in kinds]
        figure = Figure(figsize=(6.4, 0.45 * len(kinds) + 1.2), dpi=100)
        FigureCanvasAgg(figure)
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
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", metadata={"Software": None})
        return buffer.getvalue()
    except Exception as err:  # noqa: BLE001 - a plotting failure only costs the chart
        ctx.warn(f"plotting the F1 chart failed ({type(err).__name__}: {err}); the card has no chart.")
        return None
