"""Small text helpers every card section shares: numbers, Markdown tables and lists, path scrubbing.

Paths are scrubbed here because a card is published: a user's home folder must never reach it.
"""

from __future__ import annotations

import re
import shlex
from pathlib import PureWindowsPath
from typing import Any

from toolkit.paths import short_path


def pct(value: float) -> str:
    return f"{100 * value:.2f}"


def count(value: int) -> str:
    return f"{value:,}"


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def number(value: Any) -> str:
    """A statistic cell: integers with thousands separators, floats to one decimal, '—' for none."""
    if isinstance(value, bool) or value is None:
        return "—"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return count(int(value))
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def setting(value: Any) -> str:
    """A configuration value as a reader expects it: yes/no, 2 rather than 2.0, 5e-05."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:g}"
    return str(value)


def loss(value: float) -> str:
    return f"{value:.4f}"


def is_score(value: Any) -> bool:
    """A finite number in [0, 1] (bools excluded): safe to print with `pct`."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1


def md_table(headers: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    """A GitHub-flavoured Markdown table; `numeric` column indexes are right-aligned."""
    numeric = numeric or set()
    lines = ["| " + " | ".join(headers) + " |"]
    lines.append("|" + "|".join("---:" if i in numeric else ":---" for i in range(len(headers))) + "|")
    lines.extend("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows)
    return "\n".join(lines)


def bullets(items: list[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def join_names(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def detokenize(tokens: list[str]) -> str:
    """Readable text from CoNLL tokens (no space before closing punctuation or after opening)."""
    text = " ".join(tokens)
    text = re.sub(r" ([.,;:!?%)\]}])", r"\1", text)
    text = re.sub(r"([(\[{$]) ", r"\1", text)
    return re.sub(r" (n't|'s|'re|'ve|'ll|'d|'m)\b", r"\1", text)


def is_absolute(value: str) -> bool:
    return value.startswith(("/", "~")) or PureWindowsPath(value).is_absolute() or bool(re.match(r"^[A-Za-z]:[\\/]", value))


def is_local_path(value: str) -> bool:
    """Absolute or explicitly relative paths; those must never reach a card or the Hub."""
    return is_absolute(value) or value.startswith(("./", "../", ".../", ".\\", "..\\")) or "\\" in value




def command_words(command: str) -> list[str]:
    """Shell words of a recorded command line (plain split when its quoting is broken)."""
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()


def scrub_command(command: str) -> str:
    """The command line with absolute paths shortened (`--x=/abs/p` and `/abs/p` alike)."""
    out = []
    for word in command_words(command):
        flag, sep, value = word.partition("=") if word.startswith("--") else ("", "", word)
        if is_absolute(value):
            value = short_path(value)
        out.append(shlex.quote(flag + sep + value))
    return " ".join(out)
