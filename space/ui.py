"""The Gradio Blocks app: layout, the Compare click, and the public `/compare` and `/predict` endpoints.

Thin by design: every request rule lives in `space.service.Service`, all HTML in `space.ui_render`
(pure, escaped), the examples in `space.ui_examples`. The layout is one full-width row per
registered strategy, stacked so the same words line up from row to row, each with its entity
table collapsed underneath. `/compare` is also an MCP tool when the app is launched with
`mcp_server=True` (its docstring is the tool's description).
No `from __future__ import annotations` here: gr.api reads the real type hints.
"""

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from nercore import strategies as registry
from nercore.thresholds import below_threshold, entity_units
from space import ui_render as render
from space.config import SpaceConfig
from space.limits import protect
from space.model import ModelLoadError
from space.model_scores import StrategyF1, model_scores
from space.service import EMPTY_TEXT_MESSAGE, NO_MODEL_MESSAGE, RequestError, Service
from space.ui_examples import CONTEXT_ALONE, CONTEXT_TEXT, EXAMPLE_LABELS, EXAMPLES

log = logging.getLogger(__name__)

# After a run on a phone-sized screen, bring the summary line to the top: there the results start
# far below the button. A desktop page, where they are in view, does not move.
SCROLL_TO_RESULTS = """() => {
  const el = document.getElementById('summary');
  if (el && el.offsetParent !== null && window.innerWidth <= 700 && el.getBoundingClientRect().top > 8) {
    el.scrollIntoView({behavior: 'instant', block: 'start'});
  }
}"""


@dataclass
class _Page:
    """The output components one Compare click fills."""

    status: Any
    results: Any  # everything below the status line; hidden until a run has something to show
    summary: Any
    legend: Any
    disagreements: Any
    threshold: Any  # the slider: dims (never drops) what `min_score` would drop, in the rows and the table
    context_alone: Any  # after the context example: a button that runs its second sentence alone
    rows: dict = field(default_factory=dict)  # name -> Column (hidden when the strategy is not chosen)
    texts: dict = field(default_factory=dict)  # name -> the row's title line and highlighted text
    tables: dict = field(default_factory=dict)
    plain_heads: dict = field(default_factory=dict)  # name -> the row's title line without scores
    last: Any = None  # gr.State: the last run's text and result, so the threshold re-renders without a model call

    @property
    def outputs(self) -> list:
        return [self.status, self.results, self.summary, self.legend, self.disagreements, self.context_alone,
                *self.rows.values(), *self.texts.values(), *self.tables.values(), self.last]


def _html(value: str = "", **kwargs) -> gr.HTML:
    return gr.HTML(value, js_on_load=None, **kwargs)


THRESHOLD_INFO = "Score = the model's confidence; on a calibrated model (as bundled), 0.9 ≈ right 9 times in 10."


def _model_info(cfg: SpaceConfig) -> str:
    """The model selector's help: the default model's language (from its card), then what may be chosen."""
    language = cfg.default_language
    said = f"The default is an {language} model: other languages get few or wrong entities." if language else ""
    if cfg.allow_custom_model:
        return f"{said} Or type a Hub id (token-classification models only, never remote code).".strip()
    return said or "One of the configured models."


def _inputs(cfg: SpaceConfig, table: tuple):
    """Text box with the examples under it (on a phone both fit the first screen), model selector,
    strategy checkboxes and the Compare button."""
    choices = cfg.choices
    with gr.Row():
        with gr.Column(scale=3, min_width=300):
            text = gr.Textbox(
                label="Text", lines=3, placeholder="Barack Obama visited the United Nations in New York City.",
                elem_id="input-text",
            )
            examples = gr.Examples(examples=[[e] for e in EXAMPLES], inputs=[text], example_labels=EXAMPLE_LABELS,
                                   label="Examples where the strategies differ (click one to run it)")
        with gr.Column(scale=2, min_width=300):
            model = gr.Dropdown(
                choices=choices, value=choices[0] if choices else None, label="Model",
                allow_custom_value=cfg.allow_custom_model, elem_id="model", info=_model_info(cfg),
            )
            strategies = gr.CheckboxGroup(
                choices=[(s.name if render.is_pipeline(s) else f"{s.name} (nerkit)", s.name) for s in table],
                value=[s.name for s in table], label="Strategies", elem_id="strategies",
            )
            run = gr.Button("Compare", variant="primary", elem_id="compare-btn")
    return text, examples, model, strategies, run


def _results(start_status: str, table: tuple, scores: StrategyF1 | None) -> _Page:
    """Status; then, once a run has something to show: the summary line, legend, the threshold slider,
    the disagreement view (a capped box that scrolls), and one stacked full-width row per registered
    strategy: the slider, the table it dims and the first row share one desktop screen."""
    status = _html(start_status, elem_id="run-info", head=f"<style>{render.CSS}</style>")
    with gr.Column(visible=False, elem_id="results") as results:
        summary = _html("", elem_id="summary")
        context_alone = gr.Button(f"Now its second sentence alone: “{CONTEXT_ALONE}”", visible=False, size="sm",
                                  elem_id="context-alone")
        legend = _html(render.legend_html({}), elem_id="legend")
        threshold = gr.Slider(0, 1, value=0, step=0.05, label="Dim entities scored below (0: dim none)", info=THRESHOLD_INFO,
                              elem_id="threshold")
        gr.Markdown("### Where the strategies disagree")
        page = _Page(status, results, summary, legend, _html("", elem_id="disagreements"), threshold, context_alone,
                     last=gr.State(None))
        gr.Markdown("### What each strategy finds")
        with gr.Column(elem_classes=["ner-rows"]):
            _rows(page, table, scores)
    return page


def _rows(page: _Page, table: tuple, scores: StrategyF1 | None) -> None:
    for strategy in table:
        name = strategy.name
        with gr.Column(elem_id=f"row-{name}", elem_classes=["ner-row"]) as row:
            page.texts[name] = _html(_head(strategy, scores), elem_id=f"hl-{name}")
            page.plain_heads[name] = render.row_head_html(strategy)
            with gr.Accordion(f"{name}: entity table", open=False, elem_id=f"acc-{name}"):
                page.tables[name] = _html("", elem_id=f"table-{name}")
        page.rows[name] = row


def _head(strategy, scores: StrategyF1 | None) -> str:
    if scores is None or strategy.name not in scores.f1:
        return render.row_head_html(strategy)
    rows = {s.name for s in registry.STRATEGIES}
    shown = {n: f for n, f in scores.f1.items() if n in rows}
    best = max(shown, key=lambda n: shown[n])
    return render.row_head_html(strategy, scores.f1[strategy.name], best == strategy.name, scores.describe())


def _model_facts(result: dict) -> tuple[list, StrategyF1 | None]:
    """(the model's entity types, its per-strategy scores) for the legend and the row headers.

    Types come from the labels of the model the run used (the service's answer carries them), so any
    label set gets colours; scores from the model's eval_results.json, if any (the answer carries them
    too). A request that ran no model (empty text) gets the types its entities show and no scores."""
    seen = sorted({render.label_of(e).split("-", 1)[-1] for found in result["entities"].values() for e in found})
    if result.get("message") or not result.get("labels"):
        return seen, None
    scores = result.get("scores")
    shown = StrategyF1(scores["f1"], scores["split"], scores["num_sentences"]) if scores else None
    return render.legend_types(result["labels"]) or seen, shown


def _best(scores: StrategyF1 | None, names) -> tuple[str, float, str] | None:
    """(strategy, F1, split) of the shown strategy with the model's best measured F1, or None."""
    shown = {n: f for n, f in (scores.f1 if scores else {}).items() if n in names}
    if not shown:
        return None
    name = max(shown, key=shown.get)
    return name, shown[name], scores.split


def _cleared(page: _Page, message_html: str) -> dict:
    """A failed (or empty) run: the message, and no results of an earlier run left on screen."""
    updates = {page.status: message_html, page.results: gr.update(visible=False), page.summary: "",
               page.legend: render.legend_html({}), page.disagreements: "", page.last: None,
               page.context_alone: gr.update(visible=False)}
    for name in page.rows:
        updates[page.texts[name]] = page.plain_heads[name]
        updates[page.tables[name]] = ""
    return updates


def _running_status(service: Service):
    """The instant a run starts (no queue): the previous error or result line gives way to what runs now."""

    def on_start(model_value):
        name = (model_value or "").strip() or service.config.default_display or "the default model"
        return render.notice_html(f"Running {name}… (a model that is not loaded yet takes a few seconds more)")

    return on_start


def _compare_handler(service: Service, page: _Page, table: tuple):
    """The Compare click: every chosen strategy's row filled, the others hidden, errors as plain text."""

    def on_compare(text_value, chosen, model_value, min_score=0.0):
        try:
            result = service.run(text_value, chosen or [], model_value)  # every entity: the page dims, never drops
        except (RequestError, ModelLoadError) as exc:
            return _cleared(page, render.error_html(str(exc)))
        except Exception as exc:  # never a traceback in the page
            log.exception("compare failed")
            return _cleared(page, render.error_html(f"unexpected error ({type(exc).__name__}): {exc}"))
        text_value = text_value or ""
        if result.get("message"):  # e.g. empty text: nothing ran, nothing to show below the message
            return _cleared(page, render.status_html(result))
        chosen_names = result["strategies"]
        types, scores = _model_facts(result)
        found = any(result["entities"].get(name) for name in chosen_names)
        updates = {
            page.status: render.status_html(result),
            page.results: gr.update(visible=True),
            page.summary: render.summary_html(len(chosen_names), len(result["disagreements"]),
                                              _best(scores, chosen_names), found),
            page.legend: render.legend_html(render.palette(types)),
            page.context_alone: gr.update(visible=text_value == CONTEXT_TEXT),
        }
        for strategy in table:
            name = strategy.name
            updates[page.rows[name]] = gr.update(visible=name in chosen_names)
            updates[page.tables[name]] = render.entity_table_html(text_value, result["entities"].get(name, []))
        updates.update(_dimmed_views(page, table, text_value, result, min_score))
        updates[page.last] = {"text": text_value, "result": result}
        return updates

    return on_compare


def _dimmed_views(page: _Page, table: tuple, text_value: str, result: dict, min_score) -> dict:
    """Each row's title line and highlighted text, and the disagreement table, with what `min_score`
    would drop (`nercore.thresholds`, the API's rule: whole entities, after grouping) dimmed."""
    types, scores = _model_facts(result)
    colors = render.palette(types)
    chosen = result["strategies"]
    entities = {name: result["entities"].get(name, []) for name in chosen}
    reference = [s.name for s in table if not s.votes_in_disagreements]  # the row says (nercore.strategies)
    below = below_threshold(entities, min_score, text_value, reference)
    low_keys = {name: {key for key, _score, members in entity_units(found, text_value) if set(members) <= below[name]}
                for name, found in entities.items()}
    best = _best(scores, chosen)
    updates = {page.disagreements: render.disagreement_html(
        result["disagreements"], chosen, text_value, colors, [s.name for s in table if render.is_pipeline(s)],
        best[0] if best else None, low_keys, any(entities.values()))}
    for strategy in table:
        found = entities.get(strategy.name, [])
        shown = render.text_html(text_value, found, colors, below.get(strategy.name, ())) if text_value.strip() else ""
        updates[page.texts[strategy.name]] = _head(strategy, scores) + shown
    return updates


def _threshold_handler(page: _Page, table: tuple):
    """The threshold moved: re-dim the rows and the disagreement table of the last run (kept in
    `page.last`); the model does not run again."""

    def on_threshold(last, min_score):
        if not last:
            return {view: gr.update() for view in [*page.texts.values(), page.disagreements]}
        return _dimmed_views(page, table, last["text"], last["result"], min_score)

    return on_threshold


def _register_api(service: Service, table: tuple, limit: dict) -> None:
    """`/compare` and `/predict` for gradio_client (and MCP); their docs list the registry's strategies."""
    quoted = ", ".join(f'"{s.name}"' for s in table)
    token_level = ", ".join(f'"{s.name}"' for s in table if not s.whole_entities) or "token-level"

    def compare(text: str, strategies: list[str] | None = None, model: str | None = None,
                min_score: float | None = None) -> dict:
        """Find named entities (people, organisations, places, ...) in a text with a token-classification model, and compare how each aggregation strategy (STRATEGY_LIST) groups the model's token predictions into entities. The model runs once; every strategy reads the same token scores. Use it to extract entities from a text, or to see where the strategies disagree before choosing one.

        Args:
            text: the text to analyse, plain text of at most NER_MAX_CHARS characters; empty text gives empty results and a message.
            strategies: a list with any of STRATEGY_LIST; null or omitted means all of them.
            model: one of the Space's models or a Hub id (if the Space allows typed ids); null or "" means the Space's default model.
            min_score: keep only entities whose score is at least this number from 0 to 1 (e.g. 0.9 trades recall for precision); null keeps all.
        Returns:
            A JSON object: "model" (the model used), "entities" (strategy name -> list of entities; STRATEGY_FIELDS; offsets index `text`, so text[start:end] is the entity), "disagreements" (regions where the strategies give different spans: start, end, text, and what each strategy found there; empty when they all agree), "message" (a note, e.g. for empty text) and "info" (device, token and window counts, timings).
        """
        try:
            return service.compare(text, strategies, model, min_score)
        except (RequestError, ModelLoadError) as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    def predict(text: str, strategy: str = "simple", model: str | None = None, min_score: float | None = None) -> list[dict]:
        """Find named entities in a text with one aggregation strategy (one of STRATEGY_LIST) of the transformers token-classification pipeline.

        Args:
            text: the text to analyse; empty text gives [].
            strategy: the aggregation strategy, "simple" by default.
            model: a listed model or Hub id; null or "" means the Space's default model.
            min_score: keep only entities scored at least this (0 to 1); null keeps all.
        Returns:
            The pipeline's entity dicts for that strategy (STRATEGY_FIELDS), scores as plain floats.
        """
        try:
            return service.predict(text, strategy, model, min_score)
        except (RequestError, ModelLoadError) as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    fields = (f"{token_level} give one entity per token with entity, score, index, word, start, end; the others "
              "give entity_group, score, word, start, end")
    for endpoint in (compare, predict):
        endpoint.__doc__ = (endpoint.__doc__.replace("STRATEGY_LIST", quoted).replace("STRATEGY_FIELDS", fields)
                            .replace("NER_MAX_CHARS", f"{service.config.max_chars:,}"))
        gr.api(endpoint, api_name=endpoint.__name__, **limit)


def _start_status(service: Service) -> str:
    """The status line before any Compare: the default model (display name, loaded or not), device, limit."""
    try:
        return render.notice_html(service.status_text())
    except Exception as exc:  # a status line must never break the page
        log.warning("status line unavailable: %s", exc)
        return render.notice_html(NO_MODEL_MESSAGE if not service.config.default_model else "")


def _default_scores(cfg: SpaceConfig) -> StrategyF1 | None:
    """The default model's scores when it is a local folder (no network while building the page)."""
    default = cfg.default_model
    return model_scores(default) if default and Path(default).expanduser().is_dir() else None


def build_demo(config: SpaceConfig | None = None) -> gr.Blocks:
    """The Space. `config` defaults to `SpaceConfig.from_env()`; the Service is at `demo.nerkit_service`."""
    service = Service(config)
    cfg = service.config
    table = registry.STRATEGIES  # read now, so the app shows exactly the registry's rows
    pipeline_names = [s.name for s in table if render.is_pipeline(s)]
    limit = dict(concurrency_limit=cfg.concurrency, concurrency_id="inference")

    with gr.Blocks(title="NER aggregation strategies side by side", analytics_enabled=False) as demo:
        gr.Markdown(
            "# NER: every aggregation strategy, one forward pass\n"
            "**What to look for:** a model reads text in word pieces; there are several ways to turn those "
            "pieces back into names of people, places and organisations, and they do not always agree. Click "
            "an example: each row below shows one way, the table shows where they differ, and the green badge "
            "the way that scored best for this model.",
            elem_id="intro",
        )
        gr.Markdown(  # the how, for readers who know the pipeline; hidden on a phone
            f"The model runs **once**; its token scores are then grouped {len(pipeline_names)} ways "
            f"({', '.join(f'`{n}`' for n in pipeline_names)}) exactly as `transformers`' token-classification "
            "pipeline would, one row each, so the same words line up from row to row."
            + render.roles_text(table),  # reference and non-pipeline rows, from their role fields
            elem_id="intro-more",
        )
        text, examples, model, strategies, run = _inputs(cfg, table)
        page = _results(_start_status(service), table, _default_scores(cfg))
        demo.load(lambda: _start_status(service), outputs=[page.status], api_visibility="private", queue=False)
        handler, starting = _compare_handler(service, page, table), _running_status(service)
        inputs = [text, strategies, model, page.threshold]
        alone = page.context_alone.click(lambda: CONTEXT_ALONE, outputs=[text], api_visibility="private", queue=False)
        # An example click fills the box; the context example's button puts its second sentence there; then it runs.
        for event in (run.click, examples.load_input_event.then, alone.then):
            event(starting, inputs=[model], outputs=[page.status], api_visibility="private", queue=False).then(
                handler, inputs=inputs, outputs=page.outputs, api_visibility="private", **limit,
            ).then(None, js=SCROLL_TO_RESULTS)
        page.threshold.change(_threshold_handler(page, table), inputs=[page.last, page.threshold],
                              outputs=[*page.texts.values(), page.disagreements], api_visibility="private",
                              queue=False, trigger_mode="always_last")
        _register_api(service, table, limit)

    demo.queue(max_size=cfg.queue_size, default_concurrency_limit=cfg.concurrency)
    demo.nerkit_service = service
    protect(demo)
    return demo


def warm_up(demo: gr.Blocks) -> threading.Thread | None:
    """Load the default model in the background so the first request does not pay for it."""
    service: Service = demo.nerkit_service
    if not service.config.default_model:
        return None

    def load():
        try:
            service.run("Warm-up.", [registry.STRATEGY_NAMES[0]], None)
        except Exception as exc:  # shown to users on their first request instead
            log.warning("warm-up failed: %s", exc)

    thread = threading.Thread(target=load, name="nerkit-warm-up", daemon=True)
    thread.start()
    return thread


__all__ = ["build_demo", "warm_up", "EXAMPLES", "EMPTY_TEXT_MESSAGE"]
