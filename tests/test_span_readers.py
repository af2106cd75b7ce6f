"""Readers of annotation-tool exports: each tool's real export shape, every quirk the issue names.

Shapes follow each tool's own documentation: Label Studio's task format (`data`, `annotations[].result[]`
with `from_name`/`to_name`/`type`/`value{start,end,text,labels}`, `was_cancelled`, `completed_by`,
`updated_at`) and its JSON-MIN export (one row per annotation, regions under the control's
`from_name`); doccano's sequence-labelling JSONL (`label`, older `labels`); Prodigy's `spans` with
`answer`; brat's `.ann` `T` lines; Argilla's Hub rows (a text column and a list of {start, end, label}).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nercore.errors import UserError
from toolkit.data import load_raw_splits, read_span_file


def region(start, end, label, text, *, rid="r", from_name="label", to_name="text"):
    return {"id": rid, "from_name": from_name, "to_name": to_name, "type": "labels", "origin": "manual",
            "value": {"start": start, "end": end, "text": text[start:end], "labels": [label]}}


def annotation(result, *, by=1, updated="2024-01-01T10:00:00.000000Z", cancelled=False, aid=1):
    return {"id": aid, "completed_by": by, "result": result, "was_cancelled": cancelled, "ground_truth": False,
            "created_at": updated, "updated_at": updated, "lead_time": 3.2, "task": 1}


def task(text, annotations, tid=1, **data):
    return {"id": tid, "data": {"text": text, **data}, "annotations": annotations, "predictions": [],
            "meta": {}, "created_at": "2024-01-01T09:00:00Z", "updated_at": "2024-01-01T09:00:00Z", "project": 3}


def write_json(path: Path, value) -> Path:
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    return path


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def words(split, record=0):
    return list(zip(split.tokens[record], split.tags[record]))


# --- Label Studio -----------------------------------------------------------------------------------

TEXT = "Ann Lee moved to Paris in May."


def test_label_studio_full_export(tmp_path):
    tasks = [task(TEXT, [annotation([region(0, 7, "PER", TEXT), region(17, 22, "LOC", TEXT, rid="b")])])]
    split = read_span_file(write_json(tmp_path / "export.json", tasks))
    assert split.texts == [TEXT] and split.spans == [[(0, 7, "PER"), (17, 22, "LOC")]]
    assert split.record_names == ["export.json task 1"] and split.record_ids == [1]
    assert words(split)[:5] == [("Ann", "B-PER"), ("Lee", "I-PER"), ("moved", "O"), ("to", "O"), ("Paris", "B-LOC")]
    assert split.word_offsets[0][4] == (17, 22)


def test_label_studio_is_picked_by_content_beside_token_json(tmp_path):
    write_json(tmp_path / "train.json", [task(TEXT, [annotation([region(17, 22, "LOC", TEXT)])])])
    write_json(tmp_path / "test.json", [task(TEXT, [annotation([])])])
    raw = load_raw_splits(str(tmp_path))
    assert raw.source["kind"] == "label-studio" and raw.splits["test"].spans == [[]]
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    write_json(tokens / "train.json", [{"tokens": ["Paris"], "ner_tags": ["B-LOC"]}])
    assert load_raw_splits(str(tokens)).source["kind"] == "json"


def test_whitespace_padded_span_is_trimmed_and_reported(tmp_path):
    padded = {**region(16, 23, "LOC", TEXT)}  # " Paris " with both spaces
    split = read_span_file(write_json(tmp_path / "t.json", [task(TEXT, [annotation([padded])])]))
    assert split.spans == [[(17, 22, "LOC")]]
    report = split.span_report
    assert report["counts"]["whitespace_trimmed"] == 1
    example = report["examples"]["whitespace_trimmed"][0]
    assert example["before"] == " Paris " and example["after"] == "Paris" and example["record"] == "t.json task 1 region r"


def test_two_annotators_latest_by_default_or_the_one_named(tmp_path):
    early = annotation([region(0, 7, "PER", TEXT)], by=1, updated="2024-01-01T10:00:00Z", aid=1)
    late = annotation([region(17, 22, "LOC", TEXT)], by=2, updated="2024-03-01T10:00:00Z", aid=2)
    path = write_json(tmp_path / "t.json", [task(TEXT, [late, early])])
    split = read_span_file(path)
    assert split.spans == [[(17, 22, "LOC")]] and split.span_report["counts"]["several_annotations"] == 1
    assert read_span_file(path, annotator="1").spans == [[(0, 7, "PER")]]
    named = [{**early, "completed_by": {"id": 7, "email": "ann@example.org"}}, late]
    assert read_span_file(write_json(tmp_path / "e.json", [task(TEXT, named)]), annotator="ann@example.org").spans == [
        [(0, 7, "PER")]]
    with pytest.raises(UserError, match=r"t.json: no sentences .* 1 tasks with no annotation by the chosen annotator "
                                        r"\(skipped\); e.g. t.json task 1"):
        read_span_file(path, annotator="9")


def test_no_annotation_and_cancelled_annotation(tmp_path):
    tasks = [
        task(TEXT, [], tid=1),
        task(TEXT, [annotation([region(0, 7, "PER", TEXT)], cancelled=True)], tid=2),
        task(TEXT, [annotation([region(0, 7, "PER", TEXT)], cancelled=True, updated="2025-01-01T00:00:00Z"),
                    annotation([region(17, 22, "LOC", TEXT)], updated="2024-01-01T00:00:00Z")], tid=3),
    ]
    split = read_span_file(write_json(tmp_path / "t.json", tasks))
    assert split.record_ids == [3] and split.spans == [[(17, 22, "LOC")]], "a cancelled annotation is never used"
    counts = split.span_report["counts"]
    assert counts["no_annotation"] == 2 and counts["cancelled"] == 2 and counts["records"] == 1


def test_emoji_before_a_span_code_points_and_older_utf16_offsets(tmp_path):
    text = "🐱 Warning: This is a test text"  # Label Studio's own emoji test: "test" is 21..25
    current = region(21, 25, "X", text)
    older = {**region(21, 25, "X", text), "value": {"start": 22, "end": 26, "text": "test", "labels": ["X"]}}
    split = read_span_file(write_json(tmp_path / "t.json", [task(text, [annotation([current])], tid=1),
                                                           task(text, [annotation([older])], tid=2)]))
    assert split.spans == [[(21, 25, "X")], [(21, 25, "X")]]
    assert text[21:25] == "test" and split.span_report["counts"]["utf16_offsets"] == 1


def test_non_ascii_characters_bytes_and_utf16_units_differ(tmp_path):
    text = "Café 😀 in Zürich, 東京 too"
    start = text.index("Zürich")
    assert len(text[:start].encode("utf-8")) != start != len(text[:start].encode("utf-16-le")) // 2
    tokyo = text.index("東京")
    tasks = [task(text, [annotation([region(start, start + 6, "LOC", text), region(tokyo, tokyo + 2, "LOC", text)])])]
    split = read_span_file(write_json(tmp_path / "t.json", tasks))
    assert [text[a:b] for a, b, _ in split.spans[0]] == ["Zürich", "東京"]
    assert ("Zürich", "B-LOC") in words(split) and ("東", "B-LOC") in words(split) and ("京", "I-LOC") in words(split)
    units = len(text[:start].encode("utf-16-le")) // 2  # doccano counts UTF-16 units: the emoji is 2
    doccano = read_span_file(write_jsonl(tmp_path / "d.jsonl", [{"text": text, "label": [[units, units + 6, "LOC"]]}]))
    assert doccano.spans == [[(start, start + 6, "LOC")]] and units == start + 1


def test_label_studio_json_min(tmp_path):
    rows = [
        {"id": 5, "text": TEXT, "label": [{"start": 17, "end": 22, "text": "Paris", "labels": ["LOC"]}],
         "annotator": 1, "annotation_id": 1, "created_at": "2024-01-01", "updated_at": "2024-01-01", "lead_time": 2.0},
        {"id": 5, "text": TEXT, "label": [{"start": 0, "end": 7, "text": "Ann Lee", "labels": ["PER"]}],
         "annotator": 2, "annotation_id": 2, "created_at": "2024-02-01", "updated_at": "2024-02-01", "lead_time": 2.0},
    ]
    path = write_json(tmp_path / "min.json", rows)
    empty_first = write_json(tmp_path / "train.json", [{**rows[0], "id": 4, "label": []}, *rows])
    assert load_raw_splits(str(empty_first)).splits["train"].spans == [[], [(0, 7, "PER")]]
    split = read_span_file(path)
    assert split.spans == [[(0, 7, "PER")]], "the most recently updated annotation of task 5"
    assert read_span_file(path, annotator="1").spans == [[(17, 22, "LOC")]]


def test_several_labelling_controls_need_a_choice(tmp_path):
    result = [region(0, 7, "PER", TEXT, from_name="ner"), region(17, 22, "LOC", TEXT, from_name="places", rid="b")]
    path = write_json(tmp_path / "t.json", [task(TEXT, [annotation(result)])])
    with pytest.raises(UserError, match=r"t.json task 1: the annotation has several labelling controls: ner .*places.*"
                                        r"--label-control"):
        read_span_file(path)
    assert read_span_file(path, spans_field="places").spans == [[(17, 22, "LOC")]]


def test_results_that_are_not_spans_are_counted(tmp_path):
    choice = {"id": "c", "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Pos"]}}
    split = read_span_file(write_json(tmp_path / "t.json", [task(TEXT, [annotation([region(17, 22, "LOC", TEXT), choice])])]))
    assert split.spans == [[(17, 22, "LOC")]] and split.span_report["counts"]["other_results"] == 1


@pytest.mark.parametrize("value, message", [
    ({"start": 9, "end": 4, "labels": ["LOC"]}, r"t.json task 1 region r: span start 9, end 4: end must not be before start"),
    ({"start": 17, "end": 99, "labels": ["LOC"]}, r"t.json task 1 region r: span 17-99 \(LOC\) ends past the text, which has 30"),
])
def test_malformed_spans_name_the_record(tmp_path, value, message):
    bad = {**region(0, 1, "LOC", TEXT), "value": value}
    with pytest.raises(UserError, match=message):
        read_span_file(write_json(tmp_path / "t.json", [task(TEXT, [annotation([bad])])]))


def test_task_without_text_field_and_unknown_label(tmp_path):
    path = write_json(tmp_path / "t.json", [{"id": 4, "data": {"url": 1, "title": 2}, "annotations": []}])
    with pytest.raises(UserError, match=r"t.json task 4: no text field in 'data' \(it has: url, title\).*--text-field"):
        read_span_file(path)
    other = write_json(tmp_path / "o.json", [task(TEXT, [annotation([region(17, 22, "LOC", TEXT)])], body=None)])
    assert read_span_file(other, text_field="text").texts == [TEXT]
    with pytest.raises(UserError, match=r"t.json task 1 region r: label 'LOC' is not in the label list given with "
                                        r"--labels \(PER\)"):
        read_span_file(write_json(tmp_path / "t.json", [task(TEXT, [annotation([region(17, 22, "LOC", TEXT)])])]),
                       labels=["O", "B-PER", "I-PER"])


# --- words at span edges ------------------------------------------------------------------------------


def test_span_inside_a_hyphenated_token(tmp_path):
    text = "Set AHU-G1-V-1-1-Ctrl-Md to auto"
    start = text.index("Ctrl")
    split = read_span_file(write_jsonl(tmp_path / "d.jsonl", [{"text": text, "label": [[start, start + 4, "POINT"]]}]))
    assert ("Ctrl", "B-POINT") in words(split)
    assert [tag for _, tag in words(split)].count("B-POINT") == 1
    assert all(tag == "O" for token, tag in words(split) if token != "Ctrl")


def test_span_cutting_a_word(tmp_path):
    text = "The Kraftfahrzeug stopped"
    split = read_span_file(write_jsonl(tmp_path / "d.jsonl", [{"text": text, "label": [[4, 9, "PART"]]}]))
    assert words(split)[:3] == [("The", "O"), ("Kraft", "B-PART"), ("fahrzeug", "O")]
    assert split.word_offsets[0][1:3] == [(4, 9), (9, 17)]


def test_overlapping_spans_refused_naming_both_or_resolved(tmp_path):
    text = "New York City Hall"
    path = write_jsonl(tmp_path / "d.jsonl", [{"text": text, "label": [[0, 8, "LOC"], [4, 18, "ORG"]]}])
    with pytest.raises(UserError, match=r"d.jsonl line 1: spans 0-8 'New York' \(LOC\) \(label\[0\]\) and 4-18 "
                                        r"'York City Hall' \(ORG\) \(label\[1\]\) overlap.*--overlaps longest"):
        read_span_file(path)
    assert read_span_file(path, overlaps="longest").spans == [[(4, 18, "ORG")]]
    first = read_span_file(path, overlaps="first")
    assert first.spans == [[(0, 8, "LOC")]] and first.span_report["counts"]["overlaps_resolved"] == 1
    duplicate = write_jsonl(tmp_path / "dup.jsonl", [{"text": text, "label": [[0, 8, "LOC"], [0, 8, "LOC"]]}])
    assert read_span_file(duplicate).span_report["counts"]["duplicates"] == 1


# --- doccano, Prodigy, brat, datasets ----------------------------------------------------------------------


def test_doccano_label_and_older_labels_key(tmp_path):
    rows = [{"id": 1, "text": TEXT, "label": [[17, 22, "LOC"]], "Comments": []},
            {"id": 2, "text": TEXT, "labels": [[0, 7, "PER"]]},
            {"id": 3, "text": TEXT, "entities": [{"id": 9, "label": "LOC", "start_offset": 17, "end_offset": 22}],
             "relations": []}]
    split = read_span_file(write_jsonl(tmp_path / "admin.jsonl", rows))
    assert split.spans == [[(17, 22, "LOC")], [(0, 7, "PER")], [(17, 22, "LOC")]]
    assert load_raw_splits(str(tmp_path / "admin.jsonl")).source["kind"] == "doccano"


def test_doccano_counts_utf16_units_like_its_editor(tmp_path):
    text = "👨🏻‍🚒 firemen drive firetrucks"  # doccano#2290: "firetrucks" is 22..32 in doccano, 19..29 in Python
    split = read_span_file(write_jsonl(tmp_path / "d.jsonl", [{"text": text, "label": [[22, 32, "VEHICLE"]]},
                                                              {"text": "firetrucks", "label": [[0, 10, "VEHICLE"]]}]))
    assert split.spans == [[(19, 29, "VEHICLE")], [(0, 10, "VEHICLE")]] and text[19:29] == "firetrucks"
    assert split.span_report["counts"]["utf16_offsets"] == 1


def test_prodigy_keeps_accepted_records_only(tmp_path):
    rows = [
        {"text": TEXT, "tokens": [{"text": "Ann", "start": 0, "end": 3, "id": 0}],
         "spans": [{"start": 17, "end": 22, "label": "LOC", "token_start": 4, "token_end": 4}], "answer": "accept",
         "_input_hash": 1, "_task_hash": 2, "meta": {"id": "a"}},
        {"text": TEXT, "spans": [{"start": 0, "end": 7, "label": "PER"}], "answer": "reject"},
        {"text": TEXT, "spans": [], "answer": "ignore"},
        {"text": "Ann Lee", "spans": [{"start": 0, "end": 7, "label": "PER"}]},  # spaCy: no answer
    ]
    split = read_span_file(write_jsonl(tmp_path / "ner.jsonl", rows))
    assert split.spans == [[(17, 22, "LOC")], [(0, 7, "PER")]] and split.record_ids[0] == "a"
    assert split.span_report["counts"]["not_accepted"] == 2
    assert load_raw_splits(str(tmp_path / "ner.jsonl")).source["kind"] == "prodigy"


def brat_folder(folder: Path, files: dict[str, tuple[str, str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, (text, ann) in files.items():
        (folder / f"{stem}.txt").write_text(text, encoding="utf-8")
        (folder / f"{stem}.ann").write_text(ann, encoding="utf-8")
    return folder


def test_brat_folder(tmp_path):
    text = "Ann Lee moved to Zürich.\n"
    ann = "T1\tPerson 0 7\tAnn Lee\nT2\tCity 17 23\tZürich\nR1\tLives Arg1:T1 Arg2:T2\n#1\tAnnotatorNotes T1\tok\n"
    folder = brat_folder(tmp_path / "corpus", {"a": (text, ann), "b": ("Nothing here.\n", "")})
    raw = load_raw_splits(str(folder))
    split = raw.splits["train"]
    assert raw.source["kind"] == "brat" and raw.source["files"]["train"]["files"] == 4
    assert split.spans == [[(0, 7, "Person"), (17, 23, "City")], []] and split.record_ids == ["a", "b"]
    assert split.span_report["counts"]["other_lines"] == 2


def test_brat_text_with_a_byte_order_mark(tmp_path):
    folder = brat_folder(tmp_path / "bom", {"a": ("\ufeffAnn Lee\n", "T1\tPER 1 8\tAnn Lee\n")})
    split = read_span_file(folder)
    assert [split.texts[0][a:b] for a, b, _ in split.spans[0]] == ["Ann Lee"] and split.tags[0] == ["B-PER", "I-PER"]


def test_brat_discontinuous_and_overlapping_entities(tmp_path):
    text = "New and old York houses\n"
    ann = "T1\tCity 0 3;12 16\tNew York\nT2\tThing 17 23\thouses\n"
    folder = brat_folder(tmp_path / "b", {"doc": (text, ann)})
    with pytest.raises(UserError, match=r"b/doc.ann line 1: entity T1 \(City\) is discontinuous \(0 3;12 16\).*--fragments join"):
        read_span_file(folder)
    assert read_span_file(folder, fragments="join").spans == [[(0, 16, "City"), (17, 23, "Thing")]]
    assert read_span_file(folder, fragments="drop").spans == [[(17, 23, "Thing")]]
    overlap = brat_folder(tmp_path / "o", {"doc": (text, "T1\tCity 0 16\tx\nT2\tThing 12 23\ty\n")})
    with pytest.raises(UserError, match=r"o/doc.ann: spans 0-16 .* \(line 1\) and 12-23 .* \(line 2\) overlap"):
        read_span_file(overlap)


def test_brat_split_folders(tmp_path):
    for split in ("train", "dev"):
        brat_folder(tmp_path / "data" / split, {"x": ("Ann Lee\n", "T1\tPER 0 7\tAnn Lee\n")})
    raw = load_raw_splits(str(tmp_path / "data"))
    assert set(raw.splits) == {"train", "validation"} and raw.source["kind"] == "brat"


def test_brat_folders_named_per_split_with_the_format(tmp_path):
    for split in ("a", "b"):
        brat_folder(tmp_path / split, {"x": ("Ann Lee\n", "T1\tPER 0 7\tAnn Lee\n")})
    raw = load_raw_splits("brat", data_files={"train": str(tmp_path / "a"), "validation": str(tmp_path / "b")})
    assert raw.splits["validation"].spans == [[(0, 7, "PER")]] and raw.source["files"]["train"]["path"] == "a"
    with pytest.raises(UserError, match="the brat format reads a folder"):
        load_raw_splits("brat", data_files={"train": str(tmp_path / "a" / "x.ann")})


def test_datasets_source_with_span_column(tmp_path):
    import datasets

    rows = {"text": [TEXT, "Ann Lee"], "spans": [[{"start": 17, "end": 22, "label": "LOC"}], []]}
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(rows)}).save_to_disk(str(tmp_path / "disk"))
    split = load_raw_splits(str(tmp_path / "disk")).splits["train"]
    assert split.spans == [[(17, 22, "LOC")], []] and split.tags[1] == ["O", "O"]
    argilla = {"text": [TEXT], "span_label.responses": [[[{"start": 0, "end": 7, "label": "PER"}],
                                                         [{"start": 17, "end": 22, "label": "LOC"}]]]}
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(argilla)}).save_to_disk(str(tmp_path / "argilla"))
    split = load_raw_splits(str(tmp_path / "argilla")).splits["train"]
    assert split.spans == [[(0, 7, "PER")]] and split.span_report["counts"]["several_annotations"] == 1


def test_ascii_words_are_the_same_as_the_character_loop():
    """nercore.words.split_words takes a regex for ASCII text; it must find the loop's words exactly."""
    import random
    import string

    from nercore import words

    def loop(text):
        found, start, end = [], -1, -1
        for i, ch in enumerate(text):
            kind = words.char_kind(ch)
            if kind == words._HIDDEN:
                continue
            if kind == words._CHAR:
                start, end = (i if start < 0 else start), i + 1
                continue
            if start >= 0:
                found.append((start, end))
                start = -1
            if kind == words._SINGLE:
                found.append((i, i + 1))
        return found + ([(start, end)] if start >= 0 else [])

    rng = random.Random(0)
    alphabet = string.printable + "\x00\x01\x7f"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert words.split_words(text) == loop(text), repr(text)
