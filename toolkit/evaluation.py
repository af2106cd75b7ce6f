"""Evaluate any token-classification model on a dataset split, per entity type.

Works for models trained here or anywhere else: the model's label names are mapped onto the
dataset's (other tag schemes are converted to IOB2; `label_map` renames or drops types), and
the run writes `eval_results.json` (schema in docs/ARCHITECTURE.md), a CoNLL predictions file
and a short list of error examples. Words beyond the model's maximum length are scored as
predicted `O`, so the reported F1 covers every gold entity.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from toolkit import layout
from toolkit.alignment import AlignmentStats, align_batch, check_fast, load_tokenizer
from toolkit.errors import UserError
from toolkit.labels import NerData, entity_types, is_entity_labels, to_iob2
from toolkit.metrics import score
from toolkit.training import pick_device

logger = logging.getLogger("toolkit")

SCHEMA_VERSION = 1
MAX_ERROR_EXAMPLES = 25


@dataclass
class LabelMapping:
    """How the model's label names become dataset labels."""

    names: list[str]  # model label id -> dataset label name (before scheme conversion)
    scheme: str  # the scheme of the mapped model labels, converted to IOB2 per sentence


def parse_label_map(text: str | None) -> dict[str, str]:
    """`"PERSON=PER,LABEL_0=O"` -> {"PERSON": "PER", "LABEL_0": "O"}."""
    mapping: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        if "=" not in item:
            raise UserError(f"--label-map entries look like MODEL_NAME=DATASET_NAME; got {item!r}")
        source, target = (side.strip() for side in item.split("=", 1))
        mapping[source] = target
    return mapping


def label_set_scheme(names: list[str]) -> str:
    """The scheme a model's label *set* implies: BIOES (BILOU) when it has end/single tags,
    IOB2 when it has B-/I- tags, "none" for bare type names. A model predicting IOB2 labels is
    scored as it predicts, so strict mode still sees its invalid sequences."""
    prefixes = {name[:2] for name in names if name != "O"}
    if prefixes & {"E-", "S-", "L-", "U-"}:
        return "BIOES"
    if prefixes & {"B-", "I-"}:
        return "IOB2"
    return "none"


def map_model_labels(model_labels: list[str], data_labels: list[str], label_map: dict[str, str] | None = None) -> LabelMapping:
    """Map model label names onto the dataset's, or explain precisely why they do not fit."""
    label_map = label_map or {}
    renamed = []
    for name in model_labels:
        if name in label_map:
            renamed.append(label_map[name])
            continue
        prefix, _, kind = name.partition("-") if name[:2] in ("B-", "I-", "E-", "S-", "L-", "U-") else ("", "", name)
        if prefix and kind in label_map:
            target = label_map[kind]
            renamed.append("O" if target == "O" else f"{prefix}-{target}")
        else:
            renamed.append(name)
    if all(name.startswith("LABEL_") for name in model_labels) and not label_map:
        raise UserError(
            f"the model's labels are generic ({', '.join(model_labels[:4])}, ...): its config.json has no "
            "id2label names, so its predictions cannot be matched to the dataset's labels. "
            "Pass --label-map LABEL_0=O,LABEL_1=B-PER,... or fix id2label in the model's config.json."
        )
    data_is_entities = is_entity_labels(data_labels)
    model_scheme = label_set_scheme(renamed) if data_is_entities else "none"
    if data_is_entities:
        if model_scheme == "none":  # IO labels such as "PER": treat as I- tags, then repair to IOB2
            renamed = [name if name == "O" else f"I-{name}" for name in renamed]
            model_scheme = "IOB1"
        elif model_scheme == "BIOES":
            renamed = [name.replace("L-", "E-", 1).replace("U-", "S-", 1) for name in renamed]
        known_types = set(entity_types(data_labels))
        model_types = {name[2:] for name in renamed if name != "O"}
        unknown = sorted(model_types - known_types)
        if unknown and not model_types & known_types:
            raise UserError(
                f"none of the model's entity types ({', '.join(sorted(model_types))}) is in the dataset "
                f"({', '.join(sorted(known_types))}). Map them with --label-map, e.g. "
                f"--label-map {unknown[0]}={sorted(known_types)[0] if known_types else 'O'}."
            )
        if unknown:
            logger.warning(
                "the model predicts entity types the dataset does not annotate: %s; they count as false "
                "positives. Map them with --label-map TYPE=DATASET_TYPE, or TYPE=O to ignore them.",
                ", ".join(unknown),
            )
    else:
        unknown = sorted(set(renamed) - set(data_labels))
        if unknown:
            raise UserError(
                f"the model predicts tags the dataset does not have: {', '.join(unknown)} "
                f"(dataset tags: {', '.join(data_labels)}). Map them with --label-map MODEL_TAG=DATASET_TAG."
            )
    return LabelMapping(names=renamed, scheme=model_scheme)


def load_model(name_or_path: str, *, revision: str | None = None, device: str | None = None):
    from transformers import AutoConfig, AutoModelForTokenClassification

    try:
        config = AutoConfig.from_pretrained(name_or_path, revision=revision)
    except (OSError, ValueError) as err:
        raise UserError(f"could not load a model from {name_or_path!r}: {err}") from err
    architectures = config.architectures or []
    if architectures and not any(arch.endswith("ForTokenClassification") for arch in architectures):
        raise UserError(
            f"{name_or_path!r} is a {', '.join(architectures)} model, not a token-classification model. "
            "Evaluate a model fine-tuned for token classification (e.g. the output folder of `nerkit train`)."
        )
    import torch

    # float32 whatever the checkpoint's dtype: half-precision weights (like the bundled model's)
    # are upcast, since CPU half-precision inference is slow and less accurate.
    model = AutoModelForTokenClassification.from_pretrained(name_or_path, revision=revision, dtype=torch.float32)
    model.to(device or pick_device()).eval()
    return model


def predict_words(
    model,
    tokenizer,
    sentences: list[list[str]],
    *,
    batch_size: int = 64,
    max_length: int | None = None,
    progress: bool = True,
) -> tuple[list[list[int]], AlignmentStats]:
    """Model label ids per word (first sub-token); words the model never saw get -1."""
    import torch
    from tqdm.auto import tqdm

    check_fast(tokenizer, getattr(tokenizer, "name_or_path", "tokenizer"))
    max_length = max_length or min(int(getattr(tokenizer, "model_max_length", 512) or 512), 512)
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]), reverse=True)
    predictions: list[list[int]] = [[] for _ in sentences]
    stats = AlignmentStats()
    device = next(model.parameters()).device
    batches = range(0, len(order), batch_size)
    for start in tqdm(batches, desc="predict", unit="batch", disable=not progress):
        index = order[start : start + batch_size]
        batch = [sentences[i] for i in index]
        encoding, batch_stats = align_batch(tokenizer, batch, None, max_length=max_length, with_word_ids=True)
        stats.add(batch_stats)
        padded = tokenizer.pad(
            {k: encoding[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoding},
            return_tensors="pt",
        )
        with torch.inference_mode():
            logits = model(**{k: v.to(device) for k, v in padded.items()}).logits
        best = logits.argmax(-1).cpu().tolist()
        for row, sentence_index in enumerate(index):
            word_ids = encoding["word_ids"][row]
            words = [-1] * len(batch[row])
            previous = None
            for position, word_id in enumerate(word_ids):
                if word_id is not None and word_id != previous:
                    words[word_id] = best[row][position]
                previous = word_id
            predictions[sentence_index] = words
    return predictions, stats


def decode(predicted_ids: list[list[int]], mapping: LabelMapping) -> list[list[str]]:
    """Model ids -> dataset label strings in IOB2; unseen (truncated) words become O."""
    sequences = []
    for ids in predicted_ids:
        tags = ["O" if i < 0 else mapping.names[i] for i in ids]
        if mapping.scheme not in ("IOB2", "none"):
            tags = to_iob2(tags, mapping.scheme)
        sequences.append(tags)
    return sequences


def default_output_dir(model: str) -> Path:
    path = Path(model)
    return path if path.is_dir() else Path("eval-" + model.replace("/", "--"))


def evaluate_model(
    model_name: str,
    data: NerData,
    split: str = "test",
    *,
    output_dir: str | Path | None = None,
    revision: str | None = None,
    batch_size: int = 64,
    max_length: int | None = None,
    label_map: dict[str, str] | None = None,
    max_samples: int | None = None,
    progress: bool = True,
    strategies: str | list[str] | None = None,
    bootstrap: int = 0,
    seed: int = 0,
    ci_level: float = 0.95,
    command: str | None = None,
) -> dict:
    """Score `model_name` on `data.splits[split]`; writes the results and returns the dict.

    Optional (issue 5): `strategies` ("all" or names) adds end-to-end F1 per aggregation strategy
    (toolkit/strategy_eval.py); `bootstrap` > 0 adds that many bootstrap resamples' confidence
    intervals at `ci_level` with `seed` (toolkit/confidence.py); `command` is recorded as given.
    """
    strategy_names = _check_extras(data, strategies, bootstrap, ci_level)
    if split not in data.splits:
        raise UserError(f"the dataset has no {split!r} split (it has: {', '.join(data.splits)}). Pass --split.")
    dataset = data.splits[split]
    if max_samples:
        dataset = dataset.select(range(min(max_samples, len(dataset))))
    if len(dataset) == 0:
        raise UserError(f"split {split!r} is empty: nothing to evaluate.")
    model = load_model(model_name, revision=revision)
    tokenizer = load_tokenizer(model_name, revision=revision)
    model_labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    mapping = map_model_labels(model_labels, list(data.labels), label_map)

    sentences = list(dataset["tokens"])
    names = data.splits[split].features["tags"].feature.names
    gold = [[names[i] for i in tags] for tags in dataset["tags"]]
    predicted_ids, stats = predict_words(model, tokenizer, sentences, batch_size=batch_size, max_length=max_length, progress=progress)
    if stats.truncated_words:
        logger.warning(
            "%d word(s) in %d sentence(s) lie beyond the model's max length; they are scored as predicted O.",
            stats.truncated_words,
            stats.truncated_sentences,
        )
    pred = decode(predicted_ids, mapping)
    entities = is_entity_labels(list(data.labels))
    scores = score(gold, pred, entities=entities)
    results = {
        "schema_version": SCHEMA_VERSION,
        "model": model_name,
        "split": split,
        "label_column": data.label_column,
        "dataset": data.source,
        "num_sentences": len(sentences),
        "num_tokens": sum(len(s) for s in sentences),
        "truncated_words": stats.truncated_words,
        **scores,
    }
    if command:
        results["command"] = command
    if bootstrap:
        results["confidence_intervals"] = _confidence_intervals(gold, pred, results, bootstrap, seed, ci_level, entities)
    if strategy_names:
        results["strategies"] = {
            "split": split,
            "num_sentences": len(sentences),
            "results": _strategy_results(
                model_name, model, sentences, gold, mapping, strategy_names,
                revision=revision, batch_size=batch_size, max_length=max_length, progress=progress,
            ),
        }
    out = Path(output_dir) if output_dir else default_output_dir(model_name)
    write_results(out, split, results, sentences, gold, pred)
    return results


def _check_extras(data: NerData, strategies, bootstrap: int, ci_level: float) -> tuple[str, ...]:
    """Validate the optional issue-5 arguments before any work (bad input never leaves partial output)."""
    if not isinstance(bootstrap, int) or isinstance(bootstrap, bool) or bootstrap < 0:
        raise UserError(f"--bootstrap takes a number of resamples >= 0 (0 turns it off, 1000 is usual); got {bootstrap!r}.")
    if not 0 < ci_level < 1:
        raise UserError(f"--ci-level must be between 0 and 1 (e.g. 0.95 for 95% intervals); got {ci_level!r}.")
    if not strategies:
        return ()
    from toolkit.strategy_eval import check_strategies

    names = check_strategies(strategies)
    if not is_entity_labels(list(data.labels)):
        raise UserError(
            f"--strategies scores entity spans, but the {data.label_column!r} labels have no B-/I- entities "
            f"({', '.join(list(data.labels)[:5])}, ...). Leave out --strategies for tag sets such as POS."
        )
    return names


def _confidence_intervals(gold, pred, results: dict, resamples: int, seed: int, level: float, entities: bool) -> dict:
    from toolkit.confidence import confidence_intervals, mismatches

    boot = confidence_intervals(gold, pred, entities=entities, resamples=resamples, seed=seed, level=level)
    problems = mismatches(boot, results)
    if problems:  # a bug, not a user error: the intervals would not belong to the reported numbers
        logger.warning("bootstrap point estimates differ from the seqeval scores: %s", "; ".join(problems))
    return boot.to_json()


def _strategy_results(model_name, model, sentences, gold, mapping: LabelMapping, names, *, revision, batch_size,
                      max_length, progress) -> dict:
    from transformers import AutoTokenizer

    from toolkit.strategy_eval import evaluate_model_strategies

    # The tokenizer exactly as a user's pipeline loads it (load_tokenizer may add add_prefix_space).
    tokenizer = AutoTokenizer.from_pretrained(model_name, revision=revision)
    return evaluate_model_strategies(
        model, tokenizer, sentences, gold, mapping.names, strategies=names, batch_size=batch_size,
        max_length=max_length, progress=progress,
    )


def write_results(out: Path, split: str, results: dict, sentences, gold, pred) -> None:
    """Write the three result files as one set: all are staged as *.tmp, then renamed, so a
    failure never leaves new results beside the previous run's predictions."""
    lines = []
    for words, gs, ps in zip(sentences, gold, pred):
        lines.extend(f"{w} {g} {p}" for w, g, p in zip(words, gs, ps))
        lines.append("")
    files = {
        out / layout.EVAL_RESULTS: json.dumps(results, indent=2, ensure_ascii=False) + "\n",
        out / layout.PREDICTIONS.format(split=split): "\n".join(lines),
        out / layout.ERRORS.format(split=split): error_examples(sentences, gold, pred),
    }
    out.mkdir(parents=True, exist_ok=True)
    staged = {path: path.with_name(path.name + ".tmp") for path in files}
    try:
        for path, text in files.items():
            staged[path].write_text(text, encoding="utf-8")
        for path, tmp in staged.items():
            tmp.replace(path)
    finally:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)


def error_examples(sentences, gold, pred, limit: int = MAX_ERROR_EXAMPLES) -> str:
    """The first sentences where prediction and gold differ, aligned word by word."""
    blocks = []
    wrong = [i for i, (g, p) in enumerate(zip(gold, pred)) if g != p]
    for i in wrong[:limit]:
        rows = [f"{'word':<20} {'gold':<10} {'predicted':<10}"]
        for w, g, p in zip(sentences[i], gold[i], pred[i]):
            rows.append(f"{w:<20} {g:<10} {p:<10}{'  <-- ' if g != p else ''}")
        blocks.append(f"# sentence {i}\n" + "\n".join(rows))
    header = f"# {len(wrong)} of {len(sentences)} sentences have at least one wrong tag; the first {min(limit, len(wrong))}:\n"
    return header + "\n\n".join(blocks) + "\n"


def format_table(results: dict) -> str:
    """The readable report `nerkit evaluate` prints."""
    lines = [f"{results['model']} on {results['split']} ({results['num_sentences']} sentences, {results['num_tokens']} tokens)"]
    if results.get("task") == "tags":
        lines.append(f"{'tag':<10} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}")
        for tag, v in results["per_tag"].items():
            lines.append(f"{tag:<10} {v['precision']:>9.4f} {v['recall']:>9.4f} {v['f1']:>9.4f} {v['support']:>8}")
        lines.append(f"token accuracy {results['overall']['accuracy']:.4f}")
        lines.extend(_extra_tables(results))
        return "\n".join(lines)
    default, strict = results["modes"]["default"], results["modes"]["strict"]
    lines.append(f"{'':<14} {'-------- default (conlleval) --------':>38}   {'---------- strict IOB2 ----------':>34}")
    lines.append(f"{'type':<14} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}   {'precision':>9} {'recall':>9} {'f1':>9}")
    for name in [*default["per_type"], "micro avg", "macro avg", "weighted avg"]:
        d = default["per_type"].get(name) or default[name]
        s = strict["per_type"].get(name) or strict.get(name) or {"precision": 0.0, "recall": 0.0, "f1": 0.0}
        lines.append(
            f"{name:<14} {d['precision']:>9.4f} {d['recall']:>9.4f} {d['f1']:>9.4f} {d['support']:>8}   "
            f"{s['precision']:>9.4f} {s['recall']:>9.4f} {s['f1']:>9.4f}"
        )
    lines.append(
        f"token accuracy {results['overall']['accuracy']:.4f}   invalid predicted sequences {results['invalid_sequences']}"
        f"   words beyond max length {results['truncated_words']}"
    )
    lines.extend(_extra_tables(results))
    return "\n".join(lines)


def _extra_tables(results: dict) -> list[str]:
    """The confidence-interval and per-strategy tables, when the results have them."""
    lines = []
    if results.get("confidence_intervals"):
        from toolkit.confidence import format_intervals

        lines += ["", format_intervals(results["confidence_intervals"], results)]
    if results.get("strategies"):
        from toolkit.strategy_eval import format_strategies

        lines += ["", format_strategies(results["strategies"])]
    return lines
