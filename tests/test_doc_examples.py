"""Every `nerkit` example in the docs and in `--help` parses: a doc cannot name a flag combination the
parser refuses. (What the commands then do is tested elsewhere; here only the argument parsing runs.)"""

from __future__ import annotations

import argparse
import re
import shlex
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
