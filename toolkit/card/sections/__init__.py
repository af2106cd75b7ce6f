"""The card's body, in template order: each entry is a Jinja variable and the function that fills it.

A section is a function `CardContext -> str | None`; None leaves it out (the function records a
warning on the context when optional data was missing). To add a section, write its function in
the module of its group, list it here, and place `{{ name }}` in model_cards/token_classification.md.
"""

from __future__ import annotations

from collections.abc import Callable

from toolkit.card.context import CardContext
from toolkit.card.sections import confidence, data, errors, limitations, reproducibility, results, training, usage
from toolkit.card.sections import backends, context

Section = Callable[[CardContext], "str | None"]

SECTIONS: tuple[tuple[str, Section], ...] = (
    ("title", results.title),
    ("summary", results.summary),
    ("usage", usage.usage),
    ("results_intro", results.results_intro),
    ("results_table", results.results_table),
    ("ci_note", results.ci_note),
    ("chart", results.chart),
    ("modes", results.modes),
    ("strategies", results.strategies),
    ("confidence", confidence.confidence),
    ("document_context", context.document_context),
    ("error_analysis", errors.error_analysis),
    ("backends", backends.backends),
    ("limitations", limitations.limitations),
    ("data", data.data),
    ("data_licence", data.data_licence),
    ("citation", data.citation),
    ("training", training.training),
    ("hyperparameters", training.hyperparameters),
    ("training_log", training.training_log),
    ("hardware", training.hardware),
    ("versions", training.versions),
    ("reproducibility", reproducibility.reproducibility),
)


def render_sections(ctx: CardContext) -> dict[str, str | None]:
    """Every section's Markdown (None where left out), keyed by template variable."""
    return {name: section(ctx) for name, section in SECTIONS}
