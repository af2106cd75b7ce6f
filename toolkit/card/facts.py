"""Facts the card derives once from the run folder: which dataset and base model, which strategy, which widget sentences.

Pure functions of the folder's records; `context.build_context` calls each exactly once and
stores the answer on the `CardContext`, so no section recomputes (or re-warns about) them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nercore.strategies import best_recommendable, get_strategy, recommendable
from nercore.tags import split_tag
from toolkit.card.fmt import count, detokenize, is_local_path, pct
from toolkit.paths import short_path
from toolkit.card.known_datasets import KnownDataset, find_known
from toolkit.data import is_file_format
from nercore.runfolder import PREDICTIONS, RUN_INFO

Warn = Callable[[str], None]
WIDGET_EXAMPLES = 3
WIDGET_MIN_TOKENS, WIDGET_MAX_TOKENS = 6, 30
DEFAULT_USAGE_TEXT = "My name is Wolfgang and I live in Berlin."
UNUSABLE_BELOW = 0.1  # a headline score under this: the card and `nerkit publish` warn that the model does not work


@dataclass(frozen=True)
class DatasetIdentity:
    type: str  # Hub id when known, else a name for model-index
    pretty: str
    hub_id: str | None
    config: str | None
    revision: str | None
    known: KnownDataset | None


@dataclass(frozen=True)
class BaseModel:
    hub_id: str | None
    display: str | None  # Markdown: a Hub link, or a scrubbed local path
    revision: str | None
    name: str  # as recorded (may be a local path: never print it unscrubbed)


def dataset_identity(source: Mapping, recorded: Mapping | None = None) -> DatasetIdentity:
    """How the card names the evaluated data: a Hub id, a known dataset, or a local file's stem.

    `recorded` is data_info.json's source: when it is the same dataset, it fills the `config` and
    `revision` the evaluation's own record lacks.
    """
    recorded = recorded or {}
    if recorded is not source and (recorded.get("kind"), recorded.get("name")) == (source.get("kind"), source.get("name")):
        source = {**source, **{k: recorded.get(k) for k in ("config", "revision") if source.get(k) is None}}
    name = str(source.get("name") or "")
    kind = source.get("kind")
    on_hub = kind == "hub" and bool(name) and not is_local_path(name)
    if on_hub:
        base = name
    else:
        base = re.split(r"[\\/]+", name.rstrip("/\\"))[-1] if name else ""
        if base and "." in base and is_file_format(kind):
            base = base.rsplit(".", 1)[0]
    known = find_known(base)
    hub_id = name if on_hub else known.hub_id if known else None
    return DatasetIdentity(
        type=hub_id or base or "local-data",
        pretty=known.pretty if known else (base or "local data"),
        hub_id=hub_id,
        config=source.get("config"),
        revision=source.get("revision"),
        known=known,
    )


def base_model(run_info: Mapping, train_config: Mapping, override: str | None, warn: Warn) -> BaseModel:
    """The base model's Hub id (None for a local folder unless `override` names it) and how to show it."""
    raw = str(run_info.get("base_model") or train_config.get("model") or "")
    revision = run_info.get("base_model_revision") or train_config.get("revision")
    local = run_info.get("base_model_is_local")
    if local is None:
        local = bool(raw) and (is_local_path(raw) or raw.count("/") > 1 or Path(raw).exists())
    hub_id = override or (raw if raw and not local else None)
    if hub_id:
        display = f"[{hub_id}](https://huggingface.co/{hub_id})"
    elif raw:
        display = f"a local model folder (`{short_path(raw)}`)"
        warn(
            f"the base model is a local folder ({short_path(raw)}), so the card has no `base_model` metadata. "
            "Pass --base-model HUB_ID (e.g. sentence-transformers/all-MiniLM-L6-v2) to link it."
        )
    else:
        display = None
        warn(f"no base model recorded ({RUN_INFO} missing); the card names none.")
    return BaseModel(hub_id=hub_id, display=display, revision=revision if hub_id else None, name=raw)


def recommended_strategy(
    strategy_f1: Mapping[str, float], split: str, label_strategy: str | None, entities: bool
) -> tuple[str, str]:
    """The aggregation strategy for the usage snippet and metadata, and a sentence saying why."""
    best = best_recommendable(strategy_f1)
    prefix = ""
    if best is not None:
        return best, (
            f"`{best}` has the highest end-to-end F1 ({pct(strategy_f1[best])}) of the strategies that return "
            f"whole entities, on the {split} split (see [F1 by aggregation strategy](#f1-by-aggregation-strategy))."
        )
    if any(name in strategy_f1 for name in recommendable()):
        prefix = (f"No strategy could be recommended from the evaluation: every strategy scored F1 "
                  f"{pct(0.0)} on the {split} split. ")
    strategy, why = _strategy_from_training(label_strategy, entities)
    return strategy, prefix + why


def _strategy_from_training(label_strategy: str | None, entities: bool) -> tuple[str, str]:
    """The recommendation when no strategy result decides: from the table's roles, never a name. A model
    trained on every sub-token gets the first recommendable row that combines a word's sub-token scores
    (`combines_scores`); otherwise the first that follows one sub-token's argmax; both keep words whole."""
    groups = "entities" if entities else "tag groups"
    name = _training_row(combines=label_strategy == "all")
    help_text = get_strategy(name).help
    if label_strategy == "all":
        return name, (
            f"The model was trained with every sub-token labelled, so `{name}` ({help_text}) uses all of them "
            "and never splits a word."
        )
    if label_strategy == "first":
        return name, (
            f"The model was trained with labels on the first sub-token of each word only, so `{name}` ({help_text}) "
            f"reads each word's label where it was learned, and never splits a word between two {groups}."
        )
    return name, (
        f"`{name}` ({help_text}) never splits a word between two {groups}; nerkit trains on each word's first "
        "sub-token by default."
    )


def _training_row(combines: bool) -> str:
    """The first `recommendable()` row that keeps words whole and whose `combines_scores` is `combines`
    (the first recommendable row if none is)."""
    order = recommendable()
    fitting = [name for name in order if get_strategy(name).whole_words and get_strategy(name).combines_scores == combines]
    return (fitting or list(order))[0]


def below_floor(results) -> str | None:
    """'F1 0.00 on the test split is below 10.00' for a model that does not work; None otherwise.

    The headline score is F1 for entities and accuracy for tag sets; `UNUSABLE_BELOW` is the floor.
    """
    name, value = ("F1", results.overall.f1) if results.entities else ("accuracy", results.overall.accuracy)
    if not isinstance(value, (int, float)) or value >= UNUSABLE_BELOW:
        return None
    return f"{name} {pct(value)} on the {results.split} split is below {pct(UNUSABLE_BELOW)}"


def types_in_order(tags: Sequence[str]) -> list[str]:
    """Entity types of a tag sequence, in order of first appearance (a widget example's title)."""
    return list(dict.fromkeys(kind for prefix, kind in map(split_tag, tags) if prefix))


def widget_examples(
    widget_texts: Sequence[str],
    known: KnownDataset | None,
    sentences: Sequence[tuple[list[str], list[str]]] | None,
    *,
    entities: bool,
    split: str,
    warn: Warn,
) -> list[dict[str, str]] | None:
    """The Hub widget's examples: the user's texts, a known dataset's safe sentences, or eval sentences."""
    if widget_texts:
        return [{"text": text, "example_title": f"Example {n}"} for n, text in enumerate(widget_texts, 1)]
    if known and known.widget and entities:
        warn(
            f"{known.pretty} text is research-only, so the widget uses invented example sentences instead of "
            "sentences from the evaluated split. Pass --widget-text to choose your own."
        )
        return [{"text": text, "example_title": title} for text, title in known.widget]
    if sentences is None:
        warn(
            f"{PREDICTIONS.format(split=split)} not found: the card has no widget examples. "
            "Re-run `nerkit evaluate` to write it."
        )
        return None
    chosen = _pick_sentences(sentences, entities)
    if not chosen:
        warn(
            f"no sentence of {WIDGET_MIN_TOKENS}-{WIDGET_MAX_TOKENS} words with entities in the predictions; "
            "the card has no widget examples."
        )
        return None
    return [
        {"text": detokenize(tokens), "example_title": ", ".join(kinds) if entities else f"Example {number}"}
        for number, (tokens, kinds) in enumerate(chosen, 1)
    ]


def _pick_sentences(sentences, entities: bool) -> list[tuple[list[str], list[str]]]:
    """Up to WIDGET_EXAMPLES readable sentences that between them cover as many types as possible."""
    candidates = []
    for index, (tokens, gold) in enumerate(sentences):
        if not WIDGET_MIN_TOKENS <= len(tokens) <= WIDGET_MAX_TOKENS or tokens[0] == "-DOCSTART-":
            continue
        words = [t for t in tokens if any(c.isalpha() for c in t)]
        if words and sum(w.isupper() and len(w) > 1 for w in words) > len(words) / 2:
            continue  # headlines in capitals are poor examples
        kinds = types_in_order(gold) if entities else list(dict.fromkeys(gold))
        if entities and not kinds:
            continue
        candidates.append((index, tokens, kinds))
    chosen: list[tuple[list[str], list[str]]] = []
    covered: set[str] = set()
    while candidates and len(chosen) < WIDGET_EXAMPLES:
        index, tokens, kinds = max(candidates, key=lambda c: (len(set(c[2]) - covered), len(set(c[2])), -c[0]))
        if chosen and not set(kinds) - covered:
            break
        chosen.append((tokens, kinds))
        covered |= set(kinds)
        candidates = [c for c in candidates if c[0] != index]
    return chosen


def tokenizer_json_lowercases(path: Path) -> bool:
    """Whether a fast tokenizer's normaliser lowercases (the tokenizer.json of uncased models)."""
    if not path.is_file():
        return False
    try:
        normalizer = json.loads(path.read_text(encoding="utf-8")).get("normalizer")
    except (OSError, ValueError):
        return False

    def lowers(node: Any) -> bool:
        if not isinstance(node, dict):
            return False
        if node.get("type") == "Lowercase" or (node.get("type") == "BertNormalizer" and node.get("lowercase")):
            return True
        return any(lowers(child) for child in node.get("normalizers") or [])

    return lowers(normalizer)


def safetensors_parameters(path: Path) -> str | None:
    """Parameter count and dtype from the safetensors header (8-byte length + JSON), without torch."""
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as handle:
            size = int.from_bytes(handle.read(8), "little")
            if not 0 < size < 100_000_000:
                return None
            header = json.loads(handle.read(size))
    except (OSError, ValueError):
        return None
    total, dtypes = 0, set()
    for name, entry in header.items():
        if name == "__metadata__" or not isinstance(entry, dict):
            continue
        total += math.prod(entry.get("shape") or [1])
        dtypes.add(entry.get("dtype", "?"))
    if not total:
        return None
    number = f"{total / 1e6:.1f} M" if total >= 1e6 else count(total)
    megabytes = path.stat().st_size / 1e6
    size = f"{megabytes:.0f} MB" if megabytes >= 10 else f"{megabytes:.1f} MB"
    return f"{number} ({', '.join(sorted(dtypes))}, {size} on disk)"
