"""Assemble the card: context -> front matter + sections -> Jinja template -> README.md and chart."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard

from toolkit.card.context import CardOptions, build_context
from toolkit.card.metadata import card_data
from toolkit.card.sections import render_sections
from nercore.errors import UserError
from nercore.runfolder import CARD, CONFUSION_CHART, F1_CHART
from toolkit.runtime import write_files_atomically

TEMPLATE_NAME = "token_classification.md"


@dataclass
class RenderedCard:
    """A card built in memory: nothing is written until `write()`."""

    card: ModelCard
    chart_png: bytes | None
    warnings: list[str] = field(default_factory=list)
    confusion_png: bytes | None = None

    def write(self, output_dir: str | Path) -> Path:
        """README.md and the charts as one set (temp files + rename), so a reader never sees half a card."""
        out = Path(output_dir)
        readme = out / CARD
        images = {out / F1_CHART: self.chart_png, out / CONFUSION_CHART: self.confusion_png}
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


def build_card(output_dir: str | Path, **options: Any) -> RenderedCard:
    """Read and check the run folder, then build the card and chart in memory.

    Keyword arguments are `CardOptions`' fields (repo_id, language, license, base_model,
    widget_texts). Raises `UserError` when the folder's files or the options are malformed.
    """
    ctx = build_context(output_dir, CardOptions(**options))
    card = ModelCard.from_template(card_data(ctx), template_str=template_text(), **render_sections(ctx))
    card.text = card.text.rstrip("\n") + "\n"  # Jinja drops the template's final newline
    return RenderedCard(card=card, chart_png=ctx.chart_png, warnings=list(ctx.warnings), confusion_png=ctx.confusion_png)


def render_card(output_dir: str | Path, **options: Any) -> Path:
    """`build_card(output_dir, **options)`, then write README.md (and per_entity_f1.png); returns the README path.

    Options pass through whole, so none of them can be dropped on the way (as `widget_texts` once was).
    """
    return build_card(output_dir, **options).write(output_dir)
