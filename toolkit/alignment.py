"""Turn word-level tags into sub-token labels the model trains on.

Datasets label words; models predict sub-tokens. This stage tokenises pre-split words
(`is_split_into_words=True`), uses `word_ids()` to map every sub-token back to its word,
and labels either the first sub-token of each word (default: the other pieces get -100
and are ignored by the loss) or all of them (continuations turn B-X into I-X).

Character-span data (annotation-tool exports, toolkit/span_alignment.py) keeps each sentence's raw
text and its words' offsets: there the text itself is tokenized, exactly as the pipeline will tokenize
it at inference, and each sub-token's word comes from its character offsets (`offset_word_ids`).

Truncation by `max_length` drops words from the end of long sentences. They are counted
and reported here, and evaluation scores them as predicted `O`, so no word disappears
silently from a metric.
"""

from __future__ import annotations

import bisect
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from nercore.context import Specials, build_windows
from nercore.tags import continuation_label
from nercore.errors import UserError
from toolkit.labels import DOCUMENT_COLUMN, OFFSETS_COLUMN, TEXT_COLUMN

logger = logging.getLogger("toolkit")

IGNORE_INDEX = -100
LABEL_STRATEGIES = ("first", "all")


@dataclass
class AlignmentStats:
    """How many words the tokenizer could not represent within `max_length`."""

    sentences: int = 0
    words: int = 0
    truncated_words: int = 0
    truncated_sentences: int = 0

    def count(self, n_words: int, word_ids: list[int | None]) -> None:
        """One sentence whose kept sub-tokens map to `word_ids`: words past the last one were cut."""
        cut = cut_words(n_words, word_ids)
        self.sentences += 1
        self.words += n_words
        if cut > 0:
            self.truncated_words += cut
            self.truncated_sentences += 1

    def add(self, other: "AlignmentStats") -> None:
        self.sentences += other.sentences
        self.words += other.words
        self.truncated_words += other.truncated_words
        self.truncated_sentences += other.truncated_sentences


def cut_words(n_words: int, word_ids: list[int | None]) -> int:
    """Words of a sentence past the last one its kept sub-tokens map to (cut by truncation)."""
    present = [w for w in word_ids if w is not None]
    return max(0, n_words - 1 - (max(present) if present else -1))


def is_byte_level(tokenizer) -> bool:
    """Byte-level BPE (RoBERTa, GPT-2, DeBERTa v1) needs `add_prefix_space=True` for split words."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return False
    pre_tokenizer = json.loads(backend.to_str()).get("pre_tokenizer") or {}
    return "ByteLevel" in json.dumps(pre_tokenizer)


def load_tokenizer(name_or_path: str, *, revision: str | None = None):
    """Load a fast tokenizer ready for pre-split words, or explain why it cannot be used."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, revision=revision)
    except OSError as err:
        raise UserError(
            f"could not load a tokenizer from {name_or_path!r}: {err}\n"
            "Pass a local model folder or a Hub model id you can reach."
        ) from err
    check_fast(tokenizer, name_or_path)
    if is_byte_level(tokenizer) and not getattr(tokenizer, "add_prefix_space", False):
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, revision=revision, add_prefix_space=True)
    return tokenizer


def check_fast(tokenizer, name: str) -> None:
    if not getattr(tokenizer, "is_fast", False):
        raise UserError(
            f"the tokenizer of {name!r} is a slow (Python) tokenizer ({type(tokenizer).__name__}); "
            "label alignment needs `word_ids()`, which only fast tokenizers provide. "
            "Use a model that ships a tokenizer.json, or convert it with `tokenizers`."
        )


def continuation_map(labels: list[str]) -> dict[int, int]:
    """Label id of B-X -> label id of I-X, for labelling continuation sub-tokens."""
    index = {label: i for i, label in enumerate(labels)}
    continued = {i: continuation_label(label) for i, label in enumerate(labels)}
    return {i: index[label] for i, label in continued.items() if label != labels[i] and label in index}


def align_batch(
    tokenizer,
    tokens: list[list[str]],
    tags: list[list[int]] | None,
    *,
    strategy: str = "first",
    max_length: int | None = None,
    continuation: dict[int, int] | None = None,
    with_word_ids: bool = False,
    texts: list[str] | None = None,
    word_offsets: list[list] | None = None,
) -> tuple[dict, AlignmentStats]:
    """Tokenise a batch of pre-split sentences and align their tag ids to sub-tokens.

    Returns the tokenizer's encoding (as lists) with a `labels` column when `tags` is given,
    and the truncation statistics of the batch. With `texts` and `word_offsets` (character-span
    data: each sentence's raw text and its words' offsets in it), the raw text is tokenized, as
    the pipeline tokenizes it at inference, and each sub-token belongs to the word its offsets
    start in (`offset_word_ids`).
    """
    if strategy not in LABEL_STRATEGIES:
        raise UserError(f"label strategy must be one of {LABEL_STRATEGIES}, got {strategy!r}")
    check_fast(tokenizer, getattr(tokenizer, "name_or_path", "tokenizer"))
    if texts is not None:
        encoding = tokenizer(texts, truncation=max_length is not None, max_length=max_length,
                             return_offsets_mapping=True)
        raw_ids = [offset_word_ids(o, w) for o, w in zip(encoding.pop("offset_mapping"), word_offsets)]
    else:
        encoding = tokenizer(
            tokens,
            is_split_into_words=True,
            truncation=max_length is not None,
            max_length=max_length,
        )
        raw_ids = None
    stats = AlignmentStats()
    all_labels = []
    all_word_ids = []
    for row, words in enumerate(tokens):
        word_ids = raw_ids[row] if raw_ids is not None else encoding.word_ids(row)
        all_word_ids.append(word_ids)
        stats.count(len(words), word_ids)
        if tags is not None:
            all_labels.append(word_labels(word_ids, tags[row], strategy, continuation))
    result = {key: value for key, value in encoding.items()}
    if tags is not None:
        result["labels"] = all_labels
    if with_word_ids:
        result["word_ids"] = all_word_ids
    return result, stats


def offset_word_ids(offsets: list, words: list) -> list[int | None]:
    """Each sub-token's word from character offsets: the word its first non-space character falls in.

    Special tokens (empty offsets) and sub-tokens of whitespace only get None; a sub-token that
    starts in one word and runs into the next belongs to the first (the next word then has no
    first sub-token, like a word cut by truncation).
    """
    starts = [start for start, _ in words]
    out: list[int | None] = []
    for start, end in offsets:
        w = bisect.bisect_right(starts, start) - 1 if start < end else -1
        if w >= 0 and start >= words[w][1]:  # in the gap after word w: the next word, if the piece reaches it
            w = w + 1 if w + 1 < len(words) and words[w + 1][0] < end else -1
        elif w < 0 and start < end and words and words[0][0] < end:
            w = 0
        out.append(w if w >= 0 else None)
    return out


def word_labels(word_ids: list[int | None], sentence_tags: list[int], strategy: str, continuation: dict | None) -> list[int]:
    """Sub-token labels: a word's tag on its first piece; the others IGNORE_INDEX, or (strategy "all") I-X."""
    labels = []
    previous = None
    for word_id in word_ids:
        if word_id is None:
            labels.append(IGNORE_INDEX)
        elif word_id != previous:
            labels.append(sentence_tags[word_id])
        elif strategy == "all":
            tag = sentence_tags[word_id]
            labels.append((continuation or {}).get(tag, tag))
        else:
            labels.append(IGNORE_INDEX)
        previous = word_id
    return labels


def encode_with_context(
    tokenizer,
    tokens: list[list[str]],
    documents: list | None,
    *,
    context_tokens: int,
    max_length: int,
    tags: list[list[int]] | None = None,
    strategy: str = "first",
    continuation: dict[int, int] | None = None,
    texts: list[str] | None = None,
    word_offsets: list[list] | None = None,
) -> tuple[dict, AlignmentStats]:
    """Like `align_batch` (`texts`/`word_offsets` too), with each sentence inside up to `context_tokens` sub-tokens of its document per side.

    Context positions are labelled IGNORE_INDEX; `word_ids` are None there, so nothing downstream
    reads a prediction for a context sub-token. Also returns `sentence_start`/`sentence_length`
    per row (where the sentence sits), which context dropout needs.
    """
    check_fast(tokenizer, getattr(tokenizer, "name_or_path", "tokenizer"))
    specials = Specials.of(tokenizer)
    if texts is not None:  # character-span data: the raw text, words found by offsets (see align_batch)
        plain = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True)
        raw_ids = [offset_word_ids(o, w) for o, w in zip(plain.pop("offset_mapping"), word_offsets)]
    else:
        plain = tokenizer(tokens, is_split_into_words=True, add_special_tokens=False)
        raw_ids = None
    windows = build_windows(
        plain["input_ids"], documents, tokens=context_tokens, max_length=max_length, specials=specials
    )
    stats = AlignmentStats()
    result: dict[str, list] = {"input_ids": [], "attention_mask": [], "word_ids": [], "sentence_start": [],
                               "sentence_length": []}
    with_types = "token_type_ids" in getattr(tokenizer, "model_input_names", ())
    if with_types:
        result["token_type_ids"] = []
    if tags is not None:
        result["labels"] = []
    for row, window in enumerate(windows):
        own = (raw_ids[row] if raw_ids is not None else plain.word_ids(row))[: window.length]
        stats.count(len(tokens[row]), own)
        after = len(window.input_ids) - window.start - window.length
        word_ids = [None] * window.start + own + [None] * after
        result["input_ids"].append(window.input_ids)
        result["attention_mask"].append([1] * len(window.input_ids))
        result["word_ids"].append(word_ids)
        result["sentence_start"].append(window.start)
        result["sentence_length"].append(window.length)
        if with_types:
            result["token_type_ids"].append([0] * len(window.input_ids))
        if tags is not None:
            result["labels"].append(word_labels(word_ids, tags[row], strategy, continuation))
    return result, stats


def tokenize_dataset(
    dataset,
    tokenizer,
    labels: list[str],
    *,
    strategy: str,
    max_length: int | None,
    desc: str,
    context_tokens: int = 0,
    keep_positions: bool = False,
    cache_dir=None,
):
    """Map a `tokens`/`tags` Dataset to model inputs; returns (dataset, AlignmentStats).

    With `context_tokens` and a `document` column, each sentence is encoded inside its document
    (`encode_with_context`); `keep_positions` keeps the sentence's place for context dropout.
    With `cache_dir` the result is an Arrow file there, memory-mapped, named by the fingerprint of
    the input rows, the tokenizer, the labels and the settings (`tokenized_fingerprint`): a rerun on
    the same data reads it instead of tokenizing again. The statistics come from the table's own
    columns, so a cached table gives the same as a fresh one.
    """
    continuation = continuation_map(labels)
    in_context = bool(context_tokens) and DOCUMENT_COLUMN in dataset.column_names

    def _map(batch):
        if in_context:
            encoded, _ = encode_with_context(
                tokenizer, batch["tokens"], batch[DOCUMENT_COLUMN], context_tokens=context_tokens,
                max_length=max_length or 512, tags=batch["tags"], strategy=strategy, continuation=continuation,
                **_raw_text(batch),
            )
            if not keep_positions:
                del encoded["sentence_start"], encoded["sentence_length"]
        else:
            encoded, _ = align_batch(tokenizer, batch["tokens"], batch["tags"], strategy=strategy, max_length=max_length,
                                     continuation=continuation, with_word_ids=True, **_raw_text(batch))
        word_ids = encoded.pop("word_ids")
        encoded["length"] = [len(ids) for ids in encoded["input_ids"]]
        encoded[_WORDS] = [len(words) for words in batch["tokens"]]
        encoded[_CUT] = [cut_words(len(words), ids) for words, ids in zip(batch["tokens"], word_ids)]
        return encoded

    settings = (strategy, max_length, context_tokens if in_context else 0, keep_positions and in_context)
    if in_context:  # whole documents per map call, so every sentence sees the context it would see in one call
        import datasets

        pieces = [_map_rows(dataset.select(range(a, b)), _map, desc, cache_dir, (tokenizer, labels, settings, a, b),
                            batch_size=None) for a, b in document_pieces(dataset)]
        mapped = datasets.concatenate_datasets(pieces) if len(pieces) > 1 else pieces[0]
    else:
        mapped = _map_rows(dataset, _map, desc, cache_dir, (tokenizer, labels, settings))
    stats = _table_stats(mapped) if _CUT in mapped.column_names else AlignmentStats()
    mapped = mapped.remove_columns([c for c in (_WORDS, _CUT) if c in mapped.column_names])
    if stats.truncated_words:
        logger.warning(
            "%s: %d word(s) in %d sentence(s) lie beyond max_length=%s sub-tokens and are not trained on; "
            "evaluation scores them as predicted O.",
            desc,
            stats.truncated_words,
            stats.truncated_sentences,
            max_length,
        )
    return mapped, stats


def _map_rows(dataset, function, desc: str, cache_dir, key: tuple, **options):
    """`dataset.map(function)` into `cache_dir`/tokenized-<fingerprint>.arrow (reread when it exists), or in
    memory without a cache folder."""
    cache = {"load_from_cache_file": False}
    if cache_dir is not None:
        tokenizer, *rest = key
        fingerprint = tokenized_fingerprint(dataset, tokenizer, *rest)
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        cache = {"cache_file_name": str(Path(cache_dir) / f"tokenized-{fingerprint}.arrow"),
                 "new_fingerprint": fingerprint, "load_from_cache_file": True}
    return dataset.map(function, batched=True, remove_columns=dataset.column_names, desc=desc, **options, **cache)


CONTEXT_PIECE = 5_000  # sentences per map call in document-context mode (cut at a document start)


def document_pieces(dataset) -> list[tuple[int, int]]:
    """Row ranges of about CONTEXT_PIECE sentences, each starting at a document's first sentence."""
    import pyarrow.compute as pc

    documents = dataset.with_format("arrow")[DOCUMENT_COLUMN]
    size = len(dataset)
    if size == 0:
        return [(0, 0)]
    changed = pc.not_equal(documents.slice(1), documents.slice(0, size - 1))
    starts = [i + 1 for i in pc.indices_nonzero(changed).to_pylist()]
    pieces, begin = [], 0
    for start in starts:
        if start - begin >= CONTEXT_PIECE:
            pieces.append((begin, start))
            begin = start
    return pieces + [(begin, size)]


_WORDS, _CUT = "_words", "_cut_words"  # per-row statistics columns, dropped once counted


def _table_stats(mapped) -> AlignmentStats:
    """AlignmentStats summed over the `_words`/`_cut_words` columns (Arrow compute: no Python lists)."""
    import pyarrow.compute as pc

    cut = mapped.data.column(_CUT)
    return AlignmentStats(
        sentences=len(mapped),
        words=int(pc.sum(mapped.data.column(_WORDS)).as_py() or 0),
        truncated_words=int(pc.sum(cut).as_py() or 0),
        truncated_sentences=int(pc.sum(pc.greater(cut, 0)).as_py() or 0),
    )


def tokenized_fingerprint(dataset, tokenizer, labels: list[str], *settings) -> str:
    """The cache key of a tokenized split: the rows' own fingerprint (datasets hashes their content), the
    tokenizer's vocabulary and rules, the labels, the settings and this module's source (a changed
    alignment rule never reads an old table)."""
    from datasets.fingerprint import Hasher

    backend = json.loads(tokenizer.backend_tokenizer.to_str())
    backend.pop("truncation", None)
    backend.pop("padding", None)
    return Hasher.hash([
        dataset._fingerprint, type(tokenizer).__name__, backend, list(getattr(tokenizer, "model_input_names", [])),
        list(labels), list(settings), Path(__file__).read_bytes(),
    ])


def _raw_text(columns) -> dict:
    """`texts`/`word_offsets` for align_batch when the rows carry their raw text (character-span data)."""
    if TEXT_COLUMN in columns and OFFSETS_COLUMN in columns:
        return {"texts": columns[TEXT_COLUMN], "word_offsets": columns[OFFSETS_COLUMN]}
    return {}
