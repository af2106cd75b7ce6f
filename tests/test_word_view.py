"""The `word` view (nercore/words.py): the same words for WordPiece, byte-level BPE and Metaspace tokenizers.

Three tiny offline tokenizers (built with the `tokenizers` library) each get a rigged BERT whose
predictions are set by hand per token string, so every expected span is known exactly.
"""

from __future__ import annotations

import string
import warnings
from pathlib import Path

import pytest

from nercore import strategies as registry
from nercore.engine import predict_all, predict_detailed
from nercore.strategies import PIPELINE_STRATEGY_NAMES
from nercore.words import split_words
from tiny_models import CONLL_LABELS, build_wordpiece_tokenizer, rig_weights

from test_space_contract import TEXTS

WORDS = ("Paris France Berlin AL AIN He flew to and from in the said was rain sun "
         "Barack Obama visited New York City John Smith met London").split()


def _bpe_tokenizer(directory: Path):
    """A byte-level BPE (RoBERTa style, add_prefix_space) trained on WORDS and "AL-AIN"."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator([" " + " ".join(WORDS), " AL-AIN (Berlin) (London) [Paris]"] * 4, vocab_size=1000, min_frequency=1, show_progress=False,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    bpe.save_model(str(directory))
    return RobertaTokenizerFast(vocab=str(directory / "vocab.json"), merges=str(directory / "merges.txt"),
                                add_prefix_space=True)


def _metaspace_tokenizer(_directory: Path):
    """A Unigram model behind a Metaspace pre-tokenizer (XLM-R / DeBERTa-v3 style). "▁Berlin," is one
    piece, so it straddles two words."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    pieces = ["<unk>", "<s>", "</s>", "<pad>", "▁", "▁Berlin,", "AIN", "Berlin", "London", "Paris"]
    pieces += ["▁" + w for w in WORDS]
    pieces += list(string.ascii_letters + string.digits + string.punctuation) + ["▁" + c for c in string.ascii_letters]
    seen: set[str] = set()
    pieces = [p for p in pieces if not (p in seen or seen.add(p))]
    tok = Tokenizer(models.Unigram([(p, -1.0 if len(p) > 1 else -5.0) for p in pieces], unk_id=0))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 1), ("</s>", 2)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                   pad_token="<pad>")


def rig(directory: Path, tokenizer, table: dict[str, dict[str, float]]) -> Path:
    """A tiny BERT on `tokenizer` whose label for each token string in `table` is set by hand (else "O");
    tests/tiny_models.rig_weights on a BERT sized for any tokenizer."""
    import torch
    from transformers import BertConfig, BertForTokenClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128,
                        id2label=dict(enumerate(CONLL_LABELS)), label2id={x: i for i, x in enumerate(CONLL_LABELS)})
    model = BertForTokenClassification(config)
    rig_weights(model, tokenizer, table)
    tokenizer.model_max_length = 128
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


LOC, ORG = {"B-LOC": 8.0}, {"B-ORG": 8.0}
TABLES = {
    "wordpiece": {"Paris": LOC, "France": LOC, "Be": LOC, "London": LOC, "A": ORG},  # Be ##r ##l ##i ##n
    "bpe": {"ĠParis": LOC, "ĠFrance": LOC, "ĠBerlin": LOC, "ĠLondon": LOC, "ĠAL": ORG, "AIN": ORG,
            "Berlin": LOC, "London": LOC, "Paris": LOC},
    "metaspace": {"▁Paris": LOC, "▁France": LOC, "▁Berlin": LOC, "▁Berlin,": LOC, "▁London": LOC, "▁AL": ORG,
                  "AIN": ORG, "Berlin": LOC, "London": LOC, "Paris": LOC},
}
BUILDERS = {"wordpiece": build_wordpiece_tokenizer, "bpe": _bpe_tokenizer, "metaspace": _metaspace_tokenizer}


@pytest.fixture(scope="module", params=list(TABLES))
def family(request, tmp_path_factory):
    from transformers import pipeline

    directory = tmp_path_factory.mktemp(f"rigged-{request.param}")
    rig(directory, BUILDERS[request.param](directory), TABLES[request.param])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return request.param, pipeline("token-classification", model=str(directory))


def spans(text, entities):
    return [(e["entity_group"], text[e["start"]:e["end"]]) for e in entities]


def test_words_split_as_berts_basic_tokenizer(tmp_path):
    """split_words == the words of a real BertTokenizerFast (BertNormalizer + BertPreTokenizer) on every
    contract text, plus control, format, space and punctuation characters of every kind."""
    tokenizer = build_wordpiece_tokenizer(tmp_path)
    odd = "a\x0bb\x0cc\x1cd\x85e\u2028f\u00a0g\u3000h\u200bi\ufffdj\x00k «l» m—n…o¿p¡q ¥r€s ©t ½u 中文x"
    for text in [*TEXTS, odd, "AL-AIN", "Paris, France."]:
        encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        expected: dict[int, list[int]] = {}
        for word, (start, end) in zip(encoding.word_ids(), encoding["offset_mapping"]):
            bounds = expected.setdefault(word, [start, end])
            bounds[0], bounds[1] = min(bounds[0], start), max(bounds[1], end)
        assert split_words(text) == [tuple(b) for _w, b in sorted(expected.items())], repr(text)


def test_paris_france_and_al_ain(family):
    """The word view gives Paris, France and AL-AIN's basic-tokenizer pieces in every family; the pipeline's
    word strategies put the punctuation inside the entity on byte-level BPE and Metaspace."""
    name, pipe = family
    text = "Paris, France. AL-AIN"
    got = predict_all(pipe, text)
    assert spans(text, got["word"]) == [("LOC", "Paris"), ("LOC", "France"), ("ORG", "AL"), ("ORG", "AIN")]
    if name == "wordpiece":  # the heuristic is right: "##" marks real words
        assert spans(text, got["first"]) == spans(text, got["max"]) == spans(text, got["word"])
    else:
        for strategy in ("first", "max"):
            assert [w.strip() for _t, w in spans(text, got[strategy])] == ["Paris,", "France.", "AL-AIN"], strategy


def test_a_piece_straddling_two_words_counts_toward_both(family):
    """"▁Berlin," is one Metaspace piece: the word view still ends the entity before the comma; the
    entity never starts with the space that Metaspace offsets include."""
    name, pipe = family
    text = "He flew to Berlin, then London"
    if name == "metaspace":
        assert "▁Berlin," in pipe.tokenizer.tokenize(text)
    assert spans(text, predict_all(pipe, text, "word")["word"]) == [("LOC", "Berlin"), ("LOC", "London")]


def test_word_equals_first_and_max_where_the_heuristic_is_right(tiny_bert):
    """WordPiece: on every contract text (long ones too) the word view gives the pipeline's max spans and scores."""
    from transformers import pipeline

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = pipeline("token-classification", model=str(tiny_bert))
    for text in TEXTS:  # long texts: the pipeline merges windows' entities, the word view their tokens
        if len(pipe.tokenizer(text)["input_ids"]) > pipe.tokenizer.model_max_length:
            continue
        got = predict_all(pipe, text, ["max", "word"])
        assert [(e["entity_group"], e["start"], e["end"]) for e in got["word"]] == [
            (e["entity_group"], e["start"], e["end"]) for e in got["max"]], repr(text[:40])
        assert all(abs(a["score"] - b["score"]) < 1e-5 for a, b in zip(got["word"], got["max"]))
        assert all(e["word"] == text[e["start"]:e["end"]] for e in got["word"])


def test_long_texts_are_windowed_without_cutting_words(family):
    _name, pipe = family
    text = "Paris, France. AL-AIN and London. " * 40
    detail = predict_detailed(pipe, text, "word", max_chars=None)
    assert detail.num_windows > 2
    assert spans(text, detail.entities["word"]) == [("LOC", "Paris"), ("LOC", "France"), ("ORG", "AL"),
                                                    ("ORG", "AIN"), ("LOC", "London")] * 40


def test_word_is_registered_but_not_a_pipeline_strategy():
    row = registry.get_strategy("word")
    assert not row.pipeline and row.whole_text and row.whole_entities and row.help
    assert registry.STRATEGY_NAMES[-1] == "word" and "word" not in PIPELINE_STRATEGY_NAMES
    assert registry.validate_strategies("all")[-1] == "word"
    assert "word" not in registry.recommendable()


def test_the_word_view_is_computed_only_when_asked(family, monkeypatch):
    _name, pipe = family

    def boom(*_args, **_kwargs):
        raise AssertionError("word view computed although not asked for")

    monkeypatch.setattr(registry, "word_entities", boom)
    assert list(predict_all(pipe, "Paris, France.", PIPELINE_STRATEGY_NAMES)) == list(PIPELINE_STRATEGY_NAMES)
    with pytest.raises(AssertionError, match="not asked"):
        predict_all(pipe, "Paris, France.", "word")


# A punctuation-rich test set: CoNLL-style tokens, joined as running text ("Paris, France.").
PUNCTUATION_SET = [
    ("He flew to Paris , France .", "O O O B-LOC O B-LOC O"),
    ("( Berlin ) and ( London ) .", "O B-LOC O O O B-LOC O O"),
    ("Paris ; Berlin : London !", "B-LOC O B-LOC O B-LOC O"),
    ("the rain in France , said John Smith .", "O O O B-LOC O O O O O"),
    ("[ Paris ] was sun , London was rain ?", "O B-LOC O O O O B-LOC O O O"),
]


def test_evaluate_strategies_puts_word_ahead_of_first_and_max(family):
    from toolkit.evaluate.strategies import evaluate_strategies

    name, pipe = family
    sentences = [tokens.split() for tokens, _tags in PUNCTUATION_SET]
    tags = [t.split() for _tokens, t in PUNCTUATION_SET]
    table = evaluate_strategies(pipe, sentences, tags, join="natural")
    assert list(table) == list(registry.STRATEGY_NAMES)
    if name == "wordpiece":
        assert table["word"]["f1"] == table["first"]["f1"] == table["max"]["f1"] == 1.0
    else:
        assert table["word"]["f1"] > max(table["first"]["f1"], table["max"]["f1"]), table
        assert table["word"]["f1"] >= 0.9
