"""Training data held in memory-mapped Arrow files, not Python lists (issue 26 item 2).

The tokenized splits are written by `Dataset.map` into the cache folder, named by their fingerprint,
and read back memory-mapped; a rerun on the same rows reads the file instead of tokenizing again and
gets the same rows and the same truncation counts. The sampler takes each row's length from the Arrow
offsets, so the batches (and their order for a seed) are the ones Python lists gave.
"""

from __future__ import annotations

import random

import pytest

from conftest import TESTS_DIR
from tiny_models import CONLL_LABELS
from toolkit import alignment
from toolkit.alignment import load_tokenizer, tokenize_dataset
from toolkit.sampling import row_lengths

TINY_CONLL = TESTS_DIR / "data" / "tiny_conll"


@pytest.fixture(scope="module")
def rows():
    import datasets

    rng = random.Random(3)
    words = "the bank said John Smith visited Paris and Oslo with Mara of Lindqvist Group".split()
    tokens = [[rng.choice(words) for _ in range(rng.randint(1, 30))] for _ in range(120)]
    tags = [[rng.randrange(len(CONLL_LABELS)) for _ in sentence] for sentence in tokens]
    features = datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")),
                                  "tags": datasets.Sequence(datasets.ClassLabel(names=CONLL_LABELS))})
    return datasets.Dataset.from_dict({"tokens": tokens, "tags": tags}, features=features)


def _tokenize(rows, tokenizer, cache_dir):
    return tokenize_dataset(rows, tokenizer, CONLL_LABELS, strategy="all", max_length=24, desc="t",
                            cache_dir=cache_dir)


def test_cached_split_is_a_memory_mapped_file_equal_to_a_fresh_one(rows, tiny_bert, tmp_path, monkeypatch):
    tokenizer = load_tokenizer(str(tiny_bert))
    fresh, fresh_stats = _tokenize(rows, tokenizer, None)
    cached, stats = _tokenize(rows, tokenizer, tmp_path)
    files = [entry["filename"] for entry in cached.cache_files]
    assert len(files) == 1 and files[0].startswith(str(tmp_path)), "the table lives in the cache folder"
    assert type(cached.data).__name__ == "MemoryMappedTable", "read memory-mapped, not copied into memory"
    assert cached.column_names == fresh.column_names
    assert cached.to_dict() == fresh.to_dict()
    assert stats == fresh_stats and stats.truncated_words > 0, "max_length 24 cuts some sentences"

    def no_tokenizing(*args, **kwargs):
        raise AssertionError("a rerun on the same rows must read the cached table")

    monkeypatch.setattr(alignment, "align_batch", no_tokenizing)
    again, again_stats = _tokenize(rows, tokenizer, tmp_path)
    assert again.cache_files[0]["filename"] == files[0]
    assert again.to_dict() == fresh.to_dict() and again_stats == fresh_stats


def test_other_rows_or_settings_get_another_file(rows, tiny_bert, tmp_path):
    tokenizer = load_tokenizer(str(tiny_bert))
    first = _tokenize(rows, tokenizer, tmp_path)[0].cache_files[0]["filename"]
    fewer = _tokenize(rows.select(range(50)), tokenizer, tmp_path)[0].cache_files[0]["filename"]
    longer = tokenize_dataset(rows, tokenizer, CONLL_LABELS, strategy="all", max_length=32, desc="t",
                              cache_dir=tmp_path)[0].cache_files[0]["filename"]
    assert len({first, fewer, longer}) == 3


def test_row_lengths_come_from_arrow_in_dataset_order(rows, tiny_bert, tmp_path):
    tokenized, _ = _tokenize(rows, load_tokenizer(str(tiny_bert)), tmp_path)
    assert row_lengths(tokenized) == [len(ids) for ids in tokenized["input_ids"]]
    shuffled = tokenized.shuffle(seed=1).select(range(70))  # an indices mapping over the file
    assert row_lengths(shuffled) == [len(ids) for ids in shuffled["input_ids"]]


def test_a_rerun_from_the_cache_trains_the_same_weights(tiny_bert, tmp_path, monkeypatch):
    """Same batches in the same order: the run reading the cached tables ends with the same weights."""
    from safetensors.torch import load_file

    from toolkit.cli import main

    monkeypatch.setenv("NERKIT_CACHE", str(tmp_path / "cache"))
    for run in ("first", "second"):
        assert main(["train", "--model", str(tiny_bert), "--dataset", str(TINY_CONLL), "--output-dir",
                     str(tmp_path / run), "--epochs", "1", "--batch-size", "4", "--seed", "3"]) == 0
    tables = sorted((tmp_path / "cache" / "tokenized").glob("tokenized-*.arrow"))
    assert len(tables) == 2, "train and validation, each written once"
    first, second = (load_file(str(tmp_path / run / "model.safetensors")) for run in ("first", "second"))
    assert first.keys() == second.keys()
    assert all((first[key] == second[key]).all() for key in first)


def test_splits_built_in_arrow_chunks_equal_one_build(monkeypatch):
    """prepare_labels builds a split's table a few thousand sentences at a time (from_dict's copies of a
    whole corpus cost more than the corpus); the rows, features and fingerprint do not depend on it."""
    import datasets

    from toolkit import labels as labels_module
    from toolkit.data import load_raw_splits

    raw = load_raw_splits(str(TINY_CONLL))
    whole = labels_module.prepare_labels(raw)
    monkeypatch.setattr(labels_module, "ARROW_CHUNK", 3)
    chunked = labels_module.prepare_labels(raw)
    for name, split in whole.splits.items():
        assert len(split) > 3 and isinstance(chunked.splits[name], datasets.Dataset)
        assert chunked.splits[name].features == split.features
        assert chunked.splits[name].to_dict() == split.to_dict()
    again = labels_module.prepare_labels(raw)
    assert again.splits["train"]._fingerprint == chunked.splits["train"]._fingerprint, "cache keys are stable"


def test_conll_lines_are_read_one_at_a_time():
    from toolkit.data.conll import _lines

    for text in ("", "a", "a\n", "\n\nb\r\nc", "x\n\n"):
        assert list(_lines(text)) == text.split("\n")


def test_document_context_rows_are_mapped_in_whole_documents_equal_to_one_call(tiny_bert, tmp_path, monkeypatch):
    """Context windows are built per map call: cut at document starts, the rows equal one call over all."""
    import datasets

    from toolkit.alignment import continuation_map, encode_with_context

    rng = random.Random(5)
    words = "the bank said John Smith visited Paris and Oslo with Mara".split()
    tokens = [[rng.choice(words) for _ in range(rng.randint(1, 12))] for _ in range(60)]
    tags = [[rng.randrange(len(CONLL_LABELS)) for _ in sentence] for sentence in tokens]
    documents = sorted(rng.randrange(9) for _ in tokens)
    rows = datasets.Dataset.from_dict({"tokens": tokens, "tags": tags, "document": documents})
    tokenizer = load_tokenizer(str(tiny_bert))
    expected, expected_stats = encode_with_context(
        tokenizer, tokens, documents, context_tokens=8, max_length=20, tags=tags, strategy="first",
        continuation=continuation_map(CONLL_LABELS))
    del expected["word_ids"]
    monkeypatch.setattr(alignment, "CONTEXT_PIECE", 7)
    assert len(alignment.document_pieces(rows)) > 3
    mapped, stats = tokenize_dataset(rows, tokenizer, CONLL_LABELS, strategy="first", max_length=20, desc="t",
                                     context_tokens=8, keep_positions=True, cache_dir=tmp_path)
    assert all(entry["filename"].startswith(str(tmp_path)) for entry in mapped.cache_files)
    got = mapped.to_dict()
    assert got.pop("length") == [len(ids) for ids in expected["input_ids"]]
    assert got == expected
    assert stats == expected_stats and stats.truncated_words > 0
