"""The Gradio Blocks app: layout, rendering, and the two public API endpoints.

Thin by design: every rule lives in `space.service.Service`; this file turns its results into
components and registers `/compare` and `/predict` (typed with `gr.api`) for gradio_client.
No `from __future__ import annotations` here: gr.api reads the real type hints.
"""

import html
import logging
import threading
from dataclasses import dataclass
from typing import Any

import gradio as gr

from space import strategies as registry
from space.config import SpaceConfig
from space.model import ModelLoadError
from space.service import EMPTY_TEXT_MESSAGE, NO_MODEL_MESSAGE, RequestError, Service

log = logging.getLogger(__name__)

TABLE_HEADERS = ["word", "label", "score", "start", "end"]
DISAGREE_LABEL = "strategies disagree"
_TYPE_COLORS = {"PER": "#f4a6a6", "ORG": "#a6c8f4", "LOC": "#a6f4b8", "MISC": "#f4e3a6"}
COLOR_MAP = {DISAGREE_LABEL: "#ff9f43"}
for _t, _c in _TYPE_COLORS.items():
    COLOR_MAP.update({_t: _c, f"B-{_t}": _c, f"I-{_t}": _c})

EXAMPLES = [
    # A surname the vocabulary splits into pieces: first/average/max keep it whole, simple may not.
    "Indonesian President Joko Widodo met Barack Obama in Jakarta on Tuesday.",
    # Multi-word entities of three types.
    "The United Nations headquarters in New York City hosted the European Union delegation.",
    # Adjacent entities of the same type: B- tags (not commas) must separate them.
    "Angela Merkel Emmanuel Macron and Joe Biden met Xi Jinping and Narendra Modi in Osaka.",
    # A long paragraph (windows and stride on small models).
    (
        "The European Space Agency said on Monday that its new Mars orbiter would launch from Kourou in "
        "French Guiana next spring. Agency director Josef Aschbacher told reporters in Paris that the "
        "mission, built with Airbus Defence and Space and Thales Alenia Space, had passed its final review. "
        "NASA administrator Bill Nelson welcomed the news from Washington, and the Japan Aerospace "
        "Exploration Agency confirmed it would supply a radiation instrument designed at the University of "
        "Tokyo. Analysts at Morgan Stanley in London said the contract could bring new work to factories in "
        "Toulouse, Bremen and Turin, while the Italian Space Agency in Rome declined to comment on costs. "
        "Scientists from Stanford University and the Max Planck Institute in Munich will lead the search "
        "for water ice near the Martian poles, according to a statement released in Darmstadt."
    ),
]


# --- rendering (pure) ---------------------------------------------------------------------------

def _label(entity: dict) -> str:
    return str(entity.get("entity_group") or entity.get("entity"))


def highlight_value(text: str, entities: list) -> list:
    """HighlightedText value as (segment, label) pairs; overlapping entities (e.g. byte pieces of
    one emoji) are shown once so every character appears exactly once."""
    pieces, cursor = [], 0
    for entity in sorted(entities, key=lambda e: (int(e["start"]), -int(e["end"]))):
        start, end = int(entity["start"]), int(entity["end"])
        if start < cursor or end <= start:
            continue
        if start > cursor:
            pieces.append((text[cursor:start], None))
        pieces.append((text[start:end], _label(entity)))
        cursor = end
    if cursor < len(text) or not pieces:
        pieces.append((text[cursor:], None))
    return pieces


def table_rows(text: str, entities: list) -> dict:
    rows = [
        [text[int(e["start"]) : int(e["end"])], _label(e), round(float(e["score"]), 4), int(e["start"]), int(e["end"])]
        for e in entities
    ]
    return {"data": rows, "headers": TABLE_HEADERS}


def disagreement_rows(regions: list, names: list) -> dict:
    headers = ["text", "start", "end", *names]
    rows = []
    for region in regions:
        row = [region.get("text", ""), region["start"], region["end"]]
        for name in names:
            said = region["strategies"].get(name, [])
            row.append("; ".join(f"{s['entity_group']} {s['word']!r} ({s['score']:.2f})" for s in said) or "—")
        rows.append(row)
    return {"data": rows, "headers": headers}


def info_markdown(result: dict) -> str:
    esc = html.escape
    if result.get("message"):
        return f"ℹ️ {esc(result['message'])}"
    wb = result["word_boundaries"]
    method = "WordPiece-style prefix (real words)" if wb["method"] == "prefix" else "space heuristic"
    n_dis = len(result["disagreements"])
    return (
        f"**Model** `{esc(result['model'])}` · **device** {esc(result['device'])}  \n"
        f"**Word boundaries**: {method} — {esc(wb['description'])}  \n"
        f"**One forward pass**: {result['forward_ms']:.1f} ms for {result['num_tokens']} tokens in "
        f"{result['windows']} window(s) of ≤ {result['max_tokens_per_window']} tokens · all strategies "
        f"{result['total_ms']:.1f} ms · **{n_dis} disagreement region(s)**"
    )


def error_markdown(message: str) -> str:
    return f"⚠️ **Cannot run**: {html.escape(message)}"


# --- app ---------------------------------------------------------------------------------------

@dataclass
class _Page:
    """The output components one Compare click fills."""

    info: Any
    disagree_text: Any
    disagree_table: Any
    columns: dict
    highlights: dict
    tables: dict

    @property
    def outputs(self) -> list:
        return [self.info, self.disagree_text, self.disagree_table, *self.columns.values(),
                *self.highlights.values(), *self.tables.values()]


def _inputs(cfg: SpaceConfig, names: list):
    """Text box, model selector, strategy checkboxes and the Compare button."""
    choices = cfg.choices
    with gr.Row():
        with gr.Column(scale=3):
            text = gr.Textbox(
                label="Text", lines=6, placeholder="Barack Obama visited the United Nations in New York City.",
                elem_id="input-text",
            )
        with gr.Column(scale=2):
            model = gr.Dropdown(
                choices=choices, value=choices[0] if choices else None, label="Model",
                allow_custom_value=cfg.allow_custom_model, elem_id="model",
                info="Hub id or listed model; token-classification models only, never remote code."
                if cfg.allow_custom_model else "One of the configured models.",
            )
            strategies = gr.CheckboxGroup(choices=list(names), value=list(names), label="Strategies", elem_id="strategies")
            run = gr.Button("Compare", variant="primary", elem_id="compare-btn")
    return text, model, strategies, run


def _results(start_info: str, table: tuple) -> _Page:
    """Run info, the disagreement view, and one column per registered strategy."""
    info = gr.Markdown(start_info, elem_id="run-info")
    gr.Markdown("### Where the strategies disagree")
    disagree_text = gr.HighlightedText(
        label="Disagreement regions", color_map=COLOR_MAP, elem_id="disagreements", show_label=False,
    )
    disagree_table = gr.Dataframe(
        headers=["text", "start", "end", *(s.name for s in table)], interactive=False, wrap=True,
        elem_id="disagreement-table", label="What each strategy says there",
    )
    page = _Page(info, disagree_text, disagree_table, {}, {}, {})
    with gr.Row(equal_height=False):
        for strategy in table:
            name = strategy.name
            with gr.Column(min_width=260, elem_id=f"col-{name}") as column:
                gr.Markdown(f"### `{name}`\n{strategy.help}")
                page.highlights[name] = gr.HighlightedText(
                    label=name, color_map=COLOR_MAP, elem_id=f"hl-{name}", combine_adjacent=False,
                )
                page.tables[name] = gr.Dataframe(
                    headers=TABLE_HEADERS, datatype=["str", "str", "number", "number", "number"],
                    interactive=False, wrap=True, elem_id=f"table-{name}", label=f"{name} entities",
                    column_widths=["34%", "22%", "18%", "13%", "13%"],
                )
            page.columns[name] = column
    return page


def _compare_handler(service: Service, page: _Page):
    """The Compare click: every strategy's column filled, unchosen ones hidden, errors as a message."""

    def on_compare(text_value, chosen, model_value):
        updates = {}
        try:
            result = service.run(text_value, chosen or [], model_value)
        except (RequestError, ModelLoadError) as exc:
            updates[page.info] = error_markdown(str(exc))
            updates[page.disagree_text] = None
            updates[page.disagree_table] = {"data": [], "headers": ["text", "start", "end"]}
            for name in page.columns:
                updates[page.highlights[name]] = None
                updates[page.tables[name]] = {"data": [], "headers": TABLE_HEADERS}
            return updates
        except Exception as exc:  # never a traceback in the page
            log.exception("compare failed")
            updates[page.info] = error_markdown(f"unexpected error ({type(exc).__name__}): {exc}")
            return updates
        chosen_names = result["strategies"]
        text_value = text_value or ""
        updates[page.info] = info_markdown(result)
        regions = result["disagreements"]
        updates[page.disagree_text] = highlight_value(
            text_value, [dict(r, entity_group=DISAGREE_LABEL) for r in regions]
        ) if text_value.strip() else None
        updates[page.disagree_table] = disagreement_rows(regions, chosen_names)
        for name in page.columns:
            shown = name in chosen_names
            updates[page.columns[name]] = gr.update(visible=shown)
            entities = result["entities"].get(name, [])
            updates[page.highlights[name]] = highlight_value(text_value, entities) if shown and text_value.strip() else None
            updates[page.tables[name]] = table_rows(text_value, entities)
        return updates

    return on_compare


def _register_api(service: Service, table: tuple, limit: dict) -> None:
    """`/compare` and `/predict` for gradio_client; their docs list the registry's strategies."""
    quoted = ", ".join(f'"{s.name}"' for s in table)
    token_level = ", ".join(f'"{s.name}"' for s in table if not s.whole_entities) or "token-level"

    def compare(text: str, strategies: list[str] | None = None, model: str | None = None) -> dict:
        """Run the model once and return every chosen aggregation strategy's entities.

        Args:
            text: the text to analyse (at most NER_MAX_CHARS characters; empty text gives empty results and a message).
            strategies: any of STRATEGY_LIST; null or omitted means all of them.
            model: a listed model or Hub id; null or "" means the Space's default model.
        Returns:
            {"model", "entities": {strategy: [entities]}, "disagreements": [regions], "message", "info"}.
            TOKEN_LEVEL entities: entity, score, index, word, start, end (one per token);
            other strategies: entity_group, score, word, start, end. Offsets index `text`.
        """
        try:
            return service.compare(text, strategies, model)
        except (RequestError, ModelLoadError) as exc:
            raise gr.Error(str(exc)) from None

    def predict(text: str, strategy: str = "simple", model: str | None = None) -> list[dict]:
        """Entities of one aggregation strategy (one of STRATEGY_LIST).

        Args:
            text: the text to analyse; empty text gives [].
            strategy: the aggregation strategy, "simple" by default.
            model: a listed model or Hub id; null or "" means the Space's default model.
        Returns:
            The pipeline's entity dicts for that strategy, scores as plain floats.
        """
        try:
            return service.predict(text, strategy, model)
        except (RequestError, ModelLoadError) as exc:
            raise gr.Error(str(exc)) from None

    for endpoint in (compare, predict):
        endpoint.__doc__ = endpoint.__doc__.replace("STRATEGY_LIST", quoted).replace("TOKEN_LEVEL", token_level)
        gr.api(endpoint, api_name=endpoint.__name__, **limit)


def build_demo(config: SpaceConfig | None = None) -> gr.Blocks:
    """The Space. `config` defaults to `SpaceConfig.from_env()`; the Service is at `demo.nerkit_service`."""
    service = Service(config)
    cfg = service.config
    table = registry.STRATEGIES  # read now, so the app shows exactly the registry's rows
    names = [s.name for s in table]
    limit = dict(concurrency_limit=cfg.concurrency, concurrency_id="inference")
    if cfg.default_model:
        start_info = (
            f"Default model `{html.escape(cfg.default_model)}` (loads on first use) · device "
            f"{html.escape(service.device.label)} · texts up to {cfg.max_chars:,} characters."
        )
    else:
        start_info = f"⚠️ {html.escape(NO_MODEL_MESSAGE)}"

    with gr.Blocks(title="NER aggregation strategies side by side") as demo:
        gr.Markdown(
            "# NER: every aggregation strategy, one forward pass\n"
            f"The model runs **once**; the token scores are then grouped {len(names)} ways "
            f"({', '.join(f'`{n}`' for n in names)}) exactly as `transformers`' token-classification "
            "pipeline would. Orange marks where they disagree."
        )
        text, model, strategies, run = _inputs(cfg, names)
        gr.Examples(examples=[[e] for e in EXAMPLES], inputs=[text], label="Examples where strategies differ")
        page = _results(start_info, table)
        run.click(_compare_handler(service, page), inputs=[text, strategies, model], outputs=page.outputs,
                  api_visibility="private", **limit)
        _register_api(service, table, limit)

    demo.queue(max_size=cfg.queue_size, default_concurrency_limit=cfg.concurrency)
    demo.nerkit_service = service
    return demo


def warm_up(demo: gr.Blocks) -> threading.Thread | None:
    """Load the default model in the background so the first request does not pay for it."""
    service: Service = demo.nerkit_service
    if not service.config.default_model:
        return None

    def load():
        try:
            service.run("Warm-up.", ["simple"], None)
        except Exception as exc:  # shown to users on their first request instead
            log.warning("warm-up failed: %s", exc)

    thread = threading.Thread(target=load, name="nerkit-warm-up", daemon=True)
    thread.start()
    return thread


__all__ = ["build_demo", "warm_up", "EXAMPLES", "EMPTY_TEXT_MESSAGE"]
