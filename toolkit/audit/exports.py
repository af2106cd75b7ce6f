"""The suspects, back to the annotation tool (`nerkit audit --to`), through `toolkit.predict.annotation_tools`.

Each suspect sentence becomes one task whose text is its words joined with single spaces:
- Label Studio: the given labels as the task's annotation and the model's labels as its
  prediction (scored with the model's probability, least sure region first in the Data Manager),
  so the reviewer sees both and keeps or fixes the annotation;
- doccano and Prodigy hold one set of spans per text: the given labels, with the model's labels,
  the suspect words and the rank in the record's metadata.
The metadata carries `split`, `sentence_index`, `line` and `rank`, to find the sentence again.
"""

from __future__ import annotations

from pathlib import Path

from nercore.tags import entity_spans
from toolkit.audit.records import AUDIT_FILE, AuditRow

MODEL_VERSION = "nerkit audit"


def export_path(out: Path, tool: str) -> Path:
    from toolkit.predict.annotation_tools import SUFFIXES

    return Path(out) / f"{Path(AUDIT_FILE).stem}.{tool}{SUFFIXES[tool]}"


def word_offsets(tokens: list[str]) -> list[tuple[int, int]]:
    """Each word's (start, end) in the words joined with single spaces."""
    offsets, start = [], 0
    for token in tokens:
        offsets.append((start, start + len(token)))
        start += len(token) + 1
    return offsets


def regions(tokens: list[str], tags: list[str | None], scores: list[float] | None = None) -> list[tuple]:
    """Character regions (start, end, TYPE[, score]) of the entities in `tags` (None reads as O)."""
    offsets = word_offsets(tokens)
    found = []
    for kind, first, end in entity_spans([tag or "O" for tag in tags]):
        region = (offsets[first][0], offsets[end - 1][1], kind)
        found.append((*region, min(scores[first:end])) if scores is not None else region)
    return found


def _meta(row: AuditRow) -> dict:
    return {"split": row.split, "sentence_index": row.sentence_index, "line": row.line, "rank": row.rank,
            "score": round(row.score, 6), "suspects": [
                {key: issue[key] for key in ("token", "given", "predicted", "probability", "kind")}
                for issue in row.issues]}


def tool_records(tool: str, rows: list[AuditRow], probabilities: dict[int, list[float]]) -> list[dict]:
    """One import record per suspect sentence; `probabilities[sentence_index]`: the model's probability of
    its own label, per word (used as the prediction's region scores)."""
    from toolkit.predict.annotation_tools import doccano_record, label_studio_task, prodigy_task

    records = []
    for row in rows:
        text = " ".join(row.tokens)
        given = regions(row.tokens, row.given)
        meta = _meta(row)
        if tool == "label-studio":
            scores = probabilities.get(row.sentence_index)
            scores = None if scores is None else list(scores) + [1.0] * (len(row.tokens) - len(scores))
            predicted = regions(row.tokens, row.predicted, scores)
            records.append(label_studio_task(text, annotations=given, predictions=predicted,
                                             model_version=MODEL_VERSION, meta=meta))
        elif tool == "doccano":
            records.append(doccano_record(text, given, meta={"nerkit_audit": meta}))
        else:
            records.append(prodigy_task(text, given, meta={**meta, "marked": row.marked}))
    return records


def export_text(tool: str, rows: list[AuditRow], probabilities: dict[int, list[float]]) -> str:
    from toolkit.predict.annotation_tools import tool_lines

    return "".join(tool_lines(tool, tool_records(tool, rows, probabilities)))


def check_tools(tools: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The `--to` choices, checked against the annotation-tool writers."""
    from nercore.errors import UserError
    from toolkit.predict.annotation_tools import TOOLS

    unknown = [tool for tool in tools if tool not in TOOLS]
    if unknown:
        raise UserError(f"--to {unknown[0]!r}: expected one of {', '.join(TOOLS)}.")
    return tuple(dict.fromkeys(tools))
