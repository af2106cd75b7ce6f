"""`predictions_<split>.conll`: one `token gold predicted` line per word, a blank line between sentences.

Written by `nerkit evaluate`, read back by the card (its widget examples come from the gold side):
one format, its writer and its reader here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from nercore.errors import UserError

Sentences = list[tuple[list[str], list[str]]]  # (tokens, gold tags) per sentence


def predictions_text(sentences: Sequence[Sequence[str]], gold: Sequence[Sequence[str]],
                     pred: Sequence[Sequence[str]]) -> str:
    """The file's text for words, gold tags and predicted tags, sentence by sentence."""
    lines = []
    for words, gs, ps in zip(sentences, gold, pred):
        lines.extend(f"{w} {g} {p}" for w, g, p in zip(words, gs, ps))
        lines.append("")
    return "\n".join(lines)


def read_predictions(path: Path) -> Sentences | None:
    """Sentences of a predictions file as (tokens, gold tags); None when the file is absent."""
    if not path.is_file():
        return None
    sentences: Sentences = []
    tokens: list[str] = []
    gold: list[str] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                if tokens:
                    sentences.append((tokens, gold))
                tokens, gold = [], []
                continue
            parts = line.rsplit(None, 2)
            if len(parts) != 3:
                raise UserError(
                    f"{path}, line {number}: expected 'token gold predicted', found {line!r}. "
                    "Evaluate the model again to rewrite the file.", step="evaluate",
                )
            tokens.append(parts[0])
            gold.append(parts[1])
    if tokens:
        sentences.append((tokens, gold))
    return sentences
