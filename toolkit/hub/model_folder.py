"""The tree a model push sends: a trained output folder, checked to be loadable, minus leftovers.

Checks run before anything is sent, so a half-finished run (no weights, no tokenizer, no card, a
card whose YAML the Hub would reject) fails in seconds with the fix, not after an upload.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path, PurePosixPath

from nercore import runfolder
from nercore.backends import table as backend_table
from nercore.errors import UserError
from toolkit.hub.card_target import FRONT_MATTER, card_for_repo
from toolkit.hub.plan import (
    LFS_TEXT_THRESHOLD,
    TEXT_SUFFIXES,
    PushPlan,
    check_secrets,
    collapse_excluded,
    exclusion,
    planned,
    rewrite_text,
)

log = logging.getLogger(__name__)

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json", "sentencepiece.bpe.model", "spiece.model")


def plan_model_folder(output_dir: str | Path, *, exclude: tuple[str, ...] = (), repo_id: str | None = None,
                      include_onnx: bool = True) -> PushPlan:
    """The exact tree `push` would send for a trained model folder; validates the folder first.

    The exported backends' files (the `onnx/` folder of `nerkit export`; folders from the backend
    table) go along when present (binary, so LFS), which lets the Space and transformers.js run the
    model on ONNX Runtime; `include_onnx=False` (`--no-onnx`) leaves them out.
    With `repo_id`, a card that names another model is re-rendered for `repo_id` in the tree
    (the folder's copy stays as it is), or refused with the `nerkit card` command to run.
    """
    root = Path(output_dir)
    if not root.is_dir():
        raise UserError(f"{root}: no such folder. Expected the output folder of `nerkit train` (pass it as OUTPUT_DIR).")
    check_model_folder(root)
    plan = PushPlan(repo_type="model", files=[], source=str(root))
    exported = () if include_onnx else backend_table.exported_folders()
    for path in sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink()):
        rel = PurePosixPath(path.relative_to(root).as_posix())
        why = exclusion(rel, tuple(exclude))
        if why is None and rel.parts[0] in exported:
            why = "--no-onnx"
        if why is None and path.is_symlink() and not path.exists():
            why = "broken symlink"
        if why:
            plan.excluded.append((str(rel), why))
            continue
        plan.files.append(_planned_file(plan, str(rel), path, root))
    plan.excluded = collapse_excluded(plan.excluded)
    pushed_card = [i for i, f in enumerate(plan.files) if f.path == runfolder.CARD]
    if repo_id and pushed_card:
        check_secrets(plan)  # a token in the folder is reported before anything about the card
        card = card_for_repo(output_dir, repo_id)
        if card is not None:
            plan.files[pushed_card[0]] = _planned_file(plan, runfolder.CARD, root / runfolder.CARD, root, data=card[0])
            plan.notes.append(card[1])
    return plan


def _planned_file(plan: PushPlan, rel: str, path: Path, root: Path, *, data: bytes | None = None):
    """One file of the tree, local paths rewritten in text files (from `data` instead of disk when given)."""
    plan.rewritten.pop(rel, None)
    if PurePosixPath(rel).suffix in TEXT_SUFFIXES and (data is not None or path.stat().st_size < LFS_TEXT_THRESHOLD):
        text = (data if data is not None else path.read_bytes()).decode("utf-8", errors="surrogateescape")
        new, count = rewrite_text(text, root, in_json=rel.endswith(".json"))
        if count:
            data = new.encode("utf-8", errors="surrogateescape")
            plan.rewritten[rel] = count
    return planned(rel, source=None if data is not None else path, data=data)


def check_model_folder(root: Path) -> None:
    """A saved model users can `from_pretrained`: config, weights (all shards), tokenizer, card."""
    config = root / "config.json"
    if not config.is_file():
        raise UserError(
            f"{root} has no config.json, so it is not a saved model. Expected the output folder of "
            "`nerkit train` (model, tokenizer, labels.json, eval_results.json, README.md)."
        )
    try:
        config_data = json.loads(config.read_text(encoding="utf-8"))
    except ValueError as err:
        raise UserError(f"{config}: not valid JSON ({err}); re-save the model with `nerkit train`.") from None
    if not any((root / name).is_file() for name in WEIGHT_FILES):
        raise UserError(
            f"{root} has config.json but no weights (expected one of {', '.join(WEIGHT_FILES)}); "
            "the training run probably did not finish. Re-run `nerkit train`."
        )
    _check_shards(root)
    if not any((root / name).is_file() for name in TOKENIZER_FILES):
        raise UserError(
            f"{root} has no tokenizer files (expected tokenizer.json or tokenizer_config.json): users could not "
            "run `from_pretrained` on the pushed repo. Save the tokenizer with the model (`nerkit train` does)."
        )
    labels = config_data.get("id2label") or {}
    if labels and all(re.fullmatch(r"LABEL_\d+", str(v)) for v in labels.values()):
        log.warning("%s: id2label holds generic LABEL_n names; predictions on the Hub will show them", config)
    card = root / runfolder.CARD
    if not card.is_file():
        raise UserError(f"{root} has no model card ({runfolder.CARD}). Render it first: nerkit card {root}")
    check_front_matter(card.read_text(encoding="utf-8", errors="replace"), str(card))
    check_run_files(root)


def check_run_files(root: Path) -> None:
    """Every run file nerkit knows, read through its typed reader before anything is sent: a truncated
    eval_results.json must never reach the Hub, where it would not parse and would contradict the card.
    The readers' errors name the file and the line and column, or the field."""
    from nercore.runfolder import EvalResults
    from nercore.runfolder.records import TRAINING_RECORDS, Calibration

    for path in sorted(root.glob("eval_results*.json")):  # the headline one and each backend's
        EvalResults.from_json(path)
    for record in (*TRAINING_RECORDS, Calibration):
        record.read(root)


def _check_shards(root: Path) -> None:
    for index_name in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        index = root / index_name
        if index.is_file():
            shards = sorted(set(json.loads(index.read_text(encoding="utf-8")).get("weight_map", {}).values()))
            missing = [s for s in shards if not (root / s).is_file()]
            if missing:
                raise UserError(f"{index} lists shards that are missing: {', '.join(missing)}. Re-save the model.")


def check_front_matter(text: str, where: str) -> None:
    """The card's YAML block parses to a mapping (the Hub rejects the commit otherwise)."""
    import yaml

    match = FRONT_MATTER.match(text)
    if not match:
        log.warning("%s has no YAML metadata block; the Hub will show a bare card", where)
        return
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" line {mark.line + 2}, column {mark.column + 1}" if mark else ""
        raise UserError(f"{where}{at}: the YAML metadata does not parse ({getattr(err, 'problem', err)}). "
                        "Re-render the card (`nerkit card`) or fix the YAML.") from None
    if not isinstance(meta, dict):
        raise UserError(f"{where}: the YAML metadata must be a mapping (key: value lines), got {type(meta).__name__}.")
