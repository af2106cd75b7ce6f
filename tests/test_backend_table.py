"""A backend is one row of `nercore.backends.table` (issue 24): a fake row, added here and nowhere else,
reaches `--backend` on evaluate and predict, the evaluation files, the card's backend section, the Hub
folder rules, what a retrained folder drops, the Space's NER_BACKEND and "auto" choice, and the Space's
requirements. Any consumer that keeps its own list of backends instead of reading the table fails here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from nercore.backends import table
from nercore.backends.table import Backend
from toolkit.cli import build_parser, main

TINY = Path(__file__).parent / "data" / "tiny_conll"
FAKE_FILE = "fake/weights.fake"
TEXT = "John Smith works for Acme Corp in Paris."


@pytest.fixture
def fake_backend(monkeypatch) -> list[Path]:
    """A row whose 'runtime' is the torch model of the folder its file sits in; returns the files it loaded."""
    loaded: list[Path] = []

    def load(path: Path, config, row: Backend, *, threads: int | None = None):
        from transformers import AutoModelForTokenClassification

        loaded.append(Path(path))
        return AutoModelForTokenClassification.from_pretrained(Path(path).parents[1], config=config).eval()

    row = Backend("fake", card_name=f"Fake runtime (`{FAKE_FILE}`)", family="Fake", files=(FAKE_FILE,),
                  module="json", requirement="fakeruntime>=1", install_hint="pip install fakeruntime", load=load,
                  made_by="export", auto_rank=0)
    monkeypatch.setitem(table.TABLE, "fake", row)
    return loaded


@pytest.fixture
def run(tiny_bert, tmp_path) -> Path:
    """The tiny model with the fake backend's file, as an exporter would leave it."""
    folder = Path(shutil.copytree(tiny_bert, tmp_path / "run"))
    (folder / FAKE_FILE).parent.mkdir()
    (folder / FAKE_FILE).write_bytes(b"fake weights")
    return folder


def _choices(command: str) -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._subparsers._group_actions if a.choices).choices[command]
    return list(next(a for a in sub._actions if "--backend" in a.option_strings).choices)


def test_the_row_is_a_choice_of_every_backend_flag(fake_backend, tmp_path):
    from space.config import SpaceConfig

    assert "fake" in _choices("evaluate") and "fake" in _choices("predict")
    assert SpaceConfig.from_env({"NER_BACKEND": "fake"}, repo_root=tmp_path).backend == "fake"


def test_evaluate_and_predict_run_the_rows_file(fake_backend, run):
    assert main(["evaluate", "--model", str(run), "--dataset", str(TINY), "--backend", "fake", "--bootstrap", "0"]) == 0
    results = json.loads((run / "eval_results.fake.json").read_text(encoding="utf-8"))
    assert results["backend"] == "fake" and fake_backend == [run / FAKE_FILE]
    source = run.parent / "in.txt"
    source.write_text(TEXT + "\n", encoding="utf-8")
    assert main(["predict", "--model", str(run), "--input", str(source), "--output", str(run.parent / "out.jsonl"),
                 "--backend", "fake", "--no-progress"]) == 0
    assert fake_backend == [run / FAKE_FILE] * 2 and (run.parent / "out.jsonl").is_file()


def test_the_card_the_hub_tree_and_a_retrain_know_the_row(fake_backend, run):
    from nercore.runfolder import derived_from_weights
    from toolkit.hub.model_folder import plan_model_folder

    for backend in ("torch", "fake"):
        assert main(["evaluate", "--model", str(run), "--dataset", str(TINY), "--backend", backend, "--bootstrap", "0"]) == 0
    assert main(["card", str(run)]) == 0
    card = (run / "README.md").read_text(encoding="utf-8")
    assert "| Fake runtime (`fake/weights.fake`) |" in card and "the Fake files written by `nerkit export`" in card
    assert FAKE_FILE in [f.path for f in plan_model_folder(run).files]
    left_out = plan_model_folder(run, include_onnx=False)
    assert FAKE_FILE not in [f.path for f in left_out.files] and any("--no-onnx" in why for _, why in left_out.excluded)
    assert run / "fake" in derived_from_weights(run)


def test_the_space_picks_the_row_on_auto_and_requires_its_runtime(fake_backend, run):
    from space.config import SpaceConfig
    from space.model import clear_cache
    from space.service import Service
    from toolkit.hub.space_bundle import space_requirements

    clear_cache()
    try:
        answer = Service(SpaceConfig(default_model=str(run), device="cpu", backend="auto")).compare(TEXT)
    finally:
        clear_cache()
    assert answer["info"]["backend"] == "fake" and fake_backend == [run / FAKE_FILE]
    assert "fakeruntime>=1" in space_requirements([], "").splitlines()


def test_a_row_without_its_runtime_is_refused_with_the_rows_hint(fake_backend, run, monkeypatch):
    from nercore.backends import BackendError, resolve_backend

    monkeypatch.setitem(table.TABLE, "fake", Backend(**{**table.TABLE["fake"].__dict__, "module": "no_such_runtime"}))
    with pytest.raises(BackendError, match="no_such_runtime is not installed: pip install fakeruntime"):
        resolve_backend(str(run), "fake", strict=True)
    assert resolve_backend(str(run), "fake") == ("torch", None)  # not strict: torch, with a warning


def test_rows_are_checked():
    with pytest.raises(ValueError, match="needs a loader"):
        Backend("half", card_name="x", family="x", files=("x/y.bin",))
    with pytest.raises(ValueError, match="lower-case name"):
        Backend("auto", card_name="x", family="x")
