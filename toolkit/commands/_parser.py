"""One way to add a subcommand parser, so every command gets the same help layout."""

from __future__ import annotations

import argparse


def add_command(subparsers, name: str, *, help: str, description: str, epilog: str, func) -> argparse.ArgumentParser:  # noqa: A002
    """A subparser whose `--help` keeps the description's and examples' line breaks."""
    parser = subparsers.add_parser(name, help=help, description=description, epilog=epilog,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(func=func)
    return parser
