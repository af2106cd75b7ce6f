"""`nerkit predict --to TOOL --resume` after a finished run: nothing to redo.

Why: `--to` predicts into `OUTPUT.records.jsonl` (resumable as any `nerkit predict` output) and
removes it once the tool file is complete, so a `--resume` of a finished run found no records
and predicted everything again. A plain run's `--resume` on a complete output checks its records
against the input and writes nothing; here the tool file itself is checked the same way (the
texts in input order, each record's `nerkit_index`, and for Label Studio the predictions' model
versions, which name the strategies), and a file of another input is refused with the fix.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Iterator, Sequence

from nercore.errors import UserError


def finished_run(config, tool: str, names: Sequence[str], work: Path, data_field: str, model_version: str):
    """`--resume` after a finished `--to` run: the tool file is complete (written whole, renamed when done) and no
    records file of a later run is in progress. Checked against the input as `--resume` checks a plain run's
    records; then nothing is redone. None when there is work to do."""
    import glob
    import time

    from toolkit.predict.inputs import DocStream
    from toolkit.predict.run import PredictSummary

    output = Path(config.output)
    if not output.is_file() or any(output.parent.glob(glob.escape(work.name) + "*")):
        return None
    began = time.perf_counter()
    docs = DocStream(config.input)
    if not docs.validate():
        return None  # predict_corpus says the input is empty
    versions = [model_version] if len(names) == 1 else [f"{model_version} ({name})" for name in names]
    count = 0
    records = _tool_file_records(tool, output, data_field)
    for count, (doc, (text, index, found)) in enumerate(zip(docs, records), start=1):
        problem = (f"its text differs from input record {doc.index} ({str(text)[:40]!r})" if text != doc.text else
                   f"it holds record index {index!r} where input record {doc.index} belongs" if index != doc.index else
                   f"its predictions are {found}, not {versions}" if tool == "label-studio" and found != versions
                   else None)
        if problem:
            raise UserError(f"{output.name} record {count}: {problem}, so it was written for another input, model or "
                            f"--strategies. Run without --resume to write it again, or choose another --output.")
    total = sum(1 for _ in _tool_file_records(tool, output, data_field)) if count == len(docs) else count
    if total != len(docs):
        raise UserError(f"{output.name}: holds {total} records but the input has {len(docs)}; it was written for "
                        "another input. Run without --resume to write it again, or choose another --output.")
    from toolkit.runtime import is_main_process

    if is_main_process():
        print(f"nerkit predict --resume: {output} already holds all {len(docs)} records of this input; nothing to redo.",
              file=sys.stderr, flush=True)
    return PredictSummary(output, docs.kind, tuple(names), len(docs), 0, time.perf_counter() - began)


def _tool_file_records(tool: str, path: Path, data_field: str = "text") -> Iterator[tuple[str, Any, Any]]:
    """(text, nerkit_index, model versions) of each record of a file `write_tool_file` wrote (one JSON value a
    line; a Label Studio file edited into another JSON layout is read as one JSON list)."""
    def fields(record: Any) -> tuple[str, Any, Any]:
        if not isinstance(record, dict):
            raise UserError(f"{path.name}: holds {record!r:.60}, not a {tool} record; run without --resume.")
        meta = record if tool == "doccano" else record.get("meta") or {}
        text = (record.get("data") or {}).get(data_field) if tool == "label-studio" else record.get("text")
        versions = [p.get("model_version") for p in record.get("predictions") or [] if isinstance(p, dict)]
        return text, meta.get("nerkit_index"), versions

    try:
        with open(path, encoding="utf-8") as handle:
            lines = [line.strip().removesuffix(",") for line in handle]
            records = [json.loads(line) for line in lines if line and line not in ("[", "]")]
    except (json.JSONDecodeError, UnicodeDecodeError):
        try:
            records = json.loads(path.read_text(encoding="utf-8")) if tool == "label-studio" else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            records = None
        if not isinstance(records, list):
            raise UserError(f"{path.name}: not a {tool} file nerkit can read back; run without --resume to write "
                            "it again.") from None
    for record in records:
        yield fields(record)


__all__ = ["finished_run"]
