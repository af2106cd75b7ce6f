"""Sub-token label alignment: first vs all sub-tokens, special tokens, truncation, tokenizer checks."""

import pytest

from tiny_models import CONLL_LABELS
from toolkit.alignment import IGNORE_INDEX, align_batch, continuation_map, is_byte_level, load_tokenizer
from nercore.errors import UserError

L = {label: i for i, label in enumerate(CONLL_LABELS)}


def test_first_subtoken_only(tiny_bert):
    tokenizer = load_tokenizer(str(tiny_bert))
    words = ["Widodo", "visited", "London"]  # "Widodo" splits into W ##i ##d ##o ##d ##o
    tags = [[L["B-PER"], L["O"], L["B-LOC"]]]
    encoded, stats = align_batch(tokenizer, [words], tags, strategy="first", with_word_ids=True)
    word_ids = encoded["word_ids"][0]
    labels = encoded["labels"][0]
    assert word_ids[0] is None and word_ids[-1] is None
    assert labels[0] == IGNORE_INDEX and labels[-1] == IGNORE_INDEX
    pieces = [i for i, w in enumerate(word_ids) if w == 0]
    assert len(pieces) > 1, "test needs a word split into several sub-tokens"
    assert labels[pieces[0]] == L["B-PER"]
    assert all(labels[i] == IGNORE_INDEX for i in pieces[1:])
    assert [labels[i] for i, w in enumerate(word_ids) if w == 2] == [L["B-LOC"]]
    assert stats.truncated_words == 0 and stats.words == 3


def test_all_subtokens_turn_b_into_i(tiny_bert):
    tokenizer = load_tokenizer(str(tiny_bert))
    words = ["Widodo", "visited"]
    tags = [[L["B-PER"], L["O"]]]
    encoded, _ = align_batch(
        tokenizer, [words], tags, strategy="all", continuation=continuation_map(CONLL_LABELS), with_word_ids=True
    )
    word_ids, labels = encoded["word_ids"][0], encoded["labels"][0]
    pieces = [labels[i] for i, w in enumerate(word_ids) if w == 0]
    assert pieces[0] == L["B-PER"] and set(pieces[1:]) == {L["I-PER"]}


def test_truncated_words_are_counted(tiny_bert):
    tokenizer = load_tokenizer(str(tiny_bert))
    words = ["the"] * 30
    encoded, stats = align_batch(tokenizer, [words, ["the"]], [[0] * 30, [0]], max_length=12)
    assert len(encoded["input_ids"][0]) == 12
    assert stats.truncated_words == 30 - 10  # 12 minus [CLS] and [SEP]
    assert stats.truncated_sentences == 1 and stats.sentences == 2


def test_byte_level_bpe_gets_prefix_space(tiny_roberta):
    tokenizer = load_tokenizer(str(tiny_roberta))
    assert is_byte_level(tokenizer)
    assert tokenizer.add_prefix_space
    encoded, _ = align_batch(tokenizer, [["John", "Smith"]], [[L["B-PER"], L["I-PER"]]], with_word_ids=True)
    assert {w for w in encoded["word_ids"][0] if w is not None} == {0, 1}


def test_wordpiece_is_not_byte_level(tiny_bert):
    assert not is_byte_level(load_tokenizer(str(tiny_bert)))


def test_slow_tokenizer_is_refused():
    class Slow:
        is_fast = False
        name_or_path = "some/slow-model"

    with pytest.raises(UserError, match="fast tokenizer.*some/slow-model|some/slow-model.*fast"):
        align_batch(Slow(), [["a"]], None)


def test_unknown_strategy(tiny_bert):
    with pytest.raises(UserError, match="first, all|'first', 'all'"):
        align_batch(load_tokenizer(str(tiny_bert)), [["a"]], [[0]], strategy="middle")


def test_continuation_map():
    assert continuation_map(CONLL_LABELS) == {L["B-PER"]: L["I-PER"], L["B-ORG"]: L["I-ORG"], L["B-LOC"]: L["I-LOC"], L["B-MISC"]: L["I-MISC"]}
