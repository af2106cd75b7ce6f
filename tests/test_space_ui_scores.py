"""space.model_scores: the per-strategy F1 a model carries (its eval_results.json), read without
Gradio, from a folder or from a Hub repo; anything missing or broken means "no scores"."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from space import model_scores
from space.model_scores import model_scores as scores_of, read_scores, scores_from_json

FIXTURE = Path(__file__).parent / "data" / "run_fixture" / "eval_results.json"
BUNDLED = Path(__file__).resolve().parents[1] / "model" / "eval_results.json"


@pytest.fixture(autouse=True)
def _fresh_cache():
    model_scores.clear_cache()
    yield
    model_scores.clear_cache()


def test_reads_the_strategies_block_of_the_run_fixture():
    data = json.loads(FIXTURE.read_text())
    scores = read_scores(FIXTURE)
    assert scores is not None
    assert scores.f1 == {name: r["f1"] for name, r in data["strategies"]["results"].items()}
    assert scores.best == max(scores.f1, key=scores.f1.get)
    assert scores.split == data["strategies"]["split"]
    assert str(data["strategies"]["num_sentences"]) in scores.describe().replace(",", "")


def test_bundled_model_folder_has_scores(tmp_path):
    if not BUNDLED.is_file():
        pytest.skip("no bundled model")
    scores = scores_of(BUNDLED.parent)
    assert scores is not None and {"first", "simple"} <= set(scores.f1)


@pytest.mark.parametrize("content", [
    None,                                   # no file
    "{not json",                            # unreadable
    json.dumps({"overall": {"f1": 0.9}}),   # no strategies block (evaluate without --strategies)
    json.dumps({"strategies": {"results": {"first": {"f1": "high"}, "max": {"f1": 1.5}}}}),  # bad values
    json.dumps({"strategies": []}),
])
def test_missing_or_broken_means_no_scores(tmp_path, content):
    if content is not None:
        (tmp_path / "eval_results.json").write_text(content)
    assert scores_of(tmp_path) is None


def test_a_file_the_core_reader_refuses_gives_no_scores_not_an_error():
    """One reader for eval_results.json (nercore.runfolder): the Space takes what it accepts, nothing else."""
    good = json.loads(FIXTURE.read_text())
    assert scores_from_json(good).f1["first"] == good["strategies"]["results"]["first"]["f1"]
    bad = json.loads(FIXTURE.read_text())
    bad["strategies"]["results"]["max"]["f1"] = float("nan")
    assert scores_from_json(bad) is None
    assert scores_from_json({"strategies": {"results": {"first": {"f1": 0.8}}}}) is None  # no overall: not a result


def test_a_hub_id_that_cannot_be_fetched_means_no_scores():
    # Tests run with HF_HUB_OFFLINE=1: the download fails at once, and that is "no scores", not an error.
    assert scores_of("someone/no-such-model") is None


def test_a_hub_id_reads_the_downloaded_file(monkeypatch, tmp_path):
    copy = tmp_path / "eval_results.json"
    shutil.copy(FIXTURE, copy)
    asked = []
    monkeypatch.setattr(model_scores, "_download", lambda repo, revision: asked.append((repo, revision)) or copy)
    assert scores_of("someone/ner").f1 == read_scores(FIXTURE).f1
    scores_of("someone/ner")
    assert asked == [("someone/ner", None)]  # cached per model


def test_the_cache_stays_bounded_whatever_ids_visitors_type(tmp_path, monkeypatch):
    """Typed Hub ids are visitor input: each unknown one is remembered as "no scores", but not forever."""
    from space import model_scores as module

    monkeypatch.setattr(module, "_download", lambda model, revision: None)
    module.clear_cache()
    for i in range(module._MAX_CACHED + 50):
        assert module.model_scores(f"visitor/model-{i}") is None
    assert len(module._cache) == module._MAX_CACHED
    assert ("visitor/model-0", None) not in module._cache  # the oldest went first
    module.clear_cache()


def test_compare_carries_the_models_per_strategy_f1(tmp_path, tiny_bert):
    """API clients get the scores too (the UI reads them from the same answer)."""
    from space.config import SpaceConfig
    from space.service import Service

    with_scores = Path(shutil.copytree(tiny_bert, tmp_path / "scored"))
    shutil.copy(FIXTURE, with_scores / "eval_results.json")
    service = Service(SpaceConfig(default_model=str(with_scores), models=(str(tiny_bert),), device="cpu"))
    answer = service.compare("John Smith lives in London.")
    expected = {n: r["f1"] for n, r in json.loads(FIXTURE.read_text())["strategies"]["results"].items()}
    assert answer["scores"]["f1"] == expected and answer["scores"]["best"] == max(expected, key=expected.get)
    listed = service.config.display_of(str(tiny_bert))
    assert service.compare("John Smith lives in London.", model=listed)["scores"] is None
