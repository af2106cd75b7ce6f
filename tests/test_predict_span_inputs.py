"""`nerkit predict` on what annotation tools hold: every text, labelled or not, and `--resume` after `--to`.

- a brat folder (`--format brat`, or auto): every NAME.txt, .ann or not, sorted, NAME as the record id;
- a Label Studio file: every task, whatever `--format` says (the training reader skips unlabelled
  tasks; pre-annotation is for exactly those), a JSON-MIN task's rows once;
- `--resume` after a finished `--to` run: the tool file is checked against the input and nothing is redone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from toolkit.cli import main
from toolkit.predict.annotation_tools import label_studio_task
from toolkit.predict.inputs import InputSpec, detect_format, read_docs

TEXTS = ["\U0001F431 John Smith visited Paris.", "Zoë Müller met the EU in Genève.", "no entities here"]


def _predict(model, source, output, *extra) -> int:
    return main(["predict", "--model", str(model), "--input", str(source), "--output", str(output), "--no-progress",
                 *map(str, extra)])


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# ---- brat ------------------------------------------------------------------------------------------------
def _brat_folder(root: Path) -> Path:
    folder = root / "brat"
    folder.mkdir()
    (folder / "b-second.txt").write_text(TEXTS[1], encoding="utf-8")
    (folder / "b-second.ann").write_text("T1\tPER 0 10\tZoë Müller\n", encoding="utf-8")
    (folder / "a-first.txt").write_bytes(b"\xef\xbb\xbf" + TEXTS[0].encode())  # a BOM: brat counts it
    (folder / "a-first.ann").write_text("", encoding="utf-8")
    (folder / "c-unlabelled.txt").write_text(TEXTS[2], encoding="utf-8")  # no .ann yet: still predicted
    (folder / "notes.md").write_text("not a text", encoding="utf-8")
    return folder


def test_a_brat_folder_is_read_text_by_text(tmp_path):
    folder = _brat_folder(tmp_path)
    assert detect_format(str(folder)) == "brat"
    for fmt in ("brat", "auto"):
        docs, kind = read_docs(InputSpec(str(folder), fmt))
        assert kind == "brat"
        assert [d.id for d in docs] == ["a-first", "b-second", "c-unlabelled"]
        assert [d.text for d in docs] == ["\ufeff" + TEXTS[0], TEXTS[1], TEXTS[2]]
        assert [d.index for d in docs] == [0, 1, 2]


def test_a_folder_of_txt_files_alone_needs_format_brat(tmp_path):
    """A CoNLL dataset folder (train.txt, test.txt) is not guessed to be brat texts."""
    folder = tmp_path / "conll"
    folder.mkdir()
    (folder / "test.txt").write_text("EU B-ORG\n", encoding="utf-8")
    assert detect_format(str(folder)) == "dataset"
    assert [d.id for d in read_docs(InputSpec(str(folder), "brat"))[0]] == ["test"]


def test_brat_format_on_a_file_or_an_empty_folder_says_what_it_reads(tmp_path):
    from nercore.errors import UserError

    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no .txt files"):
        read_docs(InputSpec(str(tmp_path / "empty"), "brat"))
    one = tmp_path / "one.txt"
    one.write_text("hello", encoding="utf-8")
    with pytest.raises(UserError, match="folder"):
        read_docs(InputSpec(str(one), "brat"))


def test_nerkit_predict_on_a_brat_folder(tiny_bert, tmp_path):
    folder = _brat_folder(tmp_path)
    out = tmp_path / "brat.jsonl"
    assert _predict(tiny_bert, folder, out, "--format", "brat") == 0
    records = _records(out)
    assert [(r["index"], r["id"], r["text"]) for r in records] == [
        (0, "a-first", "\ufeff" + TEXTS[0]), (1, "b-second", TEXTS[1]), (2, "c-unlabelled", TEXTS[2])]
    for record in records:
        for entity in record["entities"]["first"]:
            assert record["text"][entity["start"]:entity["end"]].strip()


# ---- Label Studio: every task ------------------------------------------------------------------------------
def _label_studio_export(root: Path) -> Path:
    tasks = [label_studio_task(TEXTS[0], annotations=[(2, 12, "PER")]),
             {"data": {"text": TEXTS[1]}, "annotations": []},  # not labelled yet
             {"data": {"text": TEXTS[2]}, "annotations": [{"was_cancelled": True, "result": []}]}]
    for number, task in enumerate(tasks, start=10):
        task["id"] = number
    path = root / "export.json"
    path.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["label-studio", "auto", "jsonl"])
def test_every_label_studio_task_is_read_whatever_the_format_flag(tmp_path, fmt):
    docs, _kind = read_docs(InputSpec(str(_label_studio_export(tmp_path)), fmt))
    assert [(d.id, d.text) for d in docs] == [(10, TEXTS[0]), (11, TEXTS[1]), (12, TEXTS[2])]


def test_label_studio_text_field_follows_the_training_reader(tmp_path):
    path = tmp_path / "content.json"
    path.write_text(json.dumps([{"id": 1, "data": {"content": TEXTS[0], "image": "x.png"}}]), encoding="utf-8")
    for fmt in ("label-studio", "auto"):
        assert [d.text for d in read_docs(InputSpec(str(path), fmt))[0]] == [TEXTS[0]]
    from nercore.errors import UserError

    with pytest.raises(UserError, match="--text-field"):
        read_docs(InputSpec(str(path), "label-studio", text_field="body"))


def test_a_json_min_task_is_one_record_however_many_annotators(tmp_path):
    rows = [{"id": 5, "text": TEXTS[0], "annotator": 1, "annotation_id": 1,
             "label": [{"start": 2, "end": 12, "text": "John Smith", "labels": ["PER"]}]},
            {"id": 5, "text": TEXTS[0], "annotator": 2, "annotation_id": 2,
             "label": [{"start": 2, "end": 12, "text": "John Smith", "labels": ["PER"]}]},
            {"id": 6, "text": TEXTS[1], "annotator": 1, "annotation_id": 3}]
    path = tmp_path / "min.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    for fmt in ("label-studio", "auto"):
        assert [(d.id, d.text) for d in read_docs(InputSpec(str(path), fmt))[0]] == [(5, TEXTS[0]), (6, TEXTS[1])]


def test_label_studio_tasks_as_json_lines_stream_from_their_data(tiny_bert, tmp_path):
    """A tasks file one task a line is streamed; each task's text still comes from its data."""
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps({"id": i, "data": {"text": t}}, ensure_ascii=False) + "\n"
                            for i, t in enumerate(TEXTS)), encoding="utf-8")
    out = tmp_path / "tasks.out.jsonl"
    assert _predict(tiny_bert, path, out) == 0
    assert [(r["id"], r["text"]) for r in _records(out)] == list(enumerate(TEXTS))


def test_predict_format_label_studio_pre_annotates_every_task(tiny_bert, tmp_path):
    out = tmp_path / "pre.json"
    assert _predict(tiny_bert, _label_studio_export(tmp_path), out, "--format", "label-studio",
                    "--to", "label-studio") == 0
    written = json.loads(out.read_text(encoding="utf-8"))
    assert [t["data"]["text"] for t in written] == TEXTS
    assert [t["meta"]["nerkit_id"] for t in written] == [10, 11, 12]


# ---- --resume after a finished --to run ----------------------------------------------------------------------
@pytest.mark.parametrize("tool,name", [("label-studio", "tasks.json"), ("doccano", "d.jsonl"), ("prodigy", "p.jsonl")])
def test_resume_after_a_finished_to_run_redoes_nothing(tiny_bert, tmp_path, capsys, monkeypatch, tool, name):
    source = tmp_path / "corpus.txt"
    source.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    out = tmp_path / name
    assert _predict(tiny_bert, source, out, "--to", tool) == 0
    before = out.read_bytes()
    assert not list(tmp_path.glob(name + ".records.jsonl*"))
    capsys.readouterr()

    import toolkit.predict.run as run

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded again for a finished run")

    monkeypatch.setattr(run, "load_pipeline", no_model)
    assert _predict(tiny_bert, source, out, "--to", tool, "--resume") == 0
    said = capsys.readouterr()
    assert f"already holds all {len(TEXTS)} records of this input; nothing to redo" in said.err
    assert f"({len(TEXTS)} already there)" in said.out
    assert out.read_bytes() == before and not list(tmp_path.glob(name + ".records.jsonl*"))


def test_resume_on_a_tool_file_of_another_input_is_refused(tiny_bert, tmp_path, capsys):
    source = tmp_path / "corpus.txt"
    source.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    out = tmp_path / "tasks.json"
    assert _predict(tiny_bert, source, out, "--to", "label-studio") == 0
    before = out.read_bytes()
    capsys.readouterr()

    def refused(lines, *extra) -> str:
        source.write_text("\n".join(lines) + "\n", encoding="utf-8")
        assert _predict(tiny_bert, source, out, "--to", "label-studio", "--resume", *extra) == 2
        return capsys.readouterr().err

    assert "tasks.json record 3: its text differs" in refused(TEXTS[:2] + ["another text"])
    assert "Run without --resume" in refused(TEXTS + ["one more"]) and "holds 3 records but the input has 4" in \
        refused(TEXTS + ["one more"])
    assert "its predictions are" in refused(TEXTS, "--strategies", "first,max")  # another --strategies
    assert out.read_bytes() == before


def test_label_studio_tasks_go_back_under_their_own_text_field(tiny_bert, tmp_path, capsys):
    """Tasks whose text sits in data.content (a project's <Text value="$content">) get their pre-annotations
    under data.content again, so they import into that project; --resume reads that field back."""
    from toolkit.data import read_span_file

    tasks = [{"id": i, "data": {"content": text, "image": "x.png"}} for i, text in enumerate(TEXTS)]
    source = tmp_path / "project.json"
    source.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "pre.json"
    assert _predict(tiny_bert, source, out, "--to", "label-studio") == 0
    written = json.loads(out.read_text(encoding="utf-8"))
    assert [t["data"] for t in written] == [{"content": text} for text in TEXTS]
    from test_round_trip import accepted_in_label_studio

    exported = tmp_path / "exported.json"  # each prediction accepted in that project, then exported
    exported.write_text(json.dumps(accepted_in_label_studio(written), ensure_ascii=False), encoding="utf-8")
    assert read_span_file(exported, "label-studio").texts == TEXTS
    capsys.readouterr()
    assert _predict(tiny_bert, source, out, "--to", "label-studio", "--resume") == 0
    assert "nothing to redo" in capsys.readouterr().err
