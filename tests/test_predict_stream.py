"""Streaming `nerkit predict`: a first pass checks every record (the last one too) before anything is written,
the second predicts chunk by chunk, and an interrupted run resumes to the same bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from toolkit.cli import main


def predict(model: Path, source, output: Path, *extra: str) -> int:
    return main(["predict", "--model", str(model), "--input", str(source), "--output", str(output),
                 "--no-progress", *extra])


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("kind, body, where", [
    ("jsonl", "".join(json.dumps({"text": f"John Smith {i}"}) + "\n" for i in range(300)) + '{"text": "oops"\n',
     "in.jsonl:301"),
    ("jsonl", "".join(json.dumps({"text": f"John Smith {i}"}) + "\n" for i in range(300)) + '{"txt": "x"}\n',
     "in.jsonl:301"),
    ("txt", "".join(f"John Smith {i}\n" for i in range(300)), "in.txt line 301"),
    ("conll", "".join(f"John\nSmith\n{i}\n\n" for i in range(300)) + "Paris is\n", "in.conll:1201"),
])
def test_a_bad_last_record_is_reported_with_its_line_and_nothing_is_written(tiny_bert, tmp_path, capsys, monkeypatch,
                                                                             kind, body, where):
    from toolkit.predict import inputs

    monkeypatch.setattr(inputs, "CONLL_CHUNK_LINES", 50)  # many chunks: line numbers still count from the top
    source = tmp_path / f"in.{kind}"
    data = body.encode("utf-8") + (b"Caf\xe9 Paris\n" if kind == "txt" else b"")  # Latin-1 on the last line
    source.write_bytes(data)
    out = tmp_path / "out.jsonl"
    assert predict(tiny_bert, source, out) == 2
    err = capsys.readouterr().err
    assert where in err, err
    assert names(tmp_path) == [source.name], "no output, no .partial"


def test_streamed_conll_equals_the_whole_file_reading(tmp_path, monkeypatch):
    from toolkit.predict import inputs

    blocks = []
    for doc in range(30):
        blocks.append("-DOCSTART- -X- -X- O\n\n")
        blocks += [f"Mara NNP B-NP B-PER\nvisited VBD B-VP O\nOslo{doc}-{s} NNP B-NP B-LOC\n\n" for s in range(4)]
    source = tmp_path / "in.conll"
    source.write_text("".join(blocks), encoding="utf-8")
    spec = inputs.InputSpec(str(source))
    whole, _ = inputs.read_docs(spec)
    monkeypatch.setattr(inputs, "CONLL_CHUNK_LINES", 7)
    streamed = list(inputs.DocStream(spec))
    assert [(d.index, d.text) for d in streamed] == [(d.index, d.text) for d in whole]
    same = lambda docs: [a.document == b.document for a, b in zip(docs, docs[1:])]  # noqa: E731
    assert same(streamed) == same(whole), "documents are kept whole and apart"
    assert len(inputs.DocStream(spec)) == 120


def test_an_interrupted_streaming_run_resumes_to_the_same_bytes(tiny_bert, tmp_path, monkeypatch):
    import nercore.engine as engine

    lines = [f"John Smith visited Paris {i} times." if i % 3 else f"Mara Lindqvist {i}" for i in range(200)]
    source = tmp_path / "in.txt"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    whole = tmp_path / "whole.jsonl"
    assert predict(tiny_bert, source, whole, "--batch-size", "2", "--strategies", "all") == 0

    real, calls = engine.predict_all_batch, []

    def stopped(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:  # the load check, two chunks of 64, then the third chunk is interrupted
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    out = tmp_path / "out.jsonl"
    monkeypatch.setattr(engine, "predict_all_batch", stopped)
    assert predict(tiny_bert, source, out, "--batch-size", "2", "--strategies", "all") == 130
    partial = tmp_path / "out.jsonl.partial"
    assert not out.exists() and len(partial.read_bytes().splitlines()) == 128
    with open(partial, "ab") as handle:
        handle.write(b'{"index": 128, "te')  # a write cut short
    monkeypatch.setattr(engine, "predict_all_batch", real)
    assert predict(tiny_bert, source, out, "--batch-size", "2", "--strategies", "all", "--resume") == 0
    assert out.read_bytes() == whole.read_bytes()
    assert not partial.exists()
