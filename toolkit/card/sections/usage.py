"""How to use the model: a `pipeline(...)` snippet with the recommended aggregation strategy."""

from __future__ import annotations

import json

from toolkit.card.context import CardContext


def usage(ctx: CardContext) -> str:
    var = "ner" if ctx.entities else "tagger"
    code = (
        "```python\n"
        "from transformers import pipeline\n\n"
        f'{var} = pipeline("token-classification", model="{ctx.repo}", aggregation_strategy="{ctx.pipeline_strategy}")\n'
        f"print({var}({json.dumps(ctx.usage_text)}))\n"
        "```"
    )
    text = f"{code}\n\n{ctx.strategy_why}"
    if not ctx.entities:
        text += (
            " These tags have no `B-`/`I-` prefixes, so every strategy but `none` merges neighbouring words "
            "that share a tag into one group; `none` returns one tag per sub-token instead."
        )
    if not ctx.repo_id:
        text += (
            f" `{ctx.repo}` is this folder's name: pass the folder's path, or its Hub id once it is pushed "
            "(`nerkit card --repo-id USER/NAME` writes the id into this snippet)."
        )
    return text
