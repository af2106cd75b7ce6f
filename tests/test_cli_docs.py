"""docs/cli.md documents every flag of every `nerkit` command: each parser's option strings are
compared with the page, so a flag added to a command without a word in the docs fails here.

A command's section starts at the heading that names it alone (`## \\`nerkit train\\``) and runs until
the next heading naming another command, or the next `##` heading (so `### Document context` belongs
to train and `### Dry run` to push). A flag several commands share by one definition (same help
text: the data flags, train's flags in `publish`) may be documented once, in any of their sections.
"""

from __future__ import annotations

import argparse
import re

import pytest

from conftest import REPO_ROOT
from toolkit.cli import build_parser

CLI_MD = REPO_ROOT / "docs" / "cli.md"
COMMAND_HEADING = re.compile(r"`nerkit ([a-z-]+)`")


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
    return dict(action.choices)


def flags(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Each option string (long and short) of a parser, with its help text; --help left out."""
    found = {}
    for action in parser._actions:  # noqa: SLF001
        if isinstance(action, argparse._HelpAction):  # noqa: SLF001
            continue
        for option in action.option_strings:
            found[option] = action.help or ""
    return found


def sections(text: str) -> dict[str, str]:
    """Command name -> the text of its section (fenced code blocks included, headings inside them ignored)."""
    out: dict[str, list[str]] = {}
    current, fenced = None, False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        heading = re.match(r"^(#{1,6})\s+(.*)$", line) if not fenced else None
        if heading:
            named = COMMAND_HEADING.findall(heading.group(2))
            if len(named) == 1:
                current = named[0]
            elif len(heading.group(1)) <= 2:
                current = None
        if current:
            out.setdefault(current, []).append(line)
    return {name: "\n".join(lines) for name, lines in out.items()}


def mentions(section: str, flag: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", section) is not None


def undocumented(parser: argparse.ArgumentParser, text: str) -> list[str]:
    """`nerkit CMD --flag` for every flag that neither CMD's section nor a sharing command's section names."""
    pages = sections(text)
    commands = subcommands(parser)
    options = {name: flags(sub) for name, sub in commands.items()}
    missing = []
    for name, own in options.items():
        for flag, help_text in own.items():
            if flag.startswith("-") and not flag.startswith("--"):
                continue  # a short alias: its long form is what the docs name
            sharing = [other for other, theirs in options.items() if theirs.get(flag) == help_text]
            if not any(mentions(pages.get(other, ""), flag) for other in sharing):
                missing.append(f"nerkit {name} {flag}")
    missing += [f"nerkit {name} (no section)" for name in commands if name not in pages]
    return missing


def test_every_command_has_a_section():
    pages = sections(CLI_MD.read_text(encoding="utf-8"))
    assert set(subcommands(build_parser())) <= set(pages), sorted(set(subcommands(build_parser())) - set(pages))


def test_cli_md_documents_every_flag_of_every_command():
    missing = undocumented(build_parser(), CLI_MD.read_text(encoding="utf-8"))
    assert not missing, "flags in --help but not in docs/cli.md (document them in the command's section): " + ", ".join(missing)


def test_a_planted_undocumented_flag_is_caught():
    parser = build_parser()
    subcommands(parser)["export"].add_argument("--planted-flag", help="a flag nobody documented")
    assert "nerkit export --planted-flag" in undocumented(parser, CLI_MD.read_text(encoding="utf-8"))


@pytest.mark.parametrize("text,flag,found", [("use `--max-samples 5`", "--max-samples", True),
                                             ("use `--max-samples-x`", "--max-samples", False),
                                             ("--epochs, --learning-rate", "--epochs", True)])
def test_a_flag_counts_only_as_a_whole_word(text, flag, found):
    assert mentions(text, flag) is found
