"""K-fold cross-validation for the audit: which sentences each fold holds out, and the kept probabilities.

Folds are made of whole documents where the split marks documents (CoNLL -DOCSTART-, a document
column), else of single sentences, so no document is read by the model that trained on it. Groups
are shuffled with the seed and dealt, largest first, to the fold with the fewest sentences so far,
so folds are about the same size. Each finished fold's probabilities go to
`audit_folds/fold_<k>.npz` with a fingerprint of everything that decides them (data, folds,
training flags); a rerun with the same fingerprint reads them instead of training again, so an
interrupted audit resumes and gives the same result.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import numpy as np

from nercore.errors import UserError

FOLDS_DIR = "audit_folds"


def check_folds(k: int, groups: list[int], *, documents: bool) -> None:
    """K >= 2 and no more folds than documents (sentences, when the split marks no documents)."""
    if k < 2:
        raise UserError(f"--folds must be at least 2 (each fold is read by a model trained on the others); got {k}.")
    count = len(set(groups))
    if k > count:
        unit = "documents" if documents else "sentences"
        raise UserError(
            f"--folds {k} is more than the split's {count} {unit}: folds are made of whole {unit}. "
            f"Pass --folds {min(count, 5)} or fewer."
        )


def assign_folds(groups: list[int], k: int, seed: int) -> list[int]:
    """The fold (0..k-1) of each sentence; sentences of one group (document) always share a fold."""
    sizes: dict[int, int] = {}
    for group in groups:
        sizes[group] = sizes.get(group, 0) + 1
    order = list(sizes)
    random.Random(seed).shuffle(order)
    order.sort(key=lambda group: -sizes[group])  # stable: equal sizes keep the shuffled order
    load = [0] * k
    fold_of: dict[int, int] = {}
    for group in order:
        fold = min(range(k), key=lambda f: (load[f], f))
        fold_of[group] = fold
        load[fold] += sizes[group]
    return [fold_of[group] for group in groups]


def fingerprint(**parts) -> str:
    """A short hash of JSON-able parts (data, folds, flags): kept probabilities are reused only on a match."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def fold_path(output_dir: str | Path, fold: int) -> Path:
    return Path(output_dir) / FOLDS_DIR / f"fold_{fold}.npz"


def save_fold(path: Path, key: str, indices: list[int], rows: list[np.ndarray], cut_words: int) -> None:
    """Write one fold's probabilities (sentence indices + their word rows, concatenated) atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lengths = np.array([len(r) for r in rows], dtype=np.int64)
    width = rows[0].shape[1] if rows else 0
    flat = np.concatenate(rows) if rows and lengths.sum() else np.zeros((0, width))
    partial = path.with_name(path.stem + ".partial.npz")
    np.savez_compressed(partial, fingerprint=np.array(key), indices=np.array(indices, dtype=np.int64),
                        lengths=lengths, probabilities=flat, cut_words=np.array(cut_words))
    partial.replace(path)


def load_fold(path: Path, key: str) -> tuple[list[int], list[np.ndarray], int] | None:
    """The kept fold, or None when absent or computed for other data/flags (then it is computed again)."""
    if not path.is_file():
        return None
    try:
        with np.load(path) as saved:
            if str(saved["fingerprint"]) != key:
                return None
            indices, lengths = saved["indices"].tolist(), saved["lengths"]
            flat, cut = saved["probabilities"], int(saved["cut_words"])
    except (OSError, KeyError, ValueError):
        return None
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    return indices, [flat[bounds[i]:bounds[i + 1]] for i in range(len(indices))], cut
