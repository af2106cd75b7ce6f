"""`nerkit predict`: a model over a whole corpus, every chosen strategy from one forward pass per text.

Order of work, in memory that does not grow with the input (`toolkit.predict.inputs.DocStream`):
a first streaming pass reads and checks every record (a bad line, even the last, stops here,
before any file is written), then the model is loaded and a second pass runs the Space's engine
(`nercore.engine.predict_all_batch`: padded, length-sorted batches, long texts in overlapping
windows) chunk by chunk, one document at a time kept whole, appending records to a `.partial`
file that becomes the output when complete.

Under `torchrun`/`accelerate launch` (WORLD_SIZE > 1) every process streams the input, keeps the
records of its own documents (round-robin by document, `shard_owners`), and writes them to its own
shard file; rank 0 then waits for every shard and merges them, streaming, into the output in input
order. No process group is needed: the shards meet on the file system (shared by every node),
named by a fingerprint of the run (model, flags, input texts), so shards of another run are never
merged.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from nercore.backends import table as backend_table
from nercore.documents import join_sentences, split_entities
from nercore.errors import UserError
from nercore.strategies import recommendable
from nercore.thresholds import check_min_score, keep_whole
from toolkit.predict.inputs import Doc, DocStream, InputSpec
from toolkit.predict.output import ShardFiles, make_record, merge_shards, record_line, verified_records
from toolkit.runtime import process_rank

DEFAULT_STRATEGY = recommendable()[0]  # the best whole-word pipeline strategy of the table


@dataclass(frozen=True)
class PredictConfig:
    """Everything one `nerkit predict` run needs; `check()` validates the flags before any work."""

    model: str
    input: InputSpec
    output: Path
    strategies: str | None = DEFAULT_STRATEGY  # a name, "a,b", or "all"/None for every registered strategy
    batch_size: int = 32
    stride: int | None = None  # window overlap in tokens; default a quarter window
    max_length: int | None = None  # window length cap in tokens; default the model's limit
    device: str = "auto"
    backend: str = "torch"
    revision: str | None = None
    resume: bool = False
    progress: bool = True
    min_score: float | None = None  # keep only entities scored at least this (nercore.thresholds)
    poll_s: float = 0.2  # rank 0's wait between looks for the other shards

    def check(self) -> tuple[str, ...]:
        """The canonical strategy names; a UserError for any bad flag."""
        from toolkit.model_loading import check_strategies

        names = check_strategies(self.strategies)
        if self.batch_size < 1:
            raise UserError(f"--batch-size {self.batch_size}: expected a positive number of windows per forward pass.")
        if self.max_length is not None and self.max_length < 8:
            raise UserError(f"--max-length {self.max_length}: expected at least 8 tokens per window.")
        if self.backend not in backend_table.names():
            raise UserError(f"--backend {self.backend!r}: expected one of {', '.join(backend_table.names())}.")
        try:
            check_min_score(self.min_score)
        except ValueError as err:
            raise UserError(f"--min-score {self.min_score}: {err}".replace("min_score must be", "expected")) from None
        source = Path(self.input.source)
        if source.exists() and source.resolve() == Path(self.output).resolve():
            raise UserError(f"--output {self.output}: is the input file; write the predictions to another file.")
        if Path(self.output).is_dir():
            raise UserError(f"--output {self.output}: is a folder; name the JSONL file to write, e.g. {self.output}/predictions.jsonl.")
        return names


@dataclass
class PredictSummary:
    output: Path
    kind: str  # the input kind read
    strategies: tuple[str, ...]
    records: int  # records in the input
    written: int | None  # records this run predicted (None: several processes, each counted its own)
    seconds: float
    world: int = 1
    rank: int = 0

    def text(self) -> str:
        new = self.records if self.written is None else self.written
        rate = f", {new / self.seconds:.1f} records/s" if new and self.seconds > 0 else ""
        resumed = f" ({self.records - new} already there)" if new < self.records else ""
        procs = f" by {self.world} processes" if self.world > 1 else ""
        return (f"wrote {self.records} records ({self.kind} input; strategies: {', '.join(self.strategies)}) to "
                f"{self.output}{resumed}{procs}{rate}")


def world_size(environ=None) -> int:
    environ = os.environ if environ is None else environ
    value = str(environ.get("WORLD_SIZE", "")).strip() or "1"
    try:
        return max(1, int(value))
    except ValueError:
        raise UserError(f"environment variable WORLD_SIZE={value!r}: expected the number of processes") from None


def fingerprint(config: PredictConfig, names: Sequence[str], docs: Iterable[Doc]) -> str:
    """The same on every rank of one run, different for another model, flag set or input."""
    digest = hashlib.sha256()
    for part in (config.model, config.revision, config.backend, ",".join(names), config.stride, config.max_length):
        digest.update(f"{part}\x1f".encode())
    for doc in docs:
        digest.update(doc.text.encode("utf-8", "surrogatepass") + b"\x1e")
    return digest.hexdigest()[:12]


def predict_corpus(config: PredictConfig) -> PredictSummary:
    """Run the model over the input and write the JSONL (see the module docstring)."""
    began = time.perf_counter()
    names = config.check()
    docs = DocStream(config.input)
    kind = docs.kind
    if not docs.validate():  # the first pass: every record read and checked before anything is written
        raise UserError(f"{config.input.source}: holds no documents; nothing to predict.")
    output = Path(config.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    rank, world = process_rank(), world_size()
    if world > 1 and config.resume and output.exists() and verified_records(output, docs, names, repair=False) == len(docs):
        return PredictSummary(output, kind, names, len(docs), 0, time.perf_counter() - began, world, rank)
    shard = Shard(docs, rank, world)
    run_id = fingerprint(config, names, docs) if world > 1 else ""
    files = ShardFiles(output, rank, world, run_id)
    done = files.start(shard, names, config.resume)
    written = len(shard) - done
    if written:
        pipe = load_pipeline(config, names, rank, world)
        _predict_into(pipe, shard, names, files.partial, config, done=done, rank=rank)
    files.finish()
    if world > 1:
        if rank != 0:
            return PredictSummary(files.final, kind, names, len(shard), written, time.perf_counter() - began, world, rank)
        shards = [ShardFiles(output, r, world, run_id).final for r in range(world)]
        _wait_for(shards, config.poll_s)
        merge_shards(shards, docs, output, shard_owners(docs, world))
        for path in shards:
            path.unlink(missing_ok=True)
        return PredictSummary(output, kind, names, len(docs), None, time.perf_counter() - began, world)
    return PredictSummary(output, kind, names, len(docs), written, time.perf_counter() - began)


def _wait_for(paths: Sequence[Path], poll_s: float) -> None:
    """Rank 0 waits until every shard is complete (a failed rank stops the launcher, which stops this one)."""
    while not all(path.exists() for path in paths):
        time.sleep(poll_s)


def shard_owners(docs: Iterable[Doc], world: int) -> Iterator[int]:
    """The rank that predicts each record, streamed: whole documents round-robin (a sentence needs its
    neighbours), records without a document one by one (`nercore.documents.document_groups`' runs)."""
    for number, group in enumerate(document_runs(docs)):
        for _doc in group:
            yield number % world


def document_runs(docs: Iterable[Doc]) -> Iterator[list[Doc]]:
    """Consecutive records of one document as one list (records without a document alone), streamed."""
    group: list[Doc] = []
    for doc in docs:
        if group and (doc.document is None or doc.document != group[-1].document):
            yield group
            group = []
        group.append(doc)
    if group:
        yield group


class Shard:
    """This rank's records of a `DocStream`, re-iterable; positions in the shard replace input indices for resume."""

    def __init__(self, docs: DocStream, rank: int, world: int):
        self.docs, self.rank, self.world = docs, rank, world
        self._count: int | None = None

    def __iter__(self) -> Iterator[Doc]:
        if self.world == 1:
            yield from self.docs
            return
        for doc, owner in zip(self.docs, shard_owners(self.docs, self.world)):
            if owner == self.rank:
                yield doc

    def __len__(self) -> int:
        if self._count is None:
            self._count = len(self.docs) if self.world == 1 else sum(1 for _ in self)
        return self._count


def _predict_into(pipe: Any, shard: Iterable[Doc], names: Sequence[str], path: Path, config: PredictConfig, *,
                  done: int, rank: int) -> None:
    """Predict `shard[done:]` chunk by chunk, appending their records to `path` and flushing after each chunk.

    A document's sentences are joined and run as one text (nercore.documents), so each sentence is
    read in its document's context; after a resume, the sentences already written still give context.
    """
    from tqdm.auto import tqdm

    from nercore.engine import predict_all_batch

    chunk = max(64, 16 * config.batch_size)  # the engine sorts by length within a chunk; resume keeps whole chunks
    desc = "predict" if rank == 0 else f"predict (rank {rank})"
    total = len(shard) if hasattr(shard, "__len__") else None
    with tqdm(total=total, initial=done, desc=desc, unit="doc", disable=not config.progress, position=rank) as bar, \
            open(path, "a", encoding="utf-8", newline="\n") as out:
        for part in _chunks(_positioned_runs(shard, done), chunk):
            joined = [join_sentences([doc.text for _, doc in group]) for group in part]
            outputs = predict_all_batch(pipe, [text for text, _ in joined], names, config.batch_size,
                                        stride=config.stride, max_chars=None)
            outputs = [{s: keep_whole(found, config.min_score, text) for s, found in o.items()}
                       for o, (text, _) in zip(outputs, joined)]
            lines = []
            for group, (_, starts), found in zip(part, joined, outputs):
                texts = [doc.text for _, doc in group]
                per_sentence = [found] if len(group) == 1 else split_entities(found, texts, starts)
                lines += [record_line(make_record(doc, o)) for (i, doc), o in zip(group, per_sentence) if i >= done]
            out.write("".join(lines))
            out.flush()
            bar.update(len(lines))


def _positioned_runs(shard: Iterable[Doc], done: int) -> Iterator[list[tuple[int, Doc]]]:
    """(position in the shard, record) per document run, from the first run not wholly among the `done` ones;
    a run already begun keeps its written sentences, for context."""
    group: list[tuple[int, Doc]] = []
    for position, doc in enumerate(shard):
        if group and (doc.document is None or doc.document != group[-1][1].document):
            if group[-1][0] >= done:
                yield group
            group = []
        group.append((position, doc))
    if group and group[-1][0] >= done:
        yield group


def _chunks(runs: Iterable[list], size: int) -> Iterator[list[list]]:
    part: list[list] = []
    for run in runs:
        part.append(run)
        if len(part) == size:
            yield part
            part = []
    if part:
        yield part


def _device(preference: str, rank: int, world: int) -> str:
    from nercore.device import DeviceError, select_device

    try:
        kind = select_device(preference, half_precision=False).kind
    except DeviceError as err:
        raise UserError(f"--device {preference}: {err}".replace("NER_DEVICE", "--device")) from None
    if kind == "cuda" and world > 1:
        import torch

        local = int(os.environ.get("LOCAL_RANK", rank) or 0)
        return f"cuda:{local % max(1, torch.cuda.device_count())}"
    return kind


def load_model_for(config: PredictConfig, device: str):
    """The model on `device` with the run's revision and backend (`toolkit.model_loading.load_model`)."""
    from toolkit.model_loading import load_model

    return load_model(config.model, revision=config.revision, device=device, backend=config.backend)


def load_pipeline(config: PredictConfig, names: Sequence[str], rank: int = 0, world: int = 1):
    """The model's token-classification pipeline, checked by one tiny engine call (fast tokenizer, stride)."""
    from transformers import AutoTokenizer

    from nercore.engine import predict_all_batch
    from toolkit.alignment import check_fast
    from toolkit.model_loading import build_pipeline

    model = load_model_for(config, _device(config.device, rank, world))
    try:  # the tokenizer exactly as a user's pipeline loads it
        tokenizer = AutoTokenizer.from_pretrained(config.model, revision=config.revision)
    except (OSError, ValueError) as err:
        raise UserError(f"could not load a tokenizer from {config.model!r}: {err}") from err
    check_fast(tokenizer, config.model)
    pipe = build_pipeline(model, tokenizer, max_length=config.max_length)
    try:
        predict_all_batch(pipe, ["a"], names, 1, stride=config.stride, max_chars=None)
    except ValueError as err:
        flag = "--stride" if "stride" in str(err) else "--model"
        raise UserError(f"{flag}: {err}") from None
    return pipe
