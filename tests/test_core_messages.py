"""Core messages are neutral (the Space shows them to visitors); the toolkit adds the command.

Issue 24: "run `nerkit export`" came out of `nercore/backends.py` (now `nercore/backends/`) into the Space. The core now says
what fixes a problem in words ("export an ONNX model first") and tags the error with its step
(`UserError.step`); `toolkit.steps.with_command` adds `nerkit <step>` where the toolkit re-raises
and where the CLI prints.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import pytest

from nercore.errors import STEPS, UserError
from toolkit.cli import main
from toolkit.steps import COMMANDS, step_of, with_command

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
# A toolkit command in a message: `nerkit evaluate`, "re-run the nerkit command", a CLI flag.
TOOLKIT_WORDS = re.compile(r"\bnerkit (?:\w+ )?command\b|`nerkit\b|\bnerkit (?:train|evaluate|export|calibrate|predict|card|"
                           r"push|publish|audit)\b|(?<![\w-])--[a-z][a-z-]+")


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def toolkit_words_in(source: str, name: str) -> list[str]:
    """The string constants of `source` (docstrings aside) that name a toolkit command or flag."""
    tree = ast.parse(source, name)
    skip = _docstrings(tree)
    return [f"{name}:{node.lineno}: {node.value!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
            and TOOLKIT_WORDS.search(node.value)]


def test_core_messages_name_no_toolkit_command():
    found = [hit for path in sorted((ROOT / "nercore").rglob("*.py"))
             for hit in toolkit_words_in(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert not found, "core strings reach Space visitors: say the fix in words and set UserError(step=...)\n" + "\n".join(found)


@pytest.mark.parametrize("planted", [
    'raise ValueError("x has no onnx/model.onnx; write it with `nerkit export x`")',
    'MESSAGE = "Re-run the nerkit command that wrote it."',
    'raise ValueError(f"{path}: pass --context-tokens 0")',
])
def test_the_scan_catches_a_planted_command(planted):
    assert toolkit_words_in(f'"""A docstring may say `nerkit export`."""\n{planted}\n', "planted.py")


def test_step_must_be_known():
    assert UserError("x", step="export").step == "export" and UserError("x").step is None
    with pytest.raises(ValueError, match="expected one of"):
        UserError("x", step="nerkit export")


def test_with_command_follows_the_cause_and_never_repeats():
    try:
        try:
            raise UserError("m has no onnx/model.onnx; export an ONNX model first.", step="export")
        except UserError as core:
            raise UserError(f"--backend onnx: {core}") from core
    except UserError as wrapped:
        assert step_of(wrapped) == "export"
        assert with_command(str(wrapped), wrapped, "runs/m").endswith("first. Run `nerkit export runs/m`.")
        said = with_command(str(wrapped), wrapped)
        assert with_command(said, wrapped) == said  # already named: not twice
    plain = UserError("no step")
    assert with_command("no step", plain) == "no step"
    assert set(COMMANDS) == set(STEPS)


def test_cli_adds_the_command_to_a_core_message(tmp_path, capsys):
    run = Path(shutil.copytree(DATA / "run_fixture", tmp_path / "run"))
    data = json.loads((run / "eval_results.json").read_text(encoding="utf-8"))
    data["overall"]["f1"] = 7  # out of [0, 1]: the core's EvalResults refuses it
    (run / "eval_results.json").write_text(json.dumps(data), encoding="utf-8")
    assert main(["card", str(run)]) == 2
    message = capsys.readouterr().err
    assert "Evaluate the model again to rewrite the file" in message and message.rstrip().endswith("Run `nerkit evaluate`.")


def test_core_record_errors_carry_their_step(tmp_path):
    from nercore.runfolder.records import Calibration, TrainingLog

    (tmp_path / "training_log.json").write_text('{"epochs": 3}', encoding="utf-8")
    with pytest.raises(UserError, match="Train the model again") as raised:
        TrainingLog.read(tmp_path)
    assert raised.value.step == "train" and "nerkit" not in str(raised.value)
    (tmp_path / "calibration.json").write_text('{"temperature": -1}', encoding="utf-8")
    with pytest.raises(UserError, match="calibrate again") as raised:
        Calibration.read(tmp_path)
    assert raised.value.step == "calibrate"
