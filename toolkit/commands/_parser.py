"""One way to add a subcommand parser (same help layout everywhere), and to record the command a run came from."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable, Sequence


def add_command(subparsers, name: str, *, help: str, description: str, epilog: str, func) -> argparse.ArgumentParser:  # noqa: A002
    """A subparser whose `--help` keeps the description's and examples' line breaks."""
    parser = subparsers.add_parser(name, help=help, description=description, epilog=epilog,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(func=func)
    return parser


def command_line(args: argparse.Namespace, name: str, register: Callable, required: Sequence[str]) -> str:
    """The command for a run record: as typed when run from the shell, else rebuilt from the parsed
    arguments (e.g. `main([...])` from Python), leaving out options at their defaults. `required`
    is a minimal argument list the command's parser accepts (its defaults are read from it)."""
    if sys.argv[1:2] == [name]:
        return shlex.join(["nerkit", *sys.argv[1:]])
    subparsers = argparse.ArgumentParser(add_help=False).add_subparsers()
    register(subparsers)
    parser = subparsers.choices[name]
    defaults = vars(parser.parse_args(list(required)))
    words = ["nerkit", name]
    for action in parser._actions:  # noqa: SLF001 - argparse keeps its actions there
        value = getattr(args, action.dest, None)
        if action.dest in ("help", "func") or value is None:
            continue
        if not action.option_strings:
            words.append(str(value))
            continue
        if value == defaults.get(action.dest) and not action.required:
            continue
        flag = max(action.option_strings, key=len)
        bare = action.nargs == 0 or (action.nargs == "?" and value == action.const)
        words += [flag] if bare else [flag, str(value)]
    return shlex.join(words)
