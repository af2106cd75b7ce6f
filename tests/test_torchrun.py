"""The `torchrun` recipe of docs/cli.md#more-than-one-machine, with 2 processes on one machine (gloo): `nerkit train`
and `nerkit predict` give what one process gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO_ROOT, TESTS_DIR
from toolkit.cli import main

TINY_CONLL = TESTS_DIR / "data" / "tiny_conll"


def torchrun(*args: str, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=2",
                           "--rdzv-backend=c10d", "--rdzv-endpoint=127.0.0.1:0", "-m", "toolkit.cli", *args],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=900)


@pytest.fixture(scope="module")
def no_dropout_bert(tiny_bert, tmp_path_factory):
    """The tiny BERT without dropout, so two processes draw no random numbers the single one would not."""
    import shutil

    folder = tmp_path_factory.mktemp("nodrop") / "bert"
    shutil.copytree(tiny_bert, folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.mark.slow
def test_two_process_training_equals_one_process_with_the_same_global_batch(no_dropout_bert, tmp_path):
    """2 processes x batch 4 against 1 process x batch 4 x 2 accumulation steps: the same optimizer steps on
    the same length-grouped sentences, so the same weights and validation F1. (Before: the grouped sampler
    grouped per process, and the Trainer's token-count scaling doubled the loss on 2 processes.)"""
    from safetensors.torch import load_file

    common = ["train", "--model", str(no_dropout_bert), "--dataset", str(TINY_CONLL), "--epochs", "2",
              "--learning-rate", "5e-4", "--seed", "1", "--batch-size", "4"]
    single = tmp_path / "single"
    assert main([*common, "--gradient-accumulation-steps", "2", "--output-dir", str(single)]) == 0
    proc = torchrun(*common, "--output-dir", str(tmp_path / "ddp"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    logs = [json.loads((tmp_path / name / "training_log.json").read_text()) for name in ("single", "ddp")]
    assert [row["step"] for row in logs[0]["epochs"]] == [row["step"] for row in logs[1]["epochs"]]
    assert [row["eval_f1"] for row in logs[0]["epochs"]] == [row["eval_f1"] for row in logs[1]["epochs"]]
    for one, two in zip(logs[0]["epochs"], logs[1]["epochs"]):  # distributed eval pads its last batch: close, not equal
        assert one["eval_loss"] == pytest.approx(two["eval_loss"], rel=2e-3)
    a, b = (load_file(str(tmp_path / name / "model.safetensors")) for name in ("single", "ddp"))
    worst = max(float((a[key] - b[key]).abs().max()) for key in a)
    assert worst <= 1e-6, f"weights differ by {worst} after 10 steps of lr 5e-4"


@pytest.mark.slow
def test_two_process_streaming_predict_on_documents_equals_one_process(tiny_bert, tmp_path):
    blocks = []
    for doc in range(7):
        blocks.append("-DOCSTART-\n\n")
        blocks += [f"Mara\nLindqvist\nvisited\nOslo\n{doc}{s}\n\n" for s in range(1 + doc % 3)]
    source = tmp_path / "in.conll"
    source.write_text("".join(blocks), encoding="utf-8")
    single = tmp_path / "single.jsonl"
    assert main(["predict", "--model", str(tiny_bert), "--input", str(source), "--output", str(single),
                 "--strategies", "all", "--no-progress"]) == 0
    out = tmp_path / "out.jsonl"
    proc = torchrun("predict", "--model", str(tiny_bert), "--input", str(source), "--output", str(out),
                    "--strategies", "all", "--no-progress", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert out.read_bytes() == single.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.conll", "out.jsonl", "single.jsonl"], "shards merged away"
