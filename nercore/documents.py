"""Sentences of one document read as one text, and the entities found in it handed back per sentence.

Why: the Space and `nerkit predict` run the engine on text; a model reads a sentence in its
document's context when the sentences reach it joined, as a pasted paragraph does. Evaluation and
prediction join a document's sentences here and split the entities back, so a sentence's record
holds exactly what the model said about its own characters.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

SEPARATOR = "\n"  # between sentences: a line break, as in a pasted article


def join_sentences(texts: Sequence[str]) -> tuple[str, list[int]]:
    """The document's text and where each sentence starts in it."""
    starts, position = [], 0
    for text in texts:
        starts.append(position)
        position += len(text) + len(SEPARATOR)
    return SEPARATOR.join(texts), starts


def split_entities(entities: Mapping[str, Sequence[Mapping[str, Any]]], texts: Sequence[str],
                   starts: Sequence[int]) -> list[dict[str, list[dict]]]:
    """Per sentence: each strategy's entities that start inside it, with offsets made relative to it.

    An entity that runs past its sentence's end (a strategy merged across the line break) is cut at
    that end, so every record's offsets index its own text.
    """
    per_sentence: list[dict[str, list[dict]]] = [{name: [] for name in entities} for _ in texts]
    for name, found in entities.items():
        for entity in found:
            index = _sentence_of(int(entity["start"]), starts)
            if index is None:
                continue
            offset, length = starts[index], len(texts[index])
            start = int(entity["start"]) - offset
            end = min(int(entity["end"]) - offset, length)
            if start >= length or end <= start:
                continue  # only the separator
            per_sentence[index][name].append({**entity, "start": start, "end": end})
    return per_sentence


def _sentence_of(position: int, starts: Sequence[int]) -> int | None:
    import bisect

    index = bisect.bisect_right(starts, position) - 1
    return index if index >= 0 else None


def document_groups(documents: Sequence[Any]) -> list[list[int]]:
    """Indices of consecutive runs of one document id; None ids stand alone."""
    groups: list[list[int]] = []
    for index, document in enumerate(documents):
        if groups and document is not None and documents[groups[-1][-1]] == document:
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups
