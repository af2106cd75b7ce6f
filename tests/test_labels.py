"""toolkit.labels: scheme detection and conversion, label lists, NerData and data_info.json."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import datasets
import pytest

from nercore.tags import detect_scheme, entity_spans, entity_types, infer_label_list, is_entity_labels, to_iob2
from toolkit.data import RawData, RawSplit, load_raw_splits
from nercore.errors import UserError
from toolkit.labels import CONLL2003_LABELS, describe, prepare_labels

FORMATS = Path(__file__).resolve().parent / "data" / "formats"


def raw_data(tags: list[list[str]], *, label_names=None, file=None) -> RawData:
    tokens = [[f"w{i}" for i in range(len(sentence))] for sentence in tags]
    split = RawSplit(
        tokens=tokens,
        tags=tags,
        file=file,
        lines=[1 + i * 10 for i in range(len(tags))] if file else None,
        line_per_token=bool(file),
    )
    return RawData(splits={"train": split}, label_names=label_names, label_column="ner_tags", source={"kind": "test"})


# --- pure helpers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sequences", "scheme"),
    [
        ([["B-PER", "I-PER", "O", "B-LOC"], ["O"]], "IOB2"),
        ([["B-PER", "B-PER", "I-PER"]], "IOB2"),
        ([["I-PER", "I-PER", "O"]], "IOB1"),  # I- opens the sentence
        ([["B-PER", "O", "I-LOC"]], "IOB1"),  # I- after O
        ([["B-PER", "I-LOC"]], "IOB1"),  # I- after another type
        ([["O"], ["B-ORG", "I-ORG"], ["I-MISC"]], "IOB1"),  # evidence in any sentence counts
        ([["S-PER", "O", "B-ORG", "E-ORG"]], "BIOES"),
        ([["B-ORG", "I-ORG", "E-ORG"]], "BIOES"),
        ([["NNP", "VBZ", "."]], "none"),
        ([["O", "O"]], "none"),
        ([], "none"),
    ],
)
def test_detect_scheme(sequences, scheme):
    assert detect_scheme(sequences) == scheme


@pytest.mark.parametrize(
    ("tags", "scheme", "iob2"),
    [
        (
            ["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-LOC"],
            "IOB1",
            ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC"],
        ),
        (["B-PER", "I-LOC", "I-LOC"], "IOB1", ["B-PER", "B-LOC", "I-LOC"]),
        (
            ["S-PER", "B-ORG", "I-ORG", "E-ORG", "S-ORG", "O"],
            "BIOES",
            ["B-PER", "B-ORG", "I-ORG", "I-ORG", "B-ORG", "O"],
        ),
        (["B-LOC", "E-LOC", "I-LOC", "E-LOC"], "BIOES", ["B-LOC", "I-LOC", "B-LOC", "I-LOC"]),
        (["B-PER", "I-PER", "O"], "IOB2", ["B-PER", "I-PER", "O"]),
        (["NN", "VB"], "none", ["NN", "VB"]),
    ],
)
def test_to_iob2(tags, scheme, iob2):
    assert to_iob2(tags, scheme) == iob2


def test_iob1_conversion_leaves_iob2_unchanged():
    tags = ["B-PER", "I-PER", "B-PER", "O", "B-LOC"]
    assert to_iob2(tags, "IOB1") == tags
    with pytest.raises(ValueError, match="unknown tag scheme"):
        to_iob2(tags, "BILOU")


def test_infer_label_list():
    assert infer_label_list([["I-PER", "O"], ["B-LOC", "B-MISC"]]) == [
        "O",
        "B-LOC",
        "I-LOC",
        "B-MISC",
        "I-MISC",
        "B-PER",
        "I-PER",
    ]
    assert infer_label_list([["B-X"]]) == ["O", "B-X", "I-X"]
    assert infer_label_list([["VBZ", "NNP"], [".", "NNP"]]) == [".", "NNP", "VBZ"]
    with pytest.raises(ValueError, match="to_iob2"):
        infer_label_list([["S-PER"]])


def test_entity_types_and_is_entity_labels():
    assert entity_types(CONLL2003_LABELS) == ["LOC", "MISC", "ORG", "PER"]
    assert is_entity_labels(CONLL2003_LABELS)
    assert is_entity_labels(["O", "B-NP", "I-NP"])
    assert not is_entity_labels(["NN", "VB", "O"])
    assert entity_types(["NN", "VB"]) == []


def test_entity_spans():
    assert entity_spans(["B-PER", "I-PER", "B-PER", "O", "I-LOC", "I-LOC", "B-ORG"]) == [
        ("PER", 0, 2),
        ("PER", 2, 3),
        ("LOC", 4, 6),
        ("ORG", 6, 7),
    ]
    assert entity_spans(["B-PER", "I-ORG"]) == [("PER", 0, 1), ("ORG", 1, 2)]
    assert entity_spans(["O", "O"]) == []


# --- prepare_labels ------------------------------------------------------------------------------


def test_conll_shaped_files_get_the_hf_label_order(caplog):
    caplog.set_level(logging.INFO, logger="toolkit")
    data = prepare_labels(load_raw_splits(str(FORMATS / "conll_space")))
    assert data.labels == CONLL2003_LABELS
    assert (data.scheme, data.source_scheme, data.label_column) == ("IOB2", "IOB2", "ner_tags")
    assert list(data.splits) == ["train", "validation", "test"]
    assert data.splits["train"].features["tags"] == datasets.Sequence(datasets.ClassLabel(names=CONLL2003_LABELS))
    assert data.splits["train"].features["tokens"] == datasets.Sequence(datasets.Value("string"))
    first = data.splits["train"][0]
    assert first["tokens"] == ["Angela", "Merkel", "visited", "Paris", "."]
    assert [data.labels[i] for i in first["tags"]] == ["B-PER", "I-PER", "O", "B-LOC", "O"]
    assert "IOB2; no conversion needed" in caplog.text


def test_inferred_order_for_other_label_sets():
    data = prepare_labels(load_raw_splits(str(FORMATS / "tags_strings.csv")))
    assert data.labels == ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]


def test_iob1_file_is_converted(caplog):
    caplog.set_level(logging.INFO, logger="toolkit")
    data = prepare_labels(load_raw_splits(str(FORMATS / "iob1.txt")))
    assert (data.source_scheme, data.scheme) == ("IOB1", "IOB2")
    assert data.labels == ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
    tags = [[data.labels[i] for i in ids] for ids in data.splits["train"]["tags"]]
    assert tags[0] == ["B-PER", "I-PER", "O", "B-PER", "I-PER", "B-PER", "O", "B-LOC"]
    assert tags[1] == ["O", "B-ORG", "I-ORG", "O"]
    assert "IOB1; converted to IOB2 for training (4 tags changed)" in caplog.text


def test_bioes_file_is_converted(caplog):
    caplog.set_level(logging.INFO, logger="toolkit")
    data = prepare_labels(load_raw_splits(str(FORMATS / "bioes.txt")))
    assert (data.source_scheme, data.scheme) == ("BIOES", "IOB2")
    assert data.labels == ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
    tags = [[data.labels[i] for i in ids] for ids in data.splits["train"]["tags"]]
    assert tags == [["B-PER", "O", "B-ORG", "I-ORG", "I-ORG", "O", "B-LOC", "I-LOC"], ["B-LOC"]]
    assert "BIOES; converted to IOB2" in caplog.text


def test_pos_tags_are_plain_tags(caplog):
    caplog.set_level(logging.INFO, logger="toolkit")
    data = prepare_labels(load_raw_splits(str(FORMATS / "conll_space"), label_column="pos_tags"))
    assert (data.scheme, data.source_scheme, data.label_column) == ("none", "none", "pos_tags")
    assert data.labels == sorted(data.labels) and "NNP" in data.labels and "O" not in data.labels
    assert "no B-/I- prefixes" in caplog.text


def test_classlabel_order_is_kept(tmp_path):
    names = ["O", "I-LOC", "B-LOC", "B-PER", "I-PER"]  # deliberately not the inferred order
    features = datasets.Features(
        {
            "tokens": datasets.Sequence(datasets.Value("string")),
            "ner_tags": datasets.Sequence(datasets.ClassLabel(names=names)),
        }
    )
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict(
                {"tokens": [["Ada", "in", "Rome"]], "ner_tags": [[3, 0, 2]]}, features=features
            )
        }
    ).save_to_disk(str(tmp_path / "saved"))
    data = prepare_labels(load_raw_splits(str(tmp_path / "saved")))
    assert data.labels == names
    assert data.splits["train"][0]["tags"] == [3, 0, 2]
    assert data.source["kind"] == "disk" and data.source["fingerprints"]["train"]


def test_iob1_classlabel_gains_missing_b_labels_beside_their_type():
    raw = raw_data([["I-PER", "O", "I-LOC"]], label_names=["O", "I-PER", "I-LOC"])
    data = prepare_labels(raw)
    assert data.labels == ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    assert data.splits["train"][0]["tags"] == [1, 0, 3]


def test_int_tags_with_label_file_keep_that_order():
    raw = load_raw_splits(str(FORMATS / "int_tags.jsonl"), labels=FORMATS / "int_tags_labels.txt")
    data = prepare_labels(raw)
    assert data.labels == ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
    assert data.splits["train"][0]["tags"] == [1, 2, 0, 0, 3]


def test_user_label_list_sets_the_ids():
    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"]
    data = prepare_labels(load_raw_splits(str(FORMATS / "tags_strings.csv")), labels=labels)
    assert data.labels == labels
    assert data.splits["train"].features["tags"].feature.names == labels


def test_unknown_tag_with_a_user_label_list(tmp_path):
    label_file = tmp_path / "labels.txt"
    label_file.write_text("O\nB-PER\nI-PER\n")
    raw = load_raw_splits(str(FORMATS / "conll_space"))
    with pytest.raises(UserError) as info:
        prepare_labels(raw, labels=label_file)
    message = str(info.value)
    assert "split 'train', train.txt line 6 (sentence index 0): tag 'B-LOC'" in message
    assert "not in the label list from labels.txt (O, B-PER, I-PER)" in message


def test_unknown_tag_names_the_input_tag_when_converted():
    raw = raw_data([["O", "I-ORG"]], file="iob1.txt")
    with pytest.raises(UserError) as info:
        prepare_labels(raw, labels=["O", "I-ORG"])
    message = str(info.value)
    assert "iob1.txt line 2 (sentence index 0): tag 'B-ORG' (written 'I-ORG' in the input)" in message


def test_bio_tags_mixed_with_prefixless_tags():
    raw = raw_data([["B-PER", "O"], ["O", "LOC"]], file="train.txt")
    with pytest.raises(UserError) as info:
        prepare_labels(raw)
    message = str(info.value)
    assert "split 'train', train.txt line 12 (sentence index 1): tag 'LOC' has no B-/I-/E-/S- prefix" in message


# --- describe (data_info.json) --------------------------------------------------------------------


def test_describe_small_files():
    info = describe(prepare_labels(load_raw_splits(str(FORMATS / "conll_space"))))
    json.dumps(info)
    assert set(info) == {"source", "label_column", "labels", "scheme", "source_scheme", "splits"}
    train = info["splits"]["train"]
    assert train["sentences"] == 3 and train["tokens"] == 5 + 8 + 7
    assert train["entities"] == {"LOC": 2, "MISC": 1, "ORG": 1, "PER": 1}
    assert train["length"] == {"min": 5, "mean": 6.67, "median": 7, "p95": 8, "max": 8}
    assert info["splits"]["validation"]["entities"] == {"LOC": 1, "MISC": 0, "ORG": 1, "PER": 0}
    assert info["source"]["files"]["train"]["path"] == "train.txt"


def test_describe_plain_tags_counts_tags():
    info = describe(prepare_labels(load_raw_splits(str(FORMATS / "conll_space"), label_column="pos_tags")))
    assert "entities" not in info["splits"]["train"]
    assert info["splits"]["train"]["tags"]["NNP"] == 9
    assert info["splits"]["validation"]["length"]["median"] == 5


# --- the real CoNLL-2003 files -------------------------------------------------------------------


@pytest.fixture(scope="module")
def conll_data(conll2003_dir):
    return prepare_labels(load_raw_splits(str(conll2003_dir)))


def test_real_conll2003_labels_and_first_sentence(conll_data):
    assert conll_data.labels == ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
    assert (conll_data.scheme, conll_data.source_scheme) == ("IOB2", "IOB2")
    first = conll_data.splits["train"][0]
    assert (len(first["tokens"]), first["tokens"][0], first["tokens"][-1]) == (9, "EU", ".")  # no quote of the data
    assert [conll_data.labels[i] for i in first["tags"]] == ["B-ORG", "O", "B-MISC", "O", "O", "O", "B-MISC", "O", "O"]


def test_real_conll2003_describe(conll_data):
    info = describe(conll_data)
    json.dumps(info)
    assert {name: split["sentences"] for name, split in info["splits"].items()} == {
        "train": 14041,
        "validation": 3250,
        "test": 3453,
    }
    train = info["splits"]["train"]
    assert train["entities"] == {"LOC": 7140, "MISC": 3438, "ORG": 6321, "PER": 6600}
    assert train["tokens"] == 203621
    assert train["length"] == {"min": 1, "mean": 14.5, "median": 10, "p95": 37, "max": 113}
    assert info["source"]["name"] == "conll2003"


def test_real_conll2003_chunk_tags(conll2003_dir):
    raw = load_raw_splits(
        "conll", data_files={"validation": str(conll2003_dir / "validation.txt")}, label_column="chunk_tags"
    )
    data = prepare_labels(raw)
    assert (data.scheme, data.source_scheme, data.label_column) == ("IOB2", "IOB2", "chunk_tags")
    assert data.labels[:3] == ["O", "B-ADJP", "I-ADJP"] and "B-NP" in data.labels
