"""End-to-end F1 of each aggregation strategy (the pipeline's five and nerkit's `word` view), on exact character spans.

Why: seqeval scores word-level tags on pre-split words, but a user calls
`pipeline("token-classification", aggregation_strategy=...)` on raw text and gets character
spans back. This stage measures what that user gets, for every strategy, so the card can say
which strategy to use. It runs the Space's own engine (`nercore.engine.predict_all_batch`): one
forward pass per sentence gives every strategy of the registry (`nercore.strategies`).

How a sentence is scored
------------------------
1. **Text.** The sentence's tokens joined with single spaces (`detokenize`); token *i* starts at
   `starts[i]`. With `join="natural"` a token made only of closing punctuation (`,.;:!?%)]}`) is
   attached to the token before it and one made only of opening brackets (`([{`) to the one after
   it, as in running text ("Paris, France."): that is where the pipeline's space heuristic splits
   words wrongly on byte-level BPE and SentencePiece tokenizers and the `word` view does not. Gold entities come from the IOB2 tags via seqeval's `get_entities` (the same
   entities seqeval's default mode counts) and become character spans
   `(type, starts[first], starts[last] + len(tokens[last]))`.
2. **Prediction.** One forward pass (long sentences are windowed with the pipeline's stride, so no
   word is cut off) and every requested strategy. The pipeline is built from the evaluated model
   and the tokenizer as `AutoTokenizer.from_pretrained` loads it, i.e. as a user's pipeline would.
3. **"none" into spans.** "none" returns one label per sub-token; it is decoded with
   `nercore.spans.none_to_spans(entities, text)`, exactly as the Space shows it. The rule:
   tokens are taken in order; a token *joins* the current span when it directly follows the span's
   last token (no "O" token between) and either (a) no whitespace separates the two in the text
   (a sub-token of the same word: it joins whatever its own B-/I- prefix or type, and the span keeps
   the type of its first token), or (b) its label is `I-<type>` (or a bare `<type>`) of the span's
   type. Otherwise it starts a new span. "O" pieces of a word are not added, so a span can start or
   end inside a word (and then cannot match a gold span). Since the text is the tokens joined with
   spaces, "same word" here means "same dataset token".
4. **Types.** A span's type is the model's label without B-/I- (the pipeline's `entity_group`),
   renamed the way `toolkit.evaluate.labelmap.map_model_labels` maps the model's labels onto the dataset's
   (`--label-map` included). Labels mapped to "O" are ignored by the pipeline (`ignore_labels`);
   a type the dataset does not have stays as it is and counts as a false positive.
5. **Whitespace.** Offsets from byte-level BPE (and some WordPiece set-ups) may include the space
   before a word or, rarely, after it. Predicted spans are therefore stripped of whitespace at both
   edges before matching (a span that is all whitespace is dropped). Gold spans never have any.
6. **Matching.** Exact `(type, start, end)` match. Predicted spans are a multiset: a span predicted
   twice counts twice as predicted and at most once as correct.

Per strategy: precision, recall, F1 (seqeval's formulas, 0 where undefined) with support (gold
spans), predicted and correct counts, overall (micro) and per type.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from nercore.tags import entity_type, pipeline_type
from toolkit.model_loading import build_pipeline, check_strategies
from toolkit.scores import prf

Span = tuple  # (type, start, end): character offsets into the detokenized sentence
_CHUNK = 1024  # sentences per predict_all_batch call (progress bar granularity)


JOINS = ("spaces", "natural")
_CLOSING, _OPENING = set(",.;:!?%)]}"), set("([{")


def detokenize(tokens: Sequence[str], join: str = "spaces") -> tuple[str, list[int]]:
    """`("EU", "rejects")` -> `("EU rejects", [0, 3])`: the text and each token's start offset.

    `join="natural"` leaves out the space before closing punctuation and after opening brackets."""
    if join not in JOINS:
        raise ValueError(f"join must be one of {', '.join(JOINS)}, got {join!r}")
    starts, parts, position = [], [], 0
    for i, token in enumerate(tokens):
        glued = join == "natural" and i > 0 and (
            (token and set(token) <= _CLOSING) or (tokens[i - 1] and set(tokens[i - 1]) <= _OPENING))
        if i > 0 and not glued:
            parts.append(" ")
            position += 1
        starts.append(position)
        parts.append(token)
        position += len(token)
    return "".join(parts), starts


def gold_spans(tokens: Sequence[str], tags: Sequence[str], join: str = "spaces") -> list[Span]:
    """Gold entities of one sentence as character spans of `detokenize(tokens, join)[0]`."""
    from seqeval.metrics.sequence_labeling import get_entities

    _text, starts = detokenize(tokens, join)
    return [
        (kind, starts[first], starts[last] + len(tokens[last]))
        for kind, first, last in get_entities(list(tags))
    ]


def strip_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """`(start, end)` without whitespace at either edge; None when nothing else is left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _type_of(label: str) -> str | None:
    return None if label == "O" else entity_type(label)


def type_map(model_labels: Sequence[str], mapped_labels: Sequence[str] | None = None) -> dict[str, str | None]:
    """Pipeline type (`entity_group`, or a "none" label without B-/I-) -> dataset type, None = ignore.

    `mapped_labels` is `LabelMapping.names` (model label id -> dataset label); without it the
    model's own names are used.
    """
    mapped_labels = list(mapped_labels) if mapped_labels is not None else list(model_labels)
    out: dict[str, str | None] = {}
    for model_label, dataset_label in zip(model_labels, mapped_labels):
        key = pipeline_type(str(model_label))
        kind = _type_of(str(dataset_label))
        if out.get(key) is None:
            out[key] = kind
    return out


def predicted_spans(
    entities: Sequence[Mapping],
    text: str,
    types: Mapping[str, str | None] | None = None,
) -> list[Span]:
    """One strategy's pipeline output for `text` -> `(type, start, end)` spans, as scored.

    Grouped output (`entity_group`) is used as it is; "none" output (`entity`) is decoded with
    `nercore.spans.none_to_spans`. Then types are mapped and edges stripped of whitespace.
    """
    return [span for span, _score in scored_spans(entities, text, types)]


def scored_spans(
    entities: Sequence[Mapping],
    text: str,
    types: Mapping[str, str | None] | None = None,
) -> list[tuple[Span, float | None]]:
    """`predicted_spans` with each span's score (for `toolkit.evaluate.confidence`; None when the output has none)."""
    from nercore.spans import none_to_spans

    if entities and "entity_group" not in entities[0]:
        entities = none_to_spans(entities, text)
    spans = []
    for entity in entities:
        kind = str(entity["entity_group"])
        if types is not None:
            kind = types.get(kind, kind)
        if kind is None:
            continue
        bounds = strip_span(text, int(entity["start"]), int(entity["end"]))
        if bounds is not None:
            score = entity.get("score")  # the pipeline always gives one; hand-made outputs may not
            spans.append(((kind, *bounds), None if score is None else float(score)))
    return spans


def sentence_counts(gold: Iterable[Span], pred: Iterable[Span]) -> dict[str, list[int]]:
    """type -> [correct, predicted, gold] for one sentence (predicted spans as a multiset)."""
    gold_count, pred_count = Counter(gold), Counter(pred)
    counts: dict[str, list[int]] = {}
    for span, n in gold_count.items():
        counts.setdefault(span[0], [0, 0, 0])[2] += n
    for span, n in pred_count.items():
        row = counts.setdefault(span[0], [0, 0, 0])
        row[1] += n
        row[0] += min(n, gold_count.get(span, 0))
    return counts


def score_spans(gold: Sequence[Sequence[Span]], pred: Sequence[Sequence[Span]]) -> dict:
    """Overall (micro) and per-type scores of predicted spans against gold spans, sentence by sentence."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted ones")
    totals: dict[str, list[int]] = {}
    for g, p in zip(gold, pred):
        for kind, row in sentence_counts(g, p).items():
            total = totals.setdefault(kind, [0, 0, 0])
            for i in range(3):
                total[i] += row[i]
    overall = [sum(row[i] for row in totals.values()) for i in range(3)]
    result = prf(*overall)
    result["per_type"] = {kind: prf(*totals[kind]) for kind in sorted(totals)}
    return result


@dataclass
class SplitTexts:
    """A split as the engine reads it: each sentence's text and gold spans, and the texts sent to the
    engine (a document's sentences joined, one per line, with each sentence's start; else one sentence)."""

    texts: list[str]
    gold: list[list[Span]]
    groups: list[list[int]]  # sentence indices of each engine text
    joined: list[tuple[str, list[int]]]  # engine text, start of each of its sentences


def split_texts(sentences: Sequence[Sequence[str]], tags: Sequence[Sequence[str]], *, join: str = "spaces",
                documents: Sequence | None = None) -> SplitTexts:
    """The engine's texts of a split: with `documents` (each sentence's document), a document's sentences
    form one text, as a pasted article reaches the Space (`nercore.documents`)."""
    from nercore.documents import document_groups, join_sentences

    if len(sentences) != len(tags):
        raise ValueError(f"{len(sentences)} sentences but {len(tags)} tag sequences")
    texts = [detokenize(tokens, join)[0] for tokens in sentences]
    gold = [gold_spans(tokens, sentence_tags, join) for tokens, sentence_tags in zip(sentences, tags)]
    groups = document_groups(documents) if documents is not None else [[i] for i in range(len(texts))]
    return SplitTexts(texts, gold, groups, [join_sentences([texts[i] for i in group]) for group in groups])


def score_outputs(split: SplitTexts, outputs: Sequence[Mapping[str, Sequence[Mapping]]], names: Sequence[str],
                  types: Mapping[str, str | None] | None = None) -> dict:
    """Per strategy: scores and the `confidence` block of the engine's outputs (one per engine text)."""
    return score_predicted(split.gold, scored_predictions(split, outputs, names, types))


def score_predicted(gold: Sequence[Sequence[Span]], pred: Mapping[str, Sequence[Sequence[tuple[Span, float]]]]) -> dict:
    """Per strategy: scores and the `confidence` block of its scored spans, sentence by sentence."""
    from toolkit.evaluate.confidence import confidence_report

    return {name: {**score_spans(gold, [[span for span, _ in p] for p in spans]),
                   "confidence": confidence_report(gold, spans)} for name, spans in pred.items()}


def scored_predictions(split: SplitTexts, outputs: Sequence[Mapping[str, Sequence[Mapping]]], names: Sequence[str],
                       types: Mapping[str, str | None] | None = None) -> dict[str, list[list[tuple[Span, float]]]]:
    """Per strategy, per sentence: the predicted spans with their scores."""
    from nercore.documents import split_entities

    if len(outputs) != len(split.groups):
        raise ValueError(f"{len(split.groups)} engine texts but {len(outputs)} outputs")
    pred: dict[str, list[list[tuple[Span, float]]]] = {name: [] for name in names}
    for group, (_, starts), output in zip(split.groups, split.joined, outputs):
        own = [split.texts[i] for i in group]
        for text, found in zip(own, [output] if len(group) == 1 else split_entities(output, own, starts)):
            for name in names:
                pred[name].append(scored_spans(found[name], text, types))
    return pred


def evaluate_strategies(
    pipe: Any,
    sentences: Sequence[Sequence[str]],
    tags: Sequence[Sequence[str]],
    *,
    strategies: str | Iterable[str] | None = None,
    types: Mapping[str, str | None] | None = None,
    ignore_labels: Sequence[str] = ("O",),
    batch_size: int = 32,
    progress: bool = False,
    join: str = "spaces",
    documents: Sequence | None = None,
) -> dict:
    """`{strategy: {precision, recall, f1, support, predicted, correct, per_type, confidence}}` over all sentences.

    `tags` are the gold IOB2 tags (dataset label names); `types` maps pipeline types to dataset
    types (`type_map`); `ignore_labels` are the model labels that mean "no entity"; `join` how the
    tokens become text (`detokenize`). With `documents` (each sentence's document), a document's
    sentences reach the engine as one text, one line each (`nercore.documents`), as a pasted
    article reaches the Space, and the spans are matched per sentence.
    """
    from tqdm.auto import tqdm

    from nercore.engine import predict_all_batch

    names = check_strategies(strategies)
    split = split_texts(sentences, tags, join=join, documents=documents)
    outputs: list[dict] = []
    chunks = range(0, len(split.joined), _CHUNK)
    for first in tqdm(chunks, desc="strategies", unit="chunk", disable=not progress or len(chunks) < 2):
        part = [text for text, _ in split.joined[first : first + _CHUNK]]
        outputs += predict_all_batch(pipe, part, names, batch_size, max_chars=None, ignore_labels=tuple(ignore_labels))
    return score_outputs(split, outputs, names, types)


def evaluate_model_strategies(
    model: Any,
    tokenizer: Any,
    sentences: Sequence[Sequence[str]],
    tags: Sequence[Sequence[str]],
    mapped_labels: Sequence[str] | None = None,
    *,
    strategies: str | Iterable[str] | None = None,
    batch_size: int = 32,
    max_length: int | None = None,
    progress: bool = False,
    join: str = "spaces",
    documents: Sequence | None = None,
) -> dict:
    """`evaluate_strategies` for a loaded model: builds the pipeline and the type map from its labels."""
    pipe, types, ignore = model_pipeline(model, tokenizer, mapped_labels, max_length=max_length)
    return evaluate_strategies(
        pipe,
        sentences,
        tags,
        strategies=strategies,
        types=types,
        ignore_labels=ignore,
        batch_size=batch_size,
        progress=progress,
        join=join,
        documents=documents,
    )


def model_pipeline(model: Any, tokenizer: Any, mapped_labels: Sequence[str] | None = None, *,
                   max_length: int | None = None) -> tuple[Any, dict[str, str | None], tuple[str, ...]]:
    """(pipeline, pipeline type -> dataset type, model labels that mean "no entity") for a loaded model."""
    model_labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    mapped = list(mapped_labels) if mapped_labels is not None else model_labels
    ignore = tuple(label for label, target in zip(model_labels, mapped) if target == "O") or ("O",)
    return build_pipeline(model, tokenizer, max_length=max_length), type_map(model_labels, mapped), ignore
