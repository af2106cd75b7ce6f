"""`nerkit predict`: the four input kinds, bad input, resume, shards merged in order, torchrun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require

from conftest import REPO_ROOT
from nercore.thresholds import entity_units
from toolkit.cli import main

CONLL = """-DOCSTART- -X- -X- O

Acme NNP B-NP B-ORG
hires VBZ B-VP O
Danish JJ B-NP B-MISC
staff NN I-NP O
. . O O

Mara NNP B-NP B-PER
Lindqvist NNP I-NP I-PER
"""
TEXTS = ["John Smith visited Paris, France.", "", "The council of Oslo hires Danish staff for the Fjord museum."]


def predict(model: Path, source, output: Path, *extra: str) -> int:
    return main(["predict", "--model", str(model), "--input", str(source), "--output", str(output),
                 "--no-progress", *extra])


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def engine_output(model: Path, texts: list[str], strategies=None) -> list[dict]:
    from transformers import AutoTokenizer

    from nercore.engine import predict_all_batch
    from toolkit.model_loading import load_model
    from toolkit.model_loading import build_pipeline

    pipe = build_pipeline(load_model(str(model), device="cpu"), AutoTokenizer.from_pretrained(str(model)))
    return predict_all_batch(pipe, texts, strategies, 4, max_chars=None)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ---- the four input kinds ------------------------------------------------------------------------------------


def test_text_input_all_strategies_equal_the_engine(tiny_bert, tmp_path):
    from nercore.strategies import validate_strategies

    source = write(tmp_path / "in.txt", "\n".join(TEXTS) + "\n")
    out = tmp_path / "out.jsonl"
    assert predict(tiny_bert, source, out, "--strategies", "all", "--batch-size", "2") == 0
    rows = records(out)
    assert [r["index"] for r in rows] == [0, 1, 2], "one record per line, blank lines kept, no extra one at the end"
    assert [r["text"] for r in rows] == TEXTS
    assert all(tuple(r["entities"]) == validate_strategies("all") for r in rows)
    assert rows[1]["entities"] == {name: [] for name in validate_strategies("all")}
    assert [r["entities"] for r in rows] == engine_output(tiny_bert, TEXTS)
    spans = [s for r in rows for group in r["entities"].values() for s in group]
    assert spans and all(type(s["score"]) is float and type(s["start"]) is int for s in spans)
    assert {"entity_group", "score", "start", "end", "word"} <= set(rows[0]["entities"]["first"][0])
    assert not (tmp_path / "out.jsonl.partial").exists()


def test_min_score_keeps_only_entities_scored_at_least_it(tiny_bert, tmp_path, capsys):
    source = write(tmp_path / "in.txt", "\n".join(TEXTS) + "\n")
    full, kept = tmp_path / "all.jsonl", tmp_path / "kept.jsonl"
    assert predict(tiny_bert, source, full, "--strategies", "all") == 0
    everything = [r["entities"] for r in records(full)]
    scores = sorted(e["score"] for found in everything for group in found.values() for e in group)
    cut = scores[len(scores) // 2]
    assert predict(tiny_bert, source, kept, "--strategies", "all", "--min-score", str(cut)) == 0
    for text, before, after in zip(TEXTS, everything, [r["entities"] for r in records(kept)]):
        for strategy, group in before.items():
            # whole entities, each strategy on its own: a `none` token stays or goes with its span, by
            # the span's mean score (nercore.thresholds, the Space's rule); a grouped entity by its score
            units = entity_units(group, text)
            assert after[strategy] == [group[i] for _key, score, members in units if score >= cut for i in members]
            if "entity_group" in (group or [{}])[0]:
                assert after[strategy] == [e for e in group if e["score"] >= cut]
    assert sum(len(g) for r in records(kept) for g in r["entities"].values()) < len(scores)
    assert predict(tiny_bert, source, tmp_path / "bad.jsonl", "--min-score", "1.5") == 2
    assert "--min-score 1.5: expected a number from 0 to 1" in capsys.readouterr().err
    assert not (tmp_path / "bad.jsonl").exists()


def test_default_strategy_and_a_long_text_in_windows(tiny_bert, tmp_path):
    long_text = " ".join(["John Smith visited Paris and London with Mara Lindqvist ."] * 40)  # >> 128 tokens
    source = write(tmp_path / "in.txt", long_text + "\n")
    out = tmp_path / "out.jsonl"
    assert predict(tiny_bert, source, out) == 0
    (row,) = records(out)
    assert list(row["entities"]) == ["first"]
    assert row["entities"] == engine_output(tiny_bert, [long_text], "first")[0]
    assert max(s["end"] for s in row["entities"]["first"]) > len(long_text) // 2, "the whole text is covered"


def test_jsonl_input_with_text_field_ids_and_token_lists(tiny_bert, tmp_path):
    lines = [{"doc": "a1", "body": TEXTS[0]}, {"doc": 7, "body": ["Mara", "Lindqvist", "said"]}]
    source = write(tmp_path / "in.jsonl", "\n".join(json.dumps(line) for line in lines) + "\n\n")
    out = tmp_path / "out.jsonl"
    assert predict(tiny_bert, source, out, "--text-field", "body", "--id-field", "doc", "--strategies", "first,max") == 0
    rows = records(out)
    assert [(r["index"], r["id"], r["text"]) for r in rows] == [(0, "a1", TEXTS[0]), (1, 7, "Mara Lindqvist said")]
    assert all(list(r["entities"]) == ["first", "max"] for r in rows)


def test_conll_input_joins_each_sentences_tokens(tiny_bert, tmp_path):
    source = write(tmp_path / "test.txt", CONLL)  # .txt starting with -DOCSTART-: CoNLL, as the CoNLL-2003 files
    out = tmp_path / "out.jsonl"
    assert predict(tiny_bert, source, out) == 0
    assert [r["text"] for r in records(out)] == ["Acme hires Danish staff .", "Mara Lindqvist"]
    tokens_only = write(tmp_path / "tokens.conll", "Acme\nhires\n\nMara\nLindqvist\n")
    assert predict(tiny_bert, tokens_only, out) == 0
    assert [r["text"] for r in records(out)] == ["Acme hires", "Mara Lindqvist"]


def test_csv_input_goes_through_the_data_registrys_reader(tiny_bert, tmp_path):
    """Issue 15: predict reads the data registry's formats, so a CSV a user trains on can be predicted too."""
    source = write(tmp_path / "dev.csv", 'tokens,ner_tags,document_id\n"Acme hires",B-ORG O,d1\n"Mara Lindqvist",B-PER I-PER,d1\n')
    out = tmp_path / "out.jsonl"
    assert predict(tiny_bert, source, out) == 0
    assert [r["text"] for r in records(out)] == ["Acme hires", "Mara Lindqvist"]


def test_a_new_data_reader_reaches_predict_with_no_edit_there(tiny_bert, tmp_path, monkeypatch, capsys):
    """A format added to `toolkit.data.registry.READERS` (one line there) is a --format choice of predict and
    picked by its extension."""
    from toolkit.data import registry
    from toolkit.data.raw import RawSplit

    def read_pipes(text, file, options):  # "token|tag token|tag" per line
        rows = [[pair.split("|") for pair in line.split()] for line in text.splitlines() if line.strip()]
        return RawSplit(tokens=[[t for t, _ in row] for row in rows], tags=[[g for _, g in row] for row in rows], file=file)

    pipes = registry.Reader("pipes", (".pipes",), read_pipes, "token|tag pairs, one sentence per line")
    monkeypatch.setattr(registry, "READERS", (*registry.READERS, pipes))
    monkeypatch.setitem(registry.EXTENSIONS, ".pipes", pipes)
    source = write(tmp_path / "in.pipes", "Acme|B-ORG hires|O\nMara|B-PER Lindqvist|I-PER\n")
    out = tmp_path / "out.jsonl"
    assert predict(tiny_bert, source, out) == 0
    assert [r["text"] for r in records(out)] == ["Acme hires", "Mara Lindqvist"]
    assert predict(tiny_bert, write(tmp_path / "in.txt", "Acme|B-ORG hires|O\n"), out, "--format", "pipes") == 0
    assert [r["text"] for r in records(out)] == ["Acme hires"]
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    assert "pipes     .pipes: token|tag pairs, one sentence per line" in capsys.readouterr().out


def test_dataset_input_from_a_save_to_disk_folder(tiny_bert, tmp_path):
    import datasets

    folder = tmp_path / "ds"
    datasets.DatasetDict({
        "train": datasets.Dataset.from_dict({"tokens": [["x"]]}),
        "test": datasets.Dataset.from_dict({"tokens": [["Acme", "hires"], ["Mara", "Lindqvist"]], "id": ["s1", "s2"]}),
    }).save_to_disk(str(folder))
    out = tmp_path / "out.jsonl"
    assert predict(tiny_bert, folder, out, "--split", "test") == 0
    assert [(r["id"], r["text"]) for r in records(out)] == [("s1", "Acme hires"), ("s2", "Mara Lindqvist")]
    datasets.Dataset.from_dict({"text": TEXTS}).save_to_disk(str(tmp_path / "one"))
    assert predict(tiny_bert, tmp_path / "one", out) == 0
    assert [r["text"] for r in records(out)] == TEXTS


# ---- bad input: file:line, exit 2, nothing written ------------------------------------------------------------


@pytest.mark.parametrize("name, content, extra, expected", [
    ("in.jsonl", '{"text": "a"}\n{"text": "b"}\n{"text": "c",\n', (), "in.jsonl:3 column 14: not valid JSON"),
    ("in.jsonl", '{"text": "a"}\n{"body": "b"}\n', (), "in.jsonl:2: no 'text' field"),
    ("in.jsonl", '{"text": "a"}\n["b"]\n', (), "in.jsonl:2: expected an object"),
    ("in.jsonl", '{"text": 3}\n', (), "in.jsonl:1: 'text' must be a string"),
    ("in.conll", "Acme B-ORG\nhires O\n\nMara B-PER x\n", (), "in.conll line 4: expected 2 columns"),
    ("in.conll", "Acme\nhires\n\nMara B-PER\n", (), "in.conll:4: expected one token per line"),
    ("in.txt", "", (), "holds no documents"),
    ("in.txt", "fine\n", ("--strategies", "first,bogus"), "unknown aggregation strategy 'bogus'"),
    ("in.txt", "fine\n", ("--batch-size", "0"), "--batch-size 0"),
])
def test_bad_input_names_the_line_and_writes_nothing(tiny_bert, tmp_path, capsys, name, content, extra, expected):
    source = write(tmp_path / name, content)
    out = tmp_path / "out.jsonl"
    assert predict(tiny_bert, source, out, *extra) == 2
    assert expected in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == [name], "no output, no .partial"


def test_bad_paths_and_dataset_choices(tiny_bert, tmp_path, capsys):
    import datasets

    out = tmp_path / "out.jsonl"
    assert predict(tiny_bert, tmp_path / "missing.txt", out) == 2
    assert "missing.txt: no such file" in capsys.readouterr().err
    datasets.DatasetDict({s: datasets.Dataset.from_dict({"words": [["a"]]}) for s in ("train", "test")}).save_to_disk(
        str(tmp_path / "ds"))
    assert predict(tiny_bert, tmp_path / "ds", out) == 2
    assert "choose one with --split" in capsys.readouterr().err
    assert predict(tiny_bert, tmp_path / "ds", out, "--split", "test") == 2
    assert "no 'text' or 'tokens' column; available columns: words" in capsys.readouterr().err
    assert predict(tiny_bert, tmp_path / "ds", tmp_path / "good.jsonl", "--split", "test", "--tokens-field", "words") == 0
    assert records(tmp_path / "good.jsonl")[0]["text"] == "a"
    (tmp_path / "folder").mkdir()
    assert predict(tiny_bert, tmp_path / "folder", out) == 2
    assert "not one written by datasets' save_to_disk" in capsys.readouterr().err
    assert predict(tiny_bert, "nobody/no-such-dataset", out) == 2  # a Hub id (tests run offline)
    assert "cannot load dataset 'nobody/no-such-dataset'" in capsys.readouterr().err
    source = write(tmp_path / "in.txt", "a\n")
    assert predict(tiny_bert, source, source) == 2
    assert "is the input file" in capsys.readouterr().err
    assert not out.exists()


# ---- resume ---------------------------------------------------------------------------------------------------


def test_resume_keeps_verified_records_and_repairs_a_truncated_line(tiny_bert, tmp_path, capsys):
    texts = [f"John Smith visited Paris {i} times." for i in range(7)]
    source = write(tmp_path / "in.txt", "\n".join(texts) + "\n")
    full = tmp_path / "full.jsonl"
    assert predict(tiny_bert, source, full, "--strategies", "all") == 0
    lines = full.read_text(encoding="utf-8").splitlines(keepends=True)

    out = tmp_path / "out.jsonl"
    kept = json.loads(lines[1])
    kept["entities"]["first"] = [{"entity_group": "KEPT", "score": 1.0, "word": "x", "start": 0, "end": 1}]
    partial = lines[0] + json.dumps(kept) + "\n" + lines[2][:25]  # interrupted in the middle of record 2
    write(tmp_path / "out.jsonl.partial", partial)
    assert predict(tiny_bert, source, out, "--strategies", "all", "--resume") == 0
    assert "(2 already there)" in capsys.readouterr().out
    rows = records(out)
    assert rows[1]["entities"]["first"][0]["entity_group"] == "KEPT", "records already written are not redone"
    rows[1] = json.loads(lines[1])
    assert rows == records(full) and not (tmp_path / "out.jsonl.partial").exists()

    # a finished output resumes to itself; one from another input is refused with file:line
    assert predict(tiny_bert, source, out, "--strategies", "all", "--resume") == 0
    assert "(7 already there)" in capsys.readouterr().out
    before = out.read_bytes()
    write(tmp_path / "other.txt", "\n".join([texts[0], "something else", *texts[2:]]) + "\n")
    assert predict(tiny_bert, tmp_path / "other.txt", out, "--strategies", "all", "--resume") == 2
    assert "out.jsonl:2: its text differs from input record 1" in capsys.readouterr().err
    write(tmp_path / "fewer.txt", "\n".join(texts[:3]) + "\n")
    assert predict(tiny_bert, tmp_path / "fewer.txt", out, "--strategies", "all", "--resume") == 2
    assert "holds 7 records but the input has only 3" in capsys.readouterr().err
    assert predict(tiny_bert, source, out, "--strategies", "first", "--resume") == 2
    assert "out.jsonl:1: it has the strategies" in capsys.readouterr().err
    assert out.read_bytes() == before, "a refused resume leaves the output alone"


# ---- backends and processes -----------------------------------------------------------------------------------


def test_the_backend_really_runs_the_onnx_file(tiny_bert, tmp_path, capsys):
    """No stub: without onnx/ the int8 backend is refused; after `nerkit export` it runs and agrees with torch."""
    import shutil

    require("onnxruntime")
    from toolkit.export import export_onnx

    run = Path(shutil.copytree(tiny_bert, tmp_path / "run"))
    source = write(tmp_path / "in.txt", "Mara Lindqvist visited London\nJohn Smith met the EU in Paris\n")
    assert predict(run, source, tmp_path / "none.jsonl", "--backend", "onnx-int8") == 2
    assert "onnx" in capsys.readouterr().err.lower()
    export_onnx(run)
    assert predict(run, source, tmp_path / "int8.jsonl", "--backend", "onnx-int8", "--strategies", "none") == 0
    assert predict(run, source, tmp_path / "torch.jsonl", "--strategies", "none") == 0
    int8 = [json.loads(line) for line in (tmp_path / "int8.jsonl").read_text().splitlines()]
    torch_ = [json.loads(line) for line in (tmp_path / "torch.jsonl").read_text().splitlines()]
    labels = lambda records: [e["entity"] for r in records for e in r["entities"]["none"]]  # noqa: E731
    assert len(labels(torch_)) > 3
    assert sum(a == b for a, b in zip(labels(int8), labels(torch_))) >= 0.8 * len(labels(torch_))


def test_ranks_write_shards_and_rank_0_merges_them_in_input_order(tiny_bert, tmp_path, monkeypatch, capsys):
    """The torchrun protocol in one process: rank 1 writes its shard and leaves, rank 0 merges."""
    texts = [f"Mara Lindqvist visited Paris {i} times." for i in range(5)]
    source = write(tmp_path / "in.txt", "\n".join(texts) + "\n")
    single = tmp_path / "single.jsonl"
    assert predict(tiny_bert, source, single) == 0
    out = tmp_path / "out.jsonl"
    monkeypatch.setenv("WORLD_SIZE", "2")
    for rank in ("1", "0"):
        monkeypatch.setenv("RANK", rank)
        assert predict(tiny_bert, source, out) == 0
    assert out.read_bytes() == single.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "out.jsonl", "single.jsonl"], "shards removed"
    assert capsys.readouterr().out.count("by 2 processes") == 1, "only rank 0 reports"
    for rank in ("1", "0"):  # resuming a finished multi-process run predicts nothing
        monkeypatch.setenv("RANK", rank)
        assert predict(tiny_bert, source, out, "--resume") == 0
    assert "(5 already there) by 2 processes" in capsys.readouterr().out
    assert out.read_bytes() == single.read_bytes()


def test_records_hold_plain_python_values():
    import math

    import numpy as np

    from toolkit.predict.inputs import Doc
    from toolkit.predict.output import make_record, record_line

    span = {"entity_group": "PER", "score": np.float32(0.5), "start": np.int64(0), "end": np.int32(4), "word": "John"}
    record = make_record(Doc(3, "John", "x"), {"first": [span], "max": [{**span, "score": np.float64(math.nan)}]})
    first = record["entities"]["first"][0]
    assert [type(first[k]) for k in ("score", "start", "end")] == [float, int, int]
    assert record["entities"]["max"][0]["score"] is None, "NaN is not JSON"
    assert json.loads(record_line(record)) == record and list(record) == ["index", "id", "text", "entities"]


@pytest.mark.slow
def test_torchrun_two_cpu_processes(tiny_bert, tmp_path):
    texts = [f"John Smith visited Paris {i} times with Mara Lindqvist." for i in range(11)]
    source = write(tmp_path / "in.txt", "\n".join(texts) + "\n")
    single = tmp_path / "single.jsonl"
    assert predict(tiny_bert, source, single, "--strategies", "all") == 0
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "toolkit.cli",
         "predict", "--model", str(tiny_bert), "--input", str(source), "--output", str(out), "--strategies", "all",
         "--no-progress"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert out.read_bytes() == single.read_bytes()
    assert proc.stdout.count("wrote 11 records") == 1, proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "out.jsonl", "single.jsonl"]
