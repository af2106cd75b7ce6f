"""toolkit.data: every source format, provenance, and every bad-input error with its message."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import datasets
import pytest

from toolkit.data import load_label_list, load_raw_splits
from nercore.errors import UserError

FORMATS = Path(__file__).resolve().parent / "data" / "formats"
CONLL_NER = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def user_error(*args, **kwargs) -> str:
    with pytest.raises(UserError) as info:
        load_raw_splits(*args, **kwargs)
    return str(info.value)


# --- the real CoNLL-2003 files -------------------------------------------------------------------


@pytest.fixture(scope="module")
def conll_raw(conll2003_dir):
    return load_raw_splits(str(conll2003_dir))


def test_real_conll2003_splits_first_sentence_and_provenance(conll_raw, conll2003_dir):
    assert list(conll_raw.splits) == ["train", "validation", "test"]
    assert {name: len(split.tokens) for name, split in conll_raw.splits.items()} == {
        "train": 14041,
        "validation": 3250,
        "test": 3453,
    }
    train = conll_raw.splits["train"]
    assert (len(train.tokens[0]), train.tokens[0][0], train.tokens[0][-1]) == (9, "EU", ".")  # no quote of the data
    assert train.tags[0] == ["B-ORG", "O", "B-MISC", "O", "O", "O", "B-MISC", "O", "O"]
    assert train.where(1, 1) == "train.txt line 14 (sentence index 1)"

    source = conll_raw.source
    assert (source["kind"], source["name"], source["config"], source["revision"]) == ("conll", "conll2003", None, None)
    data = (conll2003_dir / "train.txt").read_bytes()
    assert source["files"]["train"] == {
        "path": "train.txt",
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    text = json.dumps(source)
    assert str(conll2003_dir) not in text and str(Path.home()) not in text


@pytest.mark.parametrize(
    ("label_column", "first_tags"),
    [
        ("pos_tags", ["NNP", "VBZ", "JJ", "NN", "TO", "VB", "JJ", "NN", "."]),
        ("chunk_tags", ["B-NP", "B-VP", "B-NP", "I-NP", "B-VP", "I-VP", "B-NP", "I-NP", "O"]),
    ],
)
def test_real_conll2003_pos_and_chunk_columns(conll2003_dir, label_column, first_tags):
    raw = load_raw_splits("conll", data_files={"train": str(conll2003_dir / "train.txt")}, label_column=label_column)
    assert raw.label_column == label_column
    assert len(raw.splits["train"].tokens) == 14041
    assert raw.splits["train"].tags[0] == first_tags


# --- every source format -------------------------------------------------------------------------


def test_conll_folder_with_space_columns_docstart_and_dev_alias():
    raw = load_raw_splits(str(FORMATS / "conll_space"))
    assert list(raw.splits) == ["train", "validation", "test"]  # dev.txt -> validation
    train = raw.splits["train"]
    assert len(train.tokens) == 3  # -DOCSTART- lines and the blank line after them are skipped
    assert train.tokens[0] == ["Angela", "Merkel", "visited", "Paris", "."]
    assert train.tags[0] == ["B-PER", "I-PER", "O", "B-LOC", "O"]
    assert train.lines == [3, 9, 20]
    assert raw.label_names is None
    assert raw.source["name"] == "conll_space"
    assert set(raw.source["files"]) == {"train", "validation", "test"}
    assert raw.source["files"]["validation"]["path"] == "dev.txt"

    pos = load_raw_splits(str(FORMATS / "conll_space"), label_column="pos_tags")
    assert pos.splits["train"].tags[0] == ["NNP", "NNP", "VBD", "NNP", "."]
    chunk = load_raw_splits(str(FORMATS / "conll_space"), label_column="chunk_tags")
    assert chunk.splits["test"].tags[0] == ["B-NP", "I-NP", "B-VP", "B-NP", "O"]
    by_index = load_raw_splits(str(FORMATS / "conll_space"), tag_column=1)
    assert by_index.splits["test"].tags[0] == ["NNP", "NNP", "VBD", "JJ", "."]


def test_conll_tab_separated_keeps_tokens_with_spaces():
    raw = load_raw_splits(str(FORMATS / "conll_tab"))
    assert raw.splits["train"].tokens == [["New York", "is", "big"], ["Barack Obama", "smiled"]]
    assert raw.splits["train"].tags == [["B-LOC", "O", "O"], ["B-PER", "O"]]
    assert raw.splits["validation"].tokens == [["Lisbon", "wins"]]


def test_conll_two_columns_without_trailing_newline_keeps_last_sentence():
    raw = load_raw_splits(str(FORMATS / "two_columns_no_newline.conll"))
    assert list(raw.splits) == ["train"]  # a single file whose name is no split name
    assert raw.splits["train"].tokens == [["Anna", "Kowalski", "lives", "in", "Warsaw"], ["It", "rains"]]
    assert raw.splits["train"].tags[1] == ["O", "O"]
    assert raw.source["name"] == "two_columns_no_newline.conll"


def test_conll_crlf_and_explicit_delimiter(tmp_path):
    write(tmp_path / "train.txt", "EU|B-ORG\r\nsays|O\r\n\r\nok|O\r\n")
    raw = load_raw_splits(str(tmp_path), delimiter="|")
    assert raw.splits["train"].tokens == [["EU", "says"], ["ok"]]
    assert raw.splits["train"].tags == [["B-ORG", "O"], ["O"]]


def test_data_files_name_splits_and_the_format():
    raw = load_raw_splits(
        "",
        data_files={"train": str(FORMATS / "iob1.txt"), "dev": str(FORMATS / "bioes.txt")},
    )
    assert list(raw.splits) == ["train", "validation"]
    assert raw.splits["validation"].tags[0][:3] == ["S-PER", "O", "B-ORG"]
    assert raw.source["name"] == "formats"  # the files' common folder, never a full path
    assert raw.source["files"]["validation"]["path"] == "bioes.txt"

    relative = load_raw_splits(str(FORMATS), data_files={"test": "records.json"})
    assert list(relative.splits) == ["test"]
    assert relative.source["kind"] == "json"


def test_format_named_by_dataset_for_unknown_extensions(tmp_path):
    write(tmp_path / "train.bio", "Oslo B-LOC\n")
    raw = load_raw_splits("conll", data_files={"train": str(tmp_path / "train.bio")})
    assert raw.splits["train"].tags == [["B-LOC"]]
    message = user_error("", data_files={"train": str(tmp_path / "train.bio")})
    assert "train.bio" in message and "'.bio'" in message and "conll, csv, json," in message


def test_csv_with_json_lists_space_separated_and_python_lists():
    raw = load_raw_splits(str(FORMATS / "tags_strings.csv"))
    train = raw.splits["train"]
    assert raw.source["kind"] == "csv"
    assert train.tokens == [
        ["Ada", "Lovelace", "wrote", "notes"],
        ["IBM", "hired", "Grace", "Hopper"],
        ["Rome", "is", "old"],
    ]
    assert train.tags == [["B-PER", "I-PER", "O", "O"], ["B-ORG", "O", "B-PER", "I-PER"], ["B-LOC", "O", "O"]]
    assert train.lines == [2, 3, 4]


def test_jsonl_int_tags_with_a_label_file():
    raw = load_raw_splits(str(FORMATS / "int_tags.jsonl"), labels=FORMATS / "int_tags_labels.txt")
    assert raw.label_names == ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
    assert raw.splits["train"].tags == [["B-PER", "I-PER", "O", "O", "B-LOC"], ["B-ORG", "I-ORG", "O"]]
    assert raw.source["kind"] == "json"


def test_json_array_of_records():
    raw = load_raw_splits(str(FORMATS / "records.json"))
    assert raw.splits["train"].tokens == [["Marie", "Curie", "won"], ["Warsaw", "celebrates"]]
    assert raw.splits["train"].where(1) == "records.json (sentence index 1)"


def saved_dataset_dict(folder: Path, names: list[str], *, tags_column: str = "ner_tags") -> Path:
    features = datasets.Features(
        {
            "id": datasets.Value("string"),
            "tokens": datasets.Sequence(datasets.Value("string")),
            tags_column: datasets.Sequence(datasets.ClassLabel(names=names)),
        }
    )
    rows = {
        "train": {"id": ["0", "1"], "tokens": [["Ada", "codes"], ["Paris", "sleeps"]], tags_column: [[1, 0], [5, 0]]},
        "test": {"id": ["0"], "tokens": [["Rome"]], tags_column: [[5]]},
    }
    datasets.DatasetDict(
        {split: datasets.Dataset.from_dict(columns, features=features) for split, columns in rows.items()}
    ).save_to_disk(str(folder))
    return folder


def test_save_to_disk_folder_keeps_classlabel_names_and_fingerprints(tmp_path):
    folder = saved_dataset_dict(tmp_path / "my_ner", CONLL_NER)
    raw = load_raw_splits(str(folder))
    assert raw.label_names == CONLL_NER
    assert raw.splits["train"].tags == [["B-PER", "O"], ["B-LOC", "O"]]
    assert raw.splits["test"].tokens == [["Rome"]]
    assert raw.source["kind"] == "disk" and raw.source["name"] == "my_ner"
    assert set(raw.source["fingerprints"]) == {"train", "test"}
    assert all(isinstance(value, str) and value for value in raw.source["fingerprints"].values())
    json.dumps(raw.source)


def test_save_to_disk_int_tags_without_classlabel_need_labels(tmp_path):
    features = datasets.Features(
        {"tokens": datasets.Sequence(datasets.Value("string")), "ner_tags": datasets.Sequence(datasets.Value("int64"))}
    )
    folder = tmp_path / "ints"
    datasets.DatasetDict(
        {"train": datasets.Dataset.from_dict({"tokens": [["Ada"]], "ner_tags": [[1]]}, features=features)}
    ).save_to_disk(str(folder))
    message = user_error(str(folder))
    assert "split 'train', sentence index 0" in message
    assert "integer tags (e.g. 1)" in message and "--labels FILE" in message
    raw = load_raw_splits(str(folder), labels=["O", "B-PER", "I-PER"])
    assert raw.splits["train"].tags == [["B-PER"]]


def test_hub_id_that_is_not_local_and_not_reachable(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    message = user_error("nobody/no-such-dataset-xyz")
    assert "'nobody/no-such-dataset-xyz'" in message
    assert "neither a local file or folder nor reachable on the Hugging Face Hub" in message


def test_missing_local_path_is_not_sent_to_the_hub(tmp_path):
    message = user_error(str(tmp_path / "nope" / "train.txt"))
    assert "no such file or folder" in message and "nope" in message


# --- label lists ---------------------------------------------------------------------------------


def test_label_list_files(tmp_path):
    assert load_label_list(write(tmp_path / "labels.txt", "O\n\nB-PER\nI-PER\n")) == ["O", "B-PER", "I-PER"]
    run_labels = write(tmp_path / "labels.json", json.dumps({"labels": ["O", "B-X", "I-X"], "scheme": "IOB2"}))
    assert load_label_list(run_labels) == ["O", "B-X", "I-X"]
    config = write(tmp_path / "config.json", json.dumps({"id2label": {"1": "B-X", "0": "O", "10": "I-Y", "2": "I-X"}}))
    assert load_label_list(config) == ["O", "B-X", "I-X", "I-Y"]
    assert load_label_list(["O", "B-X"]) == ["O", "B-X"]


def test_label_list_errors(tmp_path):
    with pytest.raises(UserError, match=r"dups\.txt lists 'B-X' more than once"):
        load_label_list(write(tmp_path / "dups.txt", "O\nB-X\nB-X\n"))
    with pytest.raises(UserError, match=r"empty\.txt holds no labels"):
        load_label_list(write(tmp_path / "empty.txt", "\n"))
    with pytest.raises(UserError, match=r"bad\.json line 1 column \d+: not valid JSON"):
        load_label_list(write(tmp_path / "bad.json", '["O",'))
    with pytest.raises(UserError, match=r"missing\.txt: no such file"):
        load_label_list(tmp_path / "missing.txt")


# --- errors: file, line (column), value and the fix -----------------------------------------------


def test_conll_wrong_number_of_columns(tmp_path):
    write(tmp_path / "train.txt", "-DOCSTART- -X- O\n\nEU NNP B-ORG\nrejects VBZ O\n\ncall O\n")
    message = user_error(str(tmp_path))
    assert "train.txt line 6" in message
    assert "expected 3 columns (as on line 3, the first token line) but found 2" in message
    assert "'call O'" in message


def test_conll_tab_file_with_a_space_separated_line(tmp_path):
    write(tmp_path / "train.tsv", "EU\tB-ORG\nsays O\n")
    message = user_error(str(tmp_path))
    assert "train.tsv line 2" in message and "tab-separated" in message and "'says O'" in message


def test_conll_empty_value(tmp_path):
    write(tmp_path / "train.tsv", "EU\tNNP\tB-ORG\nsays\t\tO\n")
    message = user_error(str(tmp_path))
    assert "train.tsv line 2 column 2: empty value" in message


def test_conll_single_column(tmp_path):
    write(tmp_path / "train.txt", "EU\nsays\n")
    message = user_error(str(tmp_path))
    assert "train.txt line 1" in message and "one column ('EU')" in message


def test_conll2003_column_names_need_four_columns(tmp_path):
    write(tmp_path / "train.txt", "EU B-ORG\n")
    message = user_error(str(tmp_path), label_column="pos_tags")
    assert "train.txt" in message and "'pos_tags' means column 1" in message and "has 2 columns" in message
    assert "--tag-column" in message


@pytest.mark.parametrize("tag_column", [0, 3, -3])
def test_tag_column_out_of_range(tmp_path, tag_column):
    write(tmp_path / "train.txt", "EU NNP B-ORG\n")
    message = user_error(str(tmp_path), tag_column=tag_column)
    assert f"tag column {tag_column} does not exist or is the token column" in message
    assert "1..2" in message


def test_undecodable_bytes(tmp_path):
    write(tmp_path / "train.txt", "EU B-ORG\n\nK\xf6ln B-LOC\n".encode("latin-1"))
    message = user_error(str(tmp_path))
    assert "train.txt line 3, byte 2 of the line (byte offset 11 in the file): f6 is not valid UTF-8" in message
    assert "iconv" in message


def test_empty_split(tmp_path):
    write(tmp_path / "train.txt", "EU B-ORG\n")
    write(tmp_path / "test.txt", "-DOCSTART- -X- O\n\n\n")
    message = user_error(str(tmp_path))
    assert "test.txt: no sentences (the 'test' split is empty)" in message


def test_missing_data_file(tmp_path):
    message = user_error("", data_files={"train": str(tmp_path / "absent.txt")})
    assert "absent.txt: no such file" in message


def test_folder_without_split_files(tmp_path):
    write(tmp_path / "corpus" / "notes.md", "hi")
    message = user_error(str(tmp_path / "corpus"))
    assert "folder corpus has no split files (found: notes.md)" in message and "valid or dev" in message


def test_two_files_for_one_split(tmp_path):
    write(tmp_path / "train.txt", "EU B-ORG\n")
    write(tmp_path / "train.csv", "tokens,ner_tags\nEU,B-ORG\n")
    message = user_error(str(tmp_path))
    assert "train.csv and train.txt could be the 'train' split" in message


def test_mixed_formats(tmp_path):
    message = user_error("", data_files={"train": str(FORMATS / "iob1.txt"), "test": str(FORMATS / "records.json")})
    assert "iob1.txt is conll" in message and "records.json is json" in message


def test_data_files_with_a_dataset_that_is_no_format_or_folder():
    message = user_error("conll2003", data_files={"train": str(FORMATS / "iob1.txt")})
    assert "'conll2003' is none of these" in message


def test_jsonl_token_tag_count_mismatch(tmp_path):
    write(
        tmp_path / "train.jsonl",
        '{"tokens": ["a"], "ner_tags": ["O"]}\n\n{"tokens": ["EU", "says"], "ner_tags": ["B-ORG"]}\n',
    )
    message = user_error(str(tmp_path))
    assert "train.jsonl line 3 (sentence index 1): 2 tokens but 1 tags in 'ner_tags'" in message
    assert "['EU', 'says']" in message and "['B-ORG']" in message


def test_csv_token_tag_count_mismatch(tmp_path):
    write(tmp_path / "dev.csv", 'tokens,ner_tags\n"EU says",B-ORG O\n"x y z",O O\n')
    message = user_error(str(tmp_path))
    assert "dev.csv line 3 (sentence index 1): 3 tokens but 2 tags" in message


def test_unknown_label_column_lists_available_columns(tmp_path):
    write(tmp_path / "train.csv", "id,words,labels\n1,EU,B-ORG\n")
    message = user_error(str(tmp_path))
    assert "train.csv: no column 'tokens'; available columns: id, words, labels" in message
    message = user_error(str(tmp_path), tokens_column="words")
    assert "no column 'ner_tags'; available columns: id, words, labels. Choose one with --label-column" in message
    raw = load_raw_splits(str(tmp_path), tokens_column="words", label_column="labels")
    assert raw.splits["train"].tags == [["B-ORG"]]

    write(tmp_path / "j" / "train.jsonl", '{"tokens": ["EU"], "tags": ["B-ORG"]}\n')
    assert "no column 'ner_tags'; available columns: tokens, tags" in user_error(str(tmp_path / "j"))

    folder = saved_dataset_dict(tmp_path / "saved", CONLL_NER, tags_column="labels")
    message = user_error(str(folder))
    assert "split 'train': no column 'ner_tags'; available columns: id, tokens, labels" in message


def test_int_tags_need_label_names(tmp_path):
    message = user_error(str(FORMATS / "int_tags.jsonl"))
    assert "int_tags.jsonl line 1 (sentence index 0)" in message
    assert "integer tags (e.g. 1)" in message and "labels=[...]" in message and "--labels FILE" in message


def test_int_tag_outside_the_label_names(tmp_path):
    message = user_error(str(FORMATS / "int_tags.jsonl"), labels=["O", "B-PER", "I-PER"])
    assert "int_tags.jsonl line 1 (sentence index 0): tag id 3" in message and "ids 0..2" in message


def test_mixed_int_and_string_tags(tmp_path):
    write(tmp_path / "train.jsonl", '{"tokens": ["EU", "says"], "ner_tags": [3, "O"]}\n')
    message = user_error(str(tmp_path))
    assert "train.jsonl line 1 (sentence index 0): tag 'O'" in message and "all integers" in message


def test_json_syntax_errors(tmp_path):
    write(tmp_path / "a" / "train.jsonl", '{"tokens": ["EU"], "ner_tags": ["B-ORG"]}\n{"tokens": ["x"]\n')
    message = user_error(str(tmp_path / "a"))
    assert "train.jsonl line 2 column" in message and "not valid JSON" in message and '{"tokens": ["x"]' in message
    write(tmp_path / "b" / "train.json", '[\n {"tokens": ["EU"], "ner_tags": ["B-ORG"]},\n oops\n]')
    assert "train.json line 3 column 2: not valid JSON" in user_error(str(tmp_path / "b"))
    write(tmp_path / "c" / "train.csv", 'tokens,ner_tags\n"[""EU"", ",O\n')
    message = user_error(str(tmp_path / "c"))
    assert "train.csv line 2 column 'tokens'" in message and "not valid JSON" in message


# --- the format registry ---------------------------------------------------------------------------


def test_registry_is_the_one_table_of_file_formats():
    from toolkit.data import EXTENSIONS, FILE_KINDS, FORMATS, READERS, is_file_format

    assert FORMATS == FILE_KINDS == ("conll", "csv", "json", "label-studio", "doccano", "prodigy", "brat")
    assert all(is_file_format(kind) for kind in FORMATS)
    assert not is_file_format("hub") and not is_file_format("disk") and not is_file_format(None)
    claimed = [ext for reader in READERS if reader.claims is None for ext in reader.extensions]
    assert len(claimed) == len(set(claimed)), "an extension belongs to one reader, or is shared by content"
    assert {ext: reader.kind for ext, reader in EXTENSIONS.items()} == {
        "": "conll", ".txt": "conll", ".conll": "conll", ".iob": "conll", ".tsv": "conll",
        ".csv": "csv", ".json": "json", ".jsonl": "json",
    }


def test_cli_help_lists_every_registered_format():
    from toolkit.commands._data_args import DATA_HELP
    from toolkit.data import READERS

    for reader in READERS:
        assert f"    {reader.kind} " in DATA_HELP and reader.help in DATA_HELP


def test_unknown_format_name_lists_the_registered_ones():
    from toolkit.data.registry import reader_named

    with pytest.raises(UserError, match="unknown data format 'xml'; the formats are conll, csv, json, label-studio, doccano, prodigy or brat"):
        reader_named("xml")
