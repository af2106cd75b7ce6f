"""Shared fixtures: tiny random models (seconds to build) and the CoNLL-2003 location."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

# Tests never reach the Hub: fail fast instead of retrying DNS for each unknown id. The
# Hub-server tests run their clients in subprocesses with their own HF_* settings.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
# Tokenized training splits are cached as Arrow files (toolkit.training.tokenized_cache_dir): in a
# throw-away folder for the test run, never the user's cache (subprocesses inherit it).
os.environ.setdefault("NERKIT_CACHE", tempfile.mkdtemp(prefix="nerkit-test-cache-"))

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
sys.path.insert(0, str(TESTS_DIR))

from tiny_models import CONLL_LABELS, build_tiny_model  # noqa: E402


def require(module: str, reason: str | None = None):
    """`pytest.importorskip`, except under CI, where a missing optional dependency is a failure:
    CI installs every extra, so a skip there would hide a broken install."""
    if os.environ.get("CI"):
        import importlib

        try:
            return importlib.import_module(module)
        except ImportError as err:
            pytest.fail(f"{module} is not installed under CI ({err}); `make install` should bring it.")
    return pytest.importorskip(module, reason=reason)


def conll_dir() -> Path:
    """CoNLL-2003 lives beside the checkout (never inside it); NERKIT_CONLL_DIR overrides."""
    return Path(os.environ.get("NERKIT_CONLL_DIR", REPO_ROOT.parent / "shared" / "data" / "conll2003"))


@pytest.fixture(scope="session")
def conll2003_dir() -> Path:
    path = conll_dir()
    if not (path / "train.txt").is_file():
        if os.environ.get("CI"):
            pytest.fail(f"CoNLL-2003 not found at {path}; CI must have it (set NERKIT_CONLL_DIR).")
        pytest.skip(f"CoNLL-2003 not found at {path} (set NERKIT_CONLL_DIR)")
    return path


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    """A tiny random BERT (WordPiece) token classifier with the 9 CoNLL labels."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-bert"), kind="bert")


@pytest.fixture(scope="session")
def tiny_roberta(tmp_path_factory) -> Path:
    """A tiny random RoBERTa (byte-level BPE) token classifier with the 9 CoNLL labels."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-roberta"), kind="roberta")


@pytest.fixture(scope="session")
def conll_labels() -> list[str]:
    return list(CONLL_LABELS)
