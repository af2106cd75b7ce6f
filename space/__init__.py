"""The nerkit Space: one token-classification forward pass, every aggregation strategy side by side.

Stages (each imports only earlier ones; none imports `toolkit`):
tags, device → windows, grouping → strategies (the registry) → spans → model → engine →
config → service → ui. `app.py` at the repo root launches it. The toolkit may use the gradio-free,
cache-free ones (tags, device, strategies, spans, windows, grouping, engine), never model,
config, service or ui. Importing this package is cheap: numpy, torch, transformers and gradio
load inside the stage modules.
"""
