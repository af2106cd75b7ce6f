"""The JSONL that `nerkit predict` writes: one record per input document, resumable, merged in input order.

A record is `{"index": i, "id": ..., "text": ..., "entities": {strategy: [span, ...]}}` (`id` only
when the input has one); spans are the pipeline's dicts with plain Python values. Records are
appended to a `.partial` file, flushed chunk by chunk, and the file is renamed to its final name
only when complete, so the output path never holds half a result. `--resume` re-reads a partial
(or finished) file, drops a truncated last line, checks every record against the input (index and
text, same strategies) and continues after the last good one.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from nercore.errors import UserError
from toolkit.predict.inputs import Doc


def plain(value: Any) -> Any:
    """`value` with numpy scalars (np.float32 scores, np.int64 offsets) turned into Python numbers."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    item = getattr(value, "item", None)  # numpy scalars and 0-d arrays
    if callable(item) and type(value) not in (str, int, float, bool):  # np.float64 subclasses float: convert too
        value = item()
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN; a NaN score (broken weights) must not stop a long run
    return value


def make_record(doc: Doc, entities: Mapping[str, Sequence[Mapping]]) -> dict:
    record: dict[str, Any] = {"index": doc.index}
    if doc.id is not None:
        record["id"] = doc.id
    record["text"] = doc.text
    record["entities"] = {name: plain(list(spans)) for name, spans in entities.items()}
    return record


def record_line(record: Mapping) -> str:
    return json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n"


def _complete_end(path: Path) -> int:
    """The byte length of `path`'s complete lines (a last line without a newline is not one), read from the end."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        end = size
        while end > 0:
            start = max(0, end - 65536)
            handle.seek(start)
            block = handle.read(end - start)
            found = block.rfind(b"\n")
            if found >= 0:
                return start + found + 1
            end = start
    return 0


def _good_lines(path: Path, end: int):
    """The complete lines of `path` (up to byte `end`), one at a time."""
    with open(path, "rb") as handle:
        read = 0
        for line in handle:
            if read >= end:
                return
            read += len(line)
            yield line.rstrip(b"\n")


def verified_records(path: Path, docs: Sequence[Doc], strategies: Iterable[str], *, repair: bool = True) -> int:
    """How many leading records of `path` are this run's (records j = docs[j]); repairs a truncated last line.

    Raises a UserError naming `file:line` when a record is not valid JSON or belongs to another
    input or other strategies: resuming then would mix two runs in one file.
    """
    end = _complete_end(path)
    if repair and end < path.stat().st_size:
        with open(path, "r+b") as handle:  # an interrupted write: drop the partial last line
            handle.truncate(end)
    wanted = set(strategies)
    number = 0
    records = iter(docs)  # streamed: neither the file nor the input is held whole
    for number, line in enumerate(_good_lines(path, end), start=1):
        doc = next(records, None)
        if doc is None:
            total = sum(1 for _ in _good_lines(path, end))
            raise UserError(
                f"{path.name}: holds {total} records but the input has only {number - 1}; it was written for another "
                "input. Remove it (or choose another --output), or run without --resume to overwrite it."
            )
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise UserError(f"{path.name}:{number}: not a JSON record ({err}); run without --resume to start over.") from None
        problem = _mismatch(record, doc, wanted)
        if problem:
            raise UserError(
                f"{path.name}:{number}: {problem}, so the file was written for another input or other --strategies. "
                "Run without --resume to start over, or pass the same input and flags as before."
            )
    return number


def _mismatch(record: Any, doc: Doc, strategies: set[str]) -> str | None:
    if not isinstance(record, dict) or not isinstance(record.get("entities"), dict):
        return "not a nerkit predict record"
    if record.get("index") != doc.index:
        return f"holds record index {record.get('index')!r} where input record {doc.index} belongs"
    if record.get("text") != doc.text:
        return f"its text differs from input record {doc.index} ({str(record.get('text'))[:40]!r})"
    if set(record["entities"]) != strategies:
        return f"it has the strategies {', '.join(record['entities'])}, not {', '.join(sorted(strategies))}"
    return None


class ShardFiles:
    """A shard's `.partial` file (being written) and its final path (complete). One process: the output itself."""

    def __init__(self, output: Path, rank: int = 0, world: int = 1, fingerprint: str = ""):
        output = Path(output)
        self.is_shard = world > 1
        if self.is_shard:
            self.final = output.with_name(f"{output.name}.{fingerprint}.rank{rank}-of-{world}.jsonl")
        else:
            self.final = output
        self.partial = self.final.with_name(self.final.name + ".partial")

    def start(self, docs: Sequence[Doc], strategies: Sequence[str], resume: bool) -> int:
        """Records already done (0 unless resuming); leaves `.partial` ready for appending."""
        if not resume:  # an old output stays until the new one is complete; an old shard goes now
            self.partial.unlink(missing_ok=True)
            if self.is_shard:
                self.final.unlink(missing_ok=True)
            return 0
        if self.final.exists():
            done = verified_records(self.final, docs, strategies)
            if done == len(docs):
                return done
            os.replace(self.final, self.partial)  # the input grew since: continue after its records
        return verified_records(self.partial, docs, strategies) if self.partial.exists() else 0

    def finish(self) -> None:
        if self.partial.exists() or not self.final.exists():
            self.partial.touch()
            os.replace(self.partial, self.final)


def merge_shards(shards: Sequence[Path], docs: Iterable[Doc], output: Path, owners: Iterable[int] | None = None) -> None:
    """Interleave the shards' records back into input order (the k-th record of `docs` sits in shard
    `owners`' k-th value, by default index % world) as `output`; streamed, one line at a time."""
    world = len(shards)
    target = ShardFiles(output)
    handles = [open(path, "rb") for path in shards]
    try:
        with open(target.partial, "wb") as out:
            docs = iter(docs)
            owners = iter(owners) if owners is not None else None
            for doc in docs:
                owner = next(owners) if owners is not None else doc.index % world
                line = handles[owner].readline()
                record = json.loads(line) if line.endswith(b"\n") else None
                if not record or record.get("index") != doc.index or record.get("text") != doc.text:
                    raise RuntimeError(f"{shards[owner].name}: no complete record {doc.index} to merge")
                out.write(line)
        os.replace(target.partial, output)
    finally:
        for handle in handles:
            handle.close()
        target.partial.unlink(missing_ok=True)
