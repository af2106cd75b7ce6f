"""CoNLL-2003 is research-only (../shared/data/README.md): nothing committed may quote it. Every tracked
file under tests/data/ is checked for a run of six words that also occurs in the CoNLL-2003 files (the test
data here is invented, written in CoNLL's column format; a copied sentence would show up as such a run),
and so are the example sentences users see: the card's widget texts, the Space's examples, and every
tracked Markdown, Python and Makefile text (case ignored there, as a leak scanner would)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = 6
TOKEN = re.compile(r"[^\W\d_]+")  # words: punctuation and numbers alone match too easily
DATA_SUFFIXES = {".txt", ".conll", ".iob", ".json", ".jsonl", ".csv", ".tsv", ""}  # data files, not cards or code


def _runs(tokens: list[str]) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + RUN]) for i in range(len(tokens) - RUN + 1)}


def _conll_runs(folder: Path) -> set[tuple[str, ...]]:
    runs: set[tuple[str, ...]] = set()
    for split in ("train", "validation", "test"):
        sentence: list[str] = []
        for line in (folder / f"{split}.txt").read_text(encoding="utf-8").splitlines() + [""]:
            word = line.split(" ", 1)[0]
            if word and word != "-DOCSTART-":
                sentence += TOKEN.findall(word)
            elif sentence:
                runs |= _runs(sentence)
                sentence = []
    return runs


def _file_tokens(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    columns = sum(1 for line in lines if len(line.split()) >= 2 and len(line.split()) <= 5)
    if lines and columns > 0.8 * len([line for line in lines if line.strip()]):  # column files: the token column
        return [t for line in lines if line.strip() for t in TOKEN.findall(line.split()[0])]
    return TOKEN.findall(" ".join(lines))


def test_no_committed_file_quotes_conll2003(conll2003_dir):
    conll = _conll_runs(conll2003_dir)
    tracked = subprocess.run(["git", "ls-files", "tests/data"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    assert any(name.startswith("tests/data/tiny_conll/") for name in tracked)
    found = []
    for name in tracked:
        path = ROOT / name
        if path.suffix not in DATA_SUFFIXES or not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        shared = _runs(_file_tokens(path)) & conll
        if shared:
            found.append(f"{name}: {' '.join(sorted(shared)[0])!r} (+{len(shared) - 1} more)")
    assert not found, "files quote CoNLL-2003:\n" + "\n".join(found)


PROSE_SUFFIXES = {".md", ".py", ".jinja", ".toml", ".cfg"}


def _lower_runs(tokens: list[str]) -> set[tuple[str, ...]]:
    return _runs([t.lower() for t in tokens])


def test_widget_texts_examples_and_prose_share_no_six_word_run_with_conll2003(conll2003_dir):
    from space.ui_examples import EXAMPLES
    from toolkit.card.known_datasets import KNOWN

    conll = {tuple(w.lower() for w in run) for run in _conll_runs(conll2003_dir)}
    widgets = [text for known in KNOWN for text, _types in known.widget]
    assert widgets and EXAMPLES
    found = [f"{kind}: {' '.join(sorted(shared)[0])!r}" for kind, texts in (("widget text", widgets),
                                                                         ("Space example", EXAMPLES))
             for text in texts if (shared := _lower_runs(TOKEN.findall(text)) & conll)]
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in tracked:
        path = ROOT / name
        if name.startswith("tests/data/") or not path.is_file() or not (path.suffix in PROSE_SUFFIXES
                                                                         or path.name == "Makefile"):
            continue
        shared = _lower_runs(TOKEN.findall(path.read_text(encoding="utf-8", errors="replace"))) & conll
        if shared:
            found.append(f"{name}: {' '.join(sorted(shared)[0])!r} (+{len(shared) - 1} more)")
    assert not found, "quotes of CoNLL-2003 (reword the sentence):\n" + "\n".join(found)
