"""Write a run folder's model card (README.md + per-entity F1 chart) from the files in it.

Every number on the card comes from the files training and evaluation wrote (`nercore.runfolder`),
so the card renders offline and always agrees with `eval_results.json`. The layout:
`context` reads the folder once into a frozen `CardContext`; `sections/` turn it into Markdown,
one function per section, listed in order in `sections.SECTIONS`; `metadata` builds the YAML
front matter; `render` fills the Jinja template in `model_cards/` and writes the files.
"""

from toolkit.card.context import CardContext, CardOptions, build_context
from toolkit.card.render import RenderedCard, build_card, render_card, template_text

__all__ = ["CardContext", "CardOptions", "RenderedCard", "build_card", "build_context", "render_card", "template_text"]
