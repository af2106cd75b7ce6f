"""Assemble the card: context -> charts -> front matter + sections -> Jinja template -> README.md and charts."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from huggingface_hub import ModelCard

from toolkit.card.chart import confusion_heatmap, f1_chart, reliability_chart
from toolkit.card.context import CardContext, CardOptions, build_context
from toolkit.card.metadata import card_data
from toolkit.card.sections import render_sections
from nercore.errors import UserError
from nercore.runfolder import CARD, CONFUSION_CHART, F1_CHART, RELIABILITY_CHART
from toolkit.runtime import write_files_atomically

TEMPLATE_NAME = "token_classification.md"


@dataclass
class RenderedCard:
    """A card built in memory: nothing is written until `write()`."""

    card: ModelCard
    chart_png: bytes | None
    warnings: list[str] = field(default_factory=list)
    confusion_png: bytes | None = None
    reliability_png: bytes | None = None

    @property
    def images(self) -> dict[str, bytes | None]:
        """File name -> PNG bytes of each chart the card may show (None: this card has none)."""
        return {F1_CHART: self.chart_png, CONFUSION_CHART: self.confusion_png, RELIABILITY_CHART: self.reliability_png}

    def write(self, output_dir: str | Path) -> Path:
        """README.md and the charts as one set (temp files + rename), so a reader never sees half a card."""
        out = Path(output_dir)
        readme = out / CARD
        images = {out / name: png for name, png in self.images.items()}
        files: dict[Path, str | bytes] = {readme: str(self.card)}
        files.update({path: png for path, png in images.items() if png is not None})
        try:
            write_files_atomically(files)
        except OSError as err:
            raise UserError(f"cannot write the model card into {out}: {err}. Check the folder's permissions.") from err
        for path, png in images.items():
            if png is None and path.exists():
                path.unlink()  # a chart from an earlier render would no longer match the card
        return readme


def template_text() -> str:
    """The Jinja template: `model_cards/` in a checkout, `toolkit.model_cards` when installed."""
    local = Path(__file__).resolve().parents[2] / "model_cards" / TEMPLATE_NAME
    if local.is_file():
        return local.read_text(encoding="utf-8")
    from importlib.resources import files

    try:
        return (files("toolkit.model_cards") / TEMPLATE_NAME).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as err:  # pragma: no cover - packaging error
        raise RuntimeError(f"model card template {TEMPLATE_NAME} is missing from this nerkit install") from err


def with_charts(ctx: CardContext) -> CardContext:
    """The context with its charts drawn (each None when its data or matplotlib is missing, with a warning)."""
    return replace(ctx, chart_png=f1_chart(ctx), confusion_png=confusion_heatmap(ctx), reliability_png=reliability_chart(ctx))


def build_card(output_dir: str | Path, options: CardOptions | None = None) -> RenderedCard:
    """Read and check the run folder, then build the card and charts in memory (nothing is written).

    Raises `UserError` when the folder's files are malformed (`CardOptions` checks the options).
    """
    ctx = with_charts(build_context(output_dir, options or CardOptions()))
    card = ModelCard.from_template(card_data(ctx), template_str=template_text(), **render_sections(ctx))
    card.text = card.text.rstrip("\n") + "\n"  # Jinja drops the template's final newline
    return RenderedCard(card=card, chart_png=ctx.chart_png, warnings=list(ctx.warnings), confusion_png=ctx.confusion_png,
                        reliability_png=ctx.reliability_png)


def render_card(output_dir: str | Path, options: CardOptions | None = None) -> Path:
    """`build_card`, then write README.md and its charts; returns the README path."""
    return build_card(output_dir, options).write(output_dir)
