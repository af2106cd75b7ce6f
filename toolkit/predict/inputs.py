"""What `nerkit predict` reads: every input kind becomes one list of `Doc`s, validated before any model work.

Kinds: plain text (one document per line, blank lines kept as empty documents so record i is
line i + 1), JSON Lines with a text field, CoNLL column files (each sentence's tokens joined with
single spaces, as `nerkit evaluate --strategies` joins them; parsed by `toolkit.data.conll`),
`datasets` sources (a `save_to_disk` folder or a Hub dataset id) with a text or tokens column, and
every other file format of the data registry (CSV today), read by its own reader.
Every problem is a `UserError` naming the file and line (or split and row) before anything is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from toolkit.data import conll
from toolkit.data.json_file import json_rows
from toolkit.data.raw import ReadOptions, check_document_id, decode, document_field, read_bytes
from nercore.errors import UserError
from toolkit.predict.input_records import DISK_MARKERS as _DISK_MARKERS, Doc, InputSpec, plain_id as _plain_id

OWN_KINDS = ("text", "jsonl", "conll", "dataset")  # read here: text lines, text fields, token-only CoNLL, datasets
# Data-registry formats that predict reads with its own reader above (it also takes raw text and token-only files).
COVERED = {"conll": "conll", "json": "jsonl"}
_CONLL_EXTENSIONS = (".conll", ".iob", ".tsv")


def formats() -> tuple[str, ...]:
    """`--format` choices: predict's own kinds, then every other file format of the data registry
    (`toolkit.data.registry.READERS`), so a new reader reaches `nerkit predict` with no edit here."""
    from toolkit.data import registry

    return ("auto", *OWN_KINDS, *(r.kind for r in registry.READERS if r.kind not in COVERED))



def detect_format(source: str) -> str:
    """The input kind `--format auto` picks (see `nerkit predict --help`)."""
    path = Path(source)
    if path.is_dir():
        from toolkit.predict.tool_inputs import is_brat_input

        return "brat" if is_brat_input(path) else "dataset"
    if not path.exists():  # a Hub dataset id, unless it looks like a file path (then: "no such file")
        looks_like_file = source.startswith((".", "/", "~")) or source.count("/") > 1 or bool(
            path.suffix.lower() in (".txt", ".jsonl", ".json", *_CONLL_EXTENSIONS))
        return "text" if looks_like_file else "dataset"
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        return "jsonl"
    if suffix in _CONLL_EXTENSIONS:
        return "conll"
    from toolkit.data import registry

    reader = registry.EXTENSIONS.get(suffix)
    if reader is not None and reader.kind not in COVERED:
        return reader.kind
    with open(path, "rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf").lstrip()
    return "conll" if head.startswith(b"-DOCSTART-") else "text"


def read_docs(spec: InputSpec) -> tuple[list[Doc], str]:
    """All documents of the input, in order, and the kind that was read."""
    kind = detect_format(spec.source) if spec.format == "auto" else spec.format
    choices = formats()
    if kind not in choices[1:]:
        raise UserError(f"--format {spec.format!r}: expected one of {', '.join(choices)}.")
    if kind == "dataset":
        return read_dataset(spec), kind
    path = Path(spec.source)
    if kind == "brat":  # every .txt, annotated or not (toolkit.predict.tool_inputs)
        from toolkit.predict.tool_inputs import brat_docs

        return list(brat_docs(path)), kind
    if path.is_dir():
        raise UserError(f"--input {spec.source}: is a folder; --format {kind} reads a file. A folder is read as brat "
                        "(NAME.txt files) or a save_to_disk dataset (--format auto).")
    text = decode(read_bytes(path), path.name)
    if kind == "text":
        return read_text(text), kind
    if kind == "jsonl":
        return read_jsonl(text, path.name, spec), kind
    if kind == "conll":
        return read_conll(text, path.name), kind
    if kind == "label-studio":  # every task, annotated or not: pre-annotation is for the unlabelled ones
        from toolkit.predict.tool_inputs import read_label_studio

        return read_label_studio(text, path.name, spec), kind
    return read_with_registry(kind, text, path.name, spec), kind


def read_with_registry(kind: str, text: str, file: str, spec: InputSpec) -> list[Doc]:
    """A file in one of the data registry's other formats (e.g. CSV): its reader's sentences, tokens joined
    with single spaces; documents kept. The reader checks its own columns (tokens: --tokens-field).
    A span format's records are read as their texts, unchanged, so the offsets index what the tool holds."""
    from toolkit.data import registry

    options = ReadOptions(label_column=spec.label_field, tokens_column=spec.tokens_field, tag_column=-1, delimiter=None,
                          label_names=None, document_column=spec.document_field)
    split = registry.reader_named(kind).read(text, file, options)
    if split.texts is not None:  # a span format (Label Studio, doccano, Prodigy): each record's own text, its id
        ids = split.record_ids or [None] * len(split.texts)
        return [Doc(i, record, _plain_id(ids[i])) for i, record in enumerate(split.texts)]
    documents = split.documents or [None] * len(split.tokens)
    return [Doc(i, " ".join(map(str, tokens)), document=documents[i]) for i, tokens in enumerate(split.tokens)]


def read_text(text: str) -> list[Doc]:
    """One document per line; a final newline does not add an empty document."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [Doc(i, line.removesuffix("\r")) for i, line in enumerate(lines)]


def _text_of(row: dict, spec: InputSpec, where: str) -> str:
    """The row's text: the text field, else the tokens field joined with spaces."""
    if spec.text_field in row:
        value = row[spec.text_field]
        if isinstance(value, str):
            return value
        if isinstance(value, list) and all(isinstance(t, str) for t in value):
            return " ".join(value)
        raise UserError(
            f"{where}: {spec.text_field!r} must be a string (or a list of token strings), found {value!r:.80}. "
            "Fix the value, or name the right field with --text-field."
        )
    if spec.tokens_field in row:
        tokens = row[spec.tokens_field]
        if isinstance(tokens, list) and all(isinstance(t, str) for t in tokens):
            return " ".join(tokens)
        raise UserError(f"{where}: {spec.tokens_field!r} must be a list of token strings, found {tokens!r:.80}.")
    raise UserError(
        f"{where}: no {spec.text_field!r} field (this record has: {', '.join(map(str, row)) or 'nothing'}). "
        f"Name the field that holds the text with --text-field (or the tokens with --tokens-field)."
    )


def read_jsonl(text: str, file: str, spec: InputSpec) -> list[Doc]:
    """JSON Lines (or a JSON list), one object per record; blank lines are skipped (they hold no record).
    A Label Studio file (first row a task or a JSON-MIN row) is read as `--format label-studio`:
    every task, annotated or not (`toolkit.predict.tool_inputs`), what `--to label-studio` pre-annotates."""
    from toolkit.predict.tool_inputs import is_label_studio_task, label_studio_docs

    docs, doc_field = [], None
    rows = json_rows(text, file, locate=lambda n: f"{file}:{n}")
    if rows and is_label_studio_task(rows[0][1], spec):
        return label_studio_docs(rows, file, spec)
    for index, (number, row) in enumerate(rows):
        where = f"{file}:{number}" if number else f"{file} (record {index})"
        if not isinstance(row, dict):
            raise UserError(f'{where}: expected an object like {{"{spec.text_field}": "..."}}, found {row!r:.80}.')
        if index == 0:
            doc_field = document_field(list(row), spec.document_field, file, "--document-field")
        document = check_document_id(row.get(doc_field), where, doc_field) if doc_field else None
        docs.append(Doc(len(docs), _row_text(row, spec, where), _plain_id(row.get(spec.id_field)), document))
    return docs


def read_conll(text: str, file: str) -> list[Doc]:
    """CoNLL column files: one sentence per document, its tokens (column 0) joined with single spaces.

    Files with tag columns go through the training reader (`toolkit.data.conll.read`, which checks
    that every line has the same columns); token-only files (one column) are read by its sentence
    splitter, each line holding exactly one token.
    """
    first = next(conll._conll_blocks(text), None)  # noqa: SLF001 - the data stage's one sentence splitter
    if first is None:
        return []
    _document, block = first
    if len(block[0][1].split()) > 1 or "\t" in block[0][1]:
        options = ReadOptions(label_column="ner_tags", tokens_column="tokens", tag_column=-1, delimiter=None,
                              label_names=None)
        split = conll.read(text, file, options)
        documents = split.documents or [None] * len(split.tokens)
        return [Doc(i, " ".join(tokens), document=documents[i]) for i, tokens in enumerate(split.tokens)]
    docs = []
    marked = "-DOCSTART-" in text
    for document, block in conll._conll_blocks(text):  # noqa: SLF001
        for number, line in block:
            if len(line.split()) != 1:
                raise UserError(
                    f"{file}:{number}: expected one token per line (as on line {first[1][0][0]}, the first token "
                    f"line) but found {line!r}. Token-only CoNLL files hold one token per line and a blank line "
                    "between sentences; for plain text use --format text."
                )
        docs.append(Doc(len(docs), " ".join(line for _number, line in block), document=document if marked else None))
    return docs


def _row_text(row: dict, spec: InputSpec, where: str) -> str:
    """A JSON row's text; a Label Studio task's from its `data` (`tool_inputs.task_text`)."""
    if spec.text_field not in row and isinstance(row.get("data"), dict):
        from toolkit.predict.tool_inputs import task_text

        return task_text(row, spec, where)
    return _text_of(row, spec, where)


def read_dataset(spec: InputSpec) -> list[Doc]:
    """A `save_to_disk` folder or a Hub dataset id: one split, its text column (or tokens joined)."""
    import datasets

    path = Path(spec.source)
    try:
        if path.is_dir():
            if not any((path / marker).is_file() for marker in _DISK_MARKERS):
                raise UserError(
                    f"{spec.source}: a folder, but not one written by datasets' save_to_disk (no "
                    f"{' / '.join(_DISK_MARKERS)}). Pass a text, JSONL or CoNLL file, or a save_to_disk folder."
                )
            loaded = datasets.load_from_disk(str(path))
        else:
            loaded = datasets.load_dataset(spec.source, spec.dataset_config, revision=spec.dataset_revision)
    except (OSError, ValueError, datasets.exceptions.DatasetsError) as err:
        raise UserError(
            f"cannot load dataset {spec.source!r}: it is neither a local file or folder nor reachable on the Hub "
            f"({type(err).__name__}: {err}). Pass an existing file, a save_to_disk folder or a Hub dataset id."
        ) from None
    dataset, split = _one_split(loaded, spec)
    columns = list(dataset.column_names)
    column = spec.text_field if spec.text_field in columns else spec.tokens_field
    if column not in columns:
        raise UserError(
            f"{spec.source} split {split!r}: no {spec.text_field!r} or {spec.tokens_field!r} column; available "
            f"columns: {', '.join(columns)}. Name the text column with --text-field (or --tokens-field)."
        )
    ids = dataset[spec.id_field] if spec.id_field in columns else None
    docs = []
    for index, value in enumerate(dataset[column]):
        row = {column: value}
        docs.append(Doc(index, _text_of(row, spec, f"{spec.source} split {split!r} row {index}"),
                        _plain_id(ids[index]) if ids is not None else None))
    return docs


def _one_split(loaded: Any, spec: InputSpec) -> tuple[Any, str]:
    import datasets

    if not isinstance(loaded, (datasets.DatasetDict, dict)):
        return loaded, spec.split or "train"
    names = list(loaded)
    if spec.split is not None:
        if spec.split not in loaded:
            raise UserError(f"{spec.source}: no split {spec.split!r}; it has {', '.join(names)}. Pick one with --split.")
        return loaded[spec.split], spec.split
    if len(names) == 1:
        return loaded[names[0]], names[0]
    raise UserError(f"{spec.source} has the splits {', '.join(names)}; choose one with --split (e.g. --split {names[-1]}).")


# Streaming: text, JSON Lines and CoNLL files are read record by record, again on every pass, so
# `nerkit predict` holds one chunk of the input at a time whatever the file's size. Other kinds
# (datasets, CSV, span formats, a .json list) are read whole, as before.
STREAMED = ("text", "jsonl", "conll")
CONLL_CHUNK_LINES = 20_000  # a CoNLL chunk ends at a document (or, without -DOCSTART-, a sentence) boundary


class DocStream:
    """The input's records as a re-iterable stream: each `iter()` reads the source again from its start.

    `validate()` is the first pass: it reads (and so checks) every record and counts them; `len()`
    is that count. Records come in input order with `index` = position, as `read_docs` gives them.
    """

    def __init__(self, spec: InputSpec):
        self.spec = spec
        self.kind = detect_format(spec.source) if spec.format == "auto" else spec.format
        choices = formats()
        if self.kind not in choices[1:]:
            raise UserError(f"--format {spec.format!r}: expected one of {', '.join(choices)}.")
        self.count: int | None = None

    @property
    def streamed(self) -> bool:
        path = Path(self.spec.source)
        return self.kind in STREAMED and path.is_file() and not (self.kind == "jsonl" and _starts_list(path))

    def __iter__(self):
        if self.kind == "brat":  # one .txt at a time
            from toolkit.predict.tool_inputs import brat_docs

            yield from brat_docs(Path(self.spec.source))
            return
        if not self.streamed:
            yield from read_docs(self.spec)[0]
            return
        path = Path(self.spec.source)
        if self.kind == "text":
            yield from (Doc(number - 1, line) for number, line in _file_lines(path))
        elif self.kind == "jsonl":
            yield from _stream_jsonl(path, self.spec)
        else:
            yield from _stream_conll(path)

    def validate(self) -> int:
        count = 0
        for count, _doc in enumerate(self, start=1):
            pass
        self.count = count
        return count

    def __len__(self) -> int:
        return self.validate() if self.count is None else self.count


def _starts_list(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4096).lstrip(b"\xef\xbb\xbf").lstrip().startswith(b"[")


def _file_lines(path: Path):
    """(line number, line without its newline) of a UTF-8 file, one at a time; a final newline adds no line."""
    offset = 0
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            data = raw[3:] if number == 1 and raw.startswith(b"\xef\xbb\xbf") else raw
            try:
                line = data.decode("utf-8")
            except UnicodeDecodeError as err:
                raise UserError(
                    f"{path.name} line {number}, byte {err.start + 1} of the line (byte offset {offset + err.start} in "
                    f"the file): {data[err.start:err.end].hex(' ')} is not valid UTF-8. Save the file as UTF-8 (for "
                    f"Latin-1 text: iconv -f latin1 -t utf-8 {path.name} > utf8_{path.name})."
                ) from None
            offset += len(raw)
            yield number, line.removesuffix("\n").removesuffix("\r")


def _stream_jsonl(path: Path, spec: InputSpec):
    """`read_jsonl`, one line at a time (same checks, same messages)."""
    import json

    file, index, doc_field = path.name, 0, None
    for number, line in _file_lines(path):
        if not line.strip():
            continue
        where = f"{file}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise UserError(f"{where} column {err.colno}: not valid JSON ({err.msg}) in {line[:80]!r}; "
                            "JSON Lines files hold one object per line.") from None
        if not isinstance(row, dict):
            raise UserError(f'{where}: expected an object like {{"{spec.text_field}": "..."}}, found {row!r:.80}.')
        if index == 0:
            doc_field = document_field(list(row), spec.document_field, file, "--document-field")
        document = check_document_id(row.get(doc_field), where, doc_field) if doc_field else None
        yield Doc(index, _row_text(row, spec, where), _plain_id(row.get(spec.id_field)), document)
        index += 1


def _conll_chunks(path: Path):
    """(lines before the chunk, chunk text): whole documents (cut before a -DOCSTART- line) or whole sentences."""
    lines: list[str] = []
    before = 0
    for _number, line in _file_lines(path):
        big = len(lines) >= CONLL_CHUNK_LINES
        if big and line.startswith("-DOCSTART-"):
            yield before, "\n".join(lines) + "\n"
            before, lines = before + len(lines), []
        lines.append(line)
        if big and not line.strip() and not any(ln.startswith("-DOCSTART-") for ln in lines[:1]):
            yield before, "\n".join(lines) + "\n"
            before, lines = before + len(lines), []
    if lines:
        yield before, "\n".join(lines) + "\n"


def _stream_conll(path: Path):
    """`read_conll` chunk by chunk: records renumbered across chunks, documents kept apart per chunk,
    line numbers in messages counted from the file's start."""
    import re

    index = 0
    for chunk, (before, text) in enumerate(_conll_chunks(path)):
        try:
            docs = read_conll(text, path.name)
        except UserError as err:
            shift = lambda m: f"{m.group(1)}{int(m.group(2)) + before}"  # noqa: E731
            raise UserError(re.sub(rf"({re.escape(path.name)}:|line )(\d+)", shift, str(err))) from None
        for doc in docs:
            yield Doc(index, doc.text, doc.id, None if doc.document is None else (chunk, doc.document))
            index += 1
