"""The nerkit Space: one token-classification forward pass, five aggregation strategies side by side.

Stages (each imports only earlier ones; none imports `toolkit`):
config → model → inference → strategies → service → ui. `app.py` at the repo root launches it.
Importing this package is cheap: torch, transformers and gradio load inside the stage modules.
"""

ALL_STRATEGIES = ("none", "simple", "first", "average", "max")

__all__ = ["ALL_STRATEGIES"]
