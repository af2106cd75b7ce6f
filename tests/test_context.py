"""Document context (issue 16): windows, labels, dropout, documents in the data, the recorded setting,
and a rigged model whose right answer needs the previous sentence, through evaluate, predict and the engine."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from nercore.context import (
    CONFIG_KEY, ContextSetting, Specials, Window, build_windows, context_sizes, model_context, without_context,
)
from tiny_models import CONLL_LABELS, CONTEXT_TARGET, build_context_rigged_bert

DATA = Path(__file__).parent / "data"
SPECIALS = Specials((101,), (102,))
# The rigged model's test split, written by hand: the first document gives "smith" its cue, the second
# (after -DOCSTART-) does not, so reading across the boundary would be caught.
CONTEXT_SPLIT = """-DOCSTART- O

the O
president O
said O
. O

smith B-PER
visited O
paris O

-DOCSTART- O

smith O
visited O
paris O
"""


@pytest.fixture(scope="module")
def tiny_docs(tmp_path_factory) -> Path:
    """tests/data/tiny_conll (invented sentences) with a -DOCSTART- line before every third sentence."""
    folder = tmp_path_factory.mktemp("tiny_docs")
    for split in ("train", "validation"):
        blocks = [b for b in (DATA / "tiny_conll" / f"{split}.txt").read_text().strip("\n").split("\n\n") if b.strip()]
        parts = [part for i, block in enumerate(blocks) for part in (["-DOCSTART- -X- -X- O"] if i % 3 == 0 else []) + [block]]
        (folder / f"{split}.txt").write_text("\n\n".join(parts) + "\n")
    return folder


@pytest.fixture(scope="module")
def context_split(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("context_conll")
    (folder / "test.txt").write_text(CONTEXT_SPLIT)
    return folder


def _sentences(*lengths: int, base: int = 1000) -> list[list[int]]:
    """Sub-token ids per sentence; sentence k's ids are base*(k+1) + position, so every id says its sentence."""
    return [[base * (k + 1) + i for i in range(n)] for k, n in enumerate(lengths)]


def _sentence_of(token: int) -> int:
    return token // 1000 - 1


def test_no_window_crosses_a_document_boundary():
    sentences = _sentences(4, 5, 3, 6, 2)
    documents = [0, 0, 1, 1, 1]
    windows = build_windows(sentences, documents, tokens=50, max_length=64, specials=SPECIALS)
    for k, window in enumerate(windows):
        inner = window.input_ids[1:-1]
        assert {documents[_sentence_of(t)] for t in inner} == {documents[k]}, (k, inner)
    assert windows[0].left == 0 and windows[0].right == 5  # all of sentence 1, nothing of document 1
    assert windows[2].left == 0 and windows[1].right == 0


def test_the_sentence_is_never_cut_to_make_room_for_context():
    sentences = _sentences(3, 10, 3)
    windows = build_windows(sentences, [0, 0, 0], tokens=8, max_length=14, specials=SPECIALS)
    middle = windows[1]
    assert middle.input_ids[middle.start : middle.start + middle.length] == sentences[1]
    assert len(middle.input_ids) <= 14 and middle.left + middle.right == 2  # what is left: 14 - 2 - 10
    assert middle.input_ids[0] == 101 and middle.input_ids[-1] == 102
    # a sentence longer than max_length alone keeps its start, gets no context (as without context)
    long = build_windows(_sentences(3, 40, 3), [0, 0, 0], tokens=8, max_length=16, specials=SPECIALS)[1]
    assert (long.left, long.right, long.length) == (0, 0, 14) and len(long.input_ids) == 16


def test_context_sizes_split_what_is_left_evenly():
    assert context_sizes(100, 100, 24, 1000) == (24, 24)
    assert context_sizes(3, 100, 24, 1000) == (3, 24)
    assert context_sizes(100, 100, 24, 10) == (5, 5)
    assert context_sizes(2, 100, 24, 10) == (2, 8)
    assert context_sizes(100, 100, 24, 0) == (0, 0)


def test_without_documents_every_sentence_stands_alone():
    sentences = _sentences(4, 5)
    for documents, tokens in ((None, 24), ([0, 0], 0)):
        windows = build_windows(sentences, documents, tokens=tokens, max_length=64, specials=SPECIALS)
        assert [w.input_ids for w in windows] == [[101, *s, 102] for s in sentences]


def test_context_dropout_serves_the_sentence_alone():
    window = build_windows(_sentences(4, 5, 3), [0, 0, 0], tokens=8, max_length=64, specials=SPECIALS)[1]
    assert without_context(window.input_ids, window.start, window.length, SPECIALS) == [101, *_sentences(4, 5, 3)[1], 102]
    assert isinstance(window, Window) and window.left == 4 and window.right == 3


def test_the_setting_round_trips_through_a_config():
    from transformers import BertConfig

    config = BertConfig()
    assert model_context(config) == ContextSetting()
    from nercore.context import record_context

    record_context(config, ContextSetting(tokens=32, dropout=0.25))
    assert json.loads(config.to_json_string())[CONFIG_KEY] == {"tokens_per_side": 32, "dropout": 0.25}
    assert model_context(config.to_dict()) == ContextSetting(32, 0.25)
    with pytest.raises(ValueError, match="tokens_per_side"):
        ContextSetting.from_json({"tokens": 3})


def test_context_sub_tokens_never_carry_a_label(tiny_bert):
    from transformers import AutoTokenizer

    from toolkit.alignment import IGNORE_INDEX, align_batch, encode_with_context

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    tokens = [["John", "Smith", "visited"], ["Widodo", "said"], ["in", "London"], ["Paris"]]
    tags = [[1, 2, 0], [1, 0], [0, 5], [5]]
    encoded, _ = encode_with_context(tokenizer, tokens, [0, 0, 0, 1], context_tokens=6, max_length=32, tags=tags,
                                     strategy="all", continuation={1: 2, 3: 4, 5: 6, 7: 8})
    alone, _ = align_batch(tokenizer, tokens, tags, strategy="all", continuation={1: 2, 3: 4, 5: 6, 7: 8})
    for row in range(len(tokens)):
        start, length = encoded["sentence_start"][row], encoded["sentence_length"][row]
        labels = encoded["labels"][row]
        outside = labels[:start] + labels[start + length :]
        assert set(outside) == {IGNORE_INDEX}, (row, labels)
        assert labels[start : start + length] == alone["labels"][row][1:-1]  # the same labels as alone
    assert encoded["sentence_start"][1] > 1  # sentence 1 did get left context
    assert encoded["input_ids"][3] == alone["input_ids"][3]  # another document: alone


def test_the_collator_drops_context_with_its_probability(tiny_bert):
    import torch
    from transformers import AutoTokenizer, DataCollatorForTokenClassification

    from toolkit.alignment import encode_with_context
    from toolkit.collate import ContextDropoutCollator

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    tokens = [["John", "Smith"], ["visited", "London"], ["in", "Paris"]]
    encoded, _ = encode_with_context(tokenizer, tokens, [0, 0, 0], context_tokens=6, max_length=32,
                                     tags=[[1, 2], [0, 5], [0, 5]])
    features = [{k: encoded[k][i] for k in encoded if k != "word_ids"} for i in range(3)]
    base = DataCollatorForTokenClassification(tokenizer)
    torch.manual_seed(0)
    always = ContextDropoutCollator(base, Specials.of(tokenizer), 0.999999)(features)
    alone = tokenizer(tokens, is_split_into_words=True, padding=True, return_tensors="pt")
    assert torch.equal(always["input_ids"], alone["input_ids"])
    never = ContextDropoutCollator(base, Specials.of(tokenizer), 0.0)(features)
    assert never["input_ids"].shape[1] > alone["input_ids"].shape[1]
    assert "sentence_start" not in never and "length" not in never


def test_documents_are_read_from_conll_jsonl_and_csv(tmp_path, tiny_docs):
    from toolkit.data import load_raw_splits

    raw = load_raw_splits(str(tiny_docs))
    assert raw.splits["train"].documents[:7] == [0, 0, 0, 1, 1, 1, 2]
    assert load_raw_splits(str(DATA / "tiny_conll")).splits["train"].documents is None
    rows = [{"tokens": ["a"], "ner_tags": ["O"], "doc_id": d} for d in ("x", "x", "y")]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert load_raw_splits(str(tmp_path / "train.jsonl")).splits["train"].documents == ["x", "x", "y"]
    (tmp_path / "train.csv").write_text("tokens,ner_tags,article\na,O,1\nb,O,2\n")
    assert load_raw_splits(str(tmp_path / "train.csv"), document_column="article").splits["train"].documents == ["1", "2"]
    from nercore.errors import UserError

    with pytest.raises(UserError, match="no column 'article'"):
        load_raw_splits(str(tmp_path / "train.jsonl"), document_column="article")


def _train(tmp_path, tiny_bert, dataset: Path, name: str, **extra):
    from toolkit.data import load_raw_splits
    from toolkit.labels import prepare_labels
    from toolkit.training import TrainConfig, train

    config = TrainConfig(model=str(tiny_bert), output_dir=str(tmp_path / name), epochs=1, batch_size=4,
                         learning_rate=1e-3, seed=3, logging_steps=5, **extra)
    train(config, prepare_labels(load_raw_splits(str(dataset))))
    return tmp_path / name


def test_the_setting_is_recorded_with_the_model(tmp_path, tiny_bert, tiny_docs):
    run = _train(tmp_path, tiny_bert, tiny_docs, "ctx", context_tokens=8, context_dropout=0.5)
    config = json.loads((run / "config.json").read_text())
    assert config[CONFIG_KEY] == {"tokens_per_side": 8, "dropout": 0.5}
    assert json.loads((run / "training_args.json").read_text())["config"]["context"]["tokens_per_side"] == 8
    assert json.loads((run / "data_info.json").read_text())["splits"]["train"]["documents"] == 14  # 40 sentences, 3 a document


def test_data_without_documents_trains_exactly_as_before(tmp_path, tiny_bert, caplog):
    plain = _train(tmp_path, tiny_bert, DATA / "tiny_conll", "plain")
    with caplog.at_level(logging.WARNING, logger="toolkit"):
        asked = _train(tmp_path, tiny_bert, DATA / "tiny_conll", "asked", context_tokens=16)
    assert "marks no documents, so sentences train alone" in caplog.text
    assert CONFIG_KEY not in json.loads((asked / "config.json").read_text())
    assert (plain / "model.safetensors").read_bytes() == (asked / "model.safetensors").read_bytes()


@pytest.fixture(scope="module")
def context_model(tmp_path_factory) -> Path:
    return build_context_rigged_bert(tmp_path_factory.mktemp("context-rigged"))


def _context_data(folder: Path):
    from toolkit.data import load_raw_splits
    from toolkit.labels import prepare_labels

    return prepare_labels(load_raw_splits(str(folder)), labels=CONLL_LABELS)


def test_the_rigged_model_needs_the_previous_sentence_in_evaluate(context_model, context_split, tmp_path):
    from toolkit.evaluate import evaluate_model

    results = evaluate_model(str(context_model), _context_data(context_split), "test", output_dir=tmp_path, progress=False,
                             bootstrap=0, context_tokens=8)
    block = results.document_context
    assert block.headline == "without" and block.trained is None  # not trained with context: headline alone
    assert results.overall.f1 == 0.0  # alone, "smith" is O
    assert block.other.overall.f1 == 1.0  # in its document: B-PER, and not across the -DOCSTART- boundary
    assert block.tokens_per_side == 8


def test_a_saved_setting_reaches_evaluate_without_flags(context_model, context_split, tmp_path):
    import shutil

    from toolkit.evaluate import evaluate_model

    model = tmp_path / "model"
    shutil.copytree(context_model, model)
    config = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**config, CONFIG_KEY: {"tokens_per_side": 8, "dropout": 0.3}}))
    results = evaluate_model(str(model), _context_data(context_split), "test", output_dir=tmp_path / "out", progress=False,
                             bootstrap=20, strategies="all")
    assert results.document_context.headline == "with" and results.overall.f1 == 1.0
    # end to end, each document reaches the engine as one text: every strategy finds "smith" (and only it)
    assert {name: s.f1 for name, s in results.strategies.results.items()} == dict.fromkeys(results.strategies.results, 1.0)
    assert results.document_context.trained == {"tokens_per_side": 8, "dropout": 0.3}
    assert results.document_context.other.overall.f1 == 0.0
    assert results.confidence_intervals and results.document_context.other.confidence_intervals
    written = json.loads((tmp_path / "out" / "eval_results.json").read_text())
    assert written["document_context"]["other"]["overall"]["f1"] == 0.0


def test_the_rigged_model_needs_the_previous_sentence_in_predict(context_model, context_split, tmp_path):
    from toolkit.predict import InputSpec, PredictConfig, predict_corpus

    out = tmp_path / "pred.jsonl"
    predict_corpus(PredictConfig(str(context_model), InputSpec(str(context_split / "test.txt")), out,
                   strategies="all", progress=False))
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["text"] for r in records] == ["the president said .", "smith visited paris", "smith visited paris"]
    for name, found in records[1]["entities"].items():
        assert [(e["start"], e["end"]) for e in found] == [(0, 5)], name  # "smith", offsets in its own text
    assert all(not found for found in records[2]["entities"].values())  # another document: no cue
    rows = [{"text": "the president said .", "doc": 1}, {"text": "smith visited paris", "doc": 2}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    predict_corpus(PredictConfig(str(context_model), InputSpec(str(tmp_path / "in.jsonl")), tmp_path / "p2.jsonl",
                   progress=False))
    assert json.loads((tmp_path / "p2.jsonl").read_text().splitlines()[1])["entities"]["first"] == []


def test_the_rigged_model_needs_the_previous_sentence_in_the_engine(context_model):
    from transformers import pipeline

    from nercore.engine import predict_all

    pipe = pipeline("token-classification", model=str(context_model))
    together = predict_all(pipe, "the president said .\nsmith visited paris")
    alone = predict_all(pipe, "smith visited paris")
    for name in together:
        assert [e["start"] for e in together[name]] == [21], name
        assert alone[name] == [], name
    assert CONTEXT_TARGET == "smith"


def test_the_space_reads_the_whole_text_and_says_the_model_was_trained_with_context(context_model, tmp_path):
    import shutil

    from space.config import SpaceConfig
    from space.service import Service
    from space.ui_render import status_html

    model = tmp_path / "model"
    shutil.copytree(context_model, model)
    config = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**config, CONFIG_KEY: {"tokens_per_side": 24, "dropout": 0.3}}))
    service = Service(SpaceConfig(default_model=str(model), device="cpu", max_chars=20_000))
    result = service.compare("the president said .\nsmith visited paris")
    assert result["info"]["document_context"] == {"tokens_per_side": 24, "dropout": 0.3}
    assert all([(e["start"], e["end"]) for e in found] == [(21, 26)] for found in result["entities"].values())
    assert service.compare("smith visited paris")["entities"]["first"] == []
    assert "Trained with document context (24 sub-tokens" in status_html(service.run("the president said .", None, None))
    plain = Service(SpaceConfig(default_model=str(context_model), device="cpu", max_chars=20_000))
    assert plain.compare("smith visited paris")["info"]["document_context"] is None
    assert "document context" not in status_html(plain.run("smith visited paris", None, None))


def test_a_context_model_reads_texts_in_windows_of_the_context_it_was_trained_with(context_model, tmp_path):
    """4N text tokens per window, overlapping by 2N: every token has N tokens of context on both sides in
    some window, as in training (nercore.context.inference_window); other models keep their full length."""
    import shutil

    from nercore.engine import predict_detailed
    from space.config import SpaceConfig
    from space.service import Service
    from toolkit.model_loading import build_pipeline
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    model = tmp_path / "model"
    shutil.copytree(context_model, model)
    config = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**config, CONFIG_KEY: {"tokens_per_side": 4, "dropout": 0.0}}))
    service = Service(SpaceConfig(default_model=str(model), device="cpu", max_chars=20_000))
    near = "the president said .\nsmith visited paris"
    result = service.run(near, ["first"], None)
    assert result["max_tokens_per_window"] == 4 * 4 + 2  # [CLS] + 16 + [SEP]
    assert [(e["start"], e["end"]) for e in result["entities"]["first"]] == [(21, 26)]
    far = "the president said . " + "and then " * 10 + "\nsmith visited paris"
    pipe = build_pipeline(AutoModelForTokenClassification.from_pretrained(model), AutoTokenizer.from_pretrained(model))
    assert pipe.tokenizer.model_max_length == 18 and predict_detailed(pipe, far, ["first"]).num_windows > 2
    plain = build_pipeline(AutoModelForTokenClassification.from_pretrained(context_model),
                           AutoTokenizer.from_pretrained(context_model))
    assert plain.tokenizer.model_max_length > 18 and predict_detailed(plain, far, ["first"]).num_windows == 1


# ---- issue 24, item 8: evaluation rows never lose their context ------------------------------------------
def test_evaluation_during_training_keeps_every_rows_context(context_model, tmp_path):
    """Context dropout is for training rows only. A planted bug that applied it to evaluation rows too
    survived the suite; here the rigged model (right only with the previous sentence) trains at a learning
    rate too small to move it, with dropout 0.99: its per-epoch validation F1 stays 1.0 only if every
    validation row keeps its context."""
    from toolkit.data import load_raw_splits
    from toolkit.labels import prepare_labels
    from toolkit.training import TrainConfig, train

    data = tmp_path / "data"
    data.mkdir()
    for split in ("train", "validation"):
        (data / f"{split}.txt").write_text(CONTEXT_SPLIT)
    out = tmp_path / "run"
    config = TrainConfig(model=str(context_model), output_dir=str(out), epochs=1, batch_size=2, learning_rate=1e-12,
                         seed=3, context_tokens=8, context_dropout=0.99)
    train(config, prepare_labels(load_raw_splits(str(data)), labels=CONLL_LABELS))
    epochs = json.loads((out / "training_log.json").read_text())["epochs"]
    assert epochs and all(row["eval_f1"] == 1.0 for row in epochs), epochs
    # the same rows alone: F1 0, so the check above does look at the context
    from toolkit.evaluate import evaluate_model

    alone = evaluate_model(str(context_model), _context_data(data), "validation", output_dir=tmp_path / "alone",
                           progress=False, bootstrap=0)
    assert alone.overall.f1 == 0.0


def test_evaluate_never_drops_the_context_a_model_was_trained_to_drop(context_model, context_split, tmp_path):
    """The dropout recorded with a model (here 0.99) is a training setting: `evaluate` reads every sentence
    in its document, so the rigged model still finds "smith" (F1 1.0)."""
    import shutil

    from toolkit.evaluate import evaluate_model

    model = tmp_path / "model"
    shutil.copytree(context_model, model)
    config = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**config, CONFIG_KEY: {"tokens_per_side": 8, "dropout": 0.99}}))
    results = evaluate_model(str(model), _context_data(context_split), "test", output_dir=tmp_path / "out",
                             progress=False, bootstrap=0, strategies="all")
    assert results.document_context.headline == "with" and results.overall.f1 == 1.0
    assert {name: s.f1 for name, s in results.strategies.results.items()} == dict.fromkeys(results.strategies.results, 1.0)
