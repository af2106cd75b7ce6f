"""The typed eval_results.json: round trips, and errors that name the file and the field."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from nercore import runfolder
from nercore.errors import UserError
from nercore.runfolder import EvalResults, Scores
from toolkit.runtime import json_text

FIXTURE = Path(__file__).parent / "data" / "run_fixture" / runfolder.EVAL_RESULTS


@pytest.fixture
def results() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def test_fixture_round_trips(results):
    typed = EvalResults.from_json(results)
    assert typed.to_json() == results
    assert EvalResults.from_json(FIXTURE).to_json() == results


def test_round_trip_is_byte_identical_in_evaluate_key_order(results):
    # `nerkit evaluate` writes confidence_intervals before strategies.
    ordered = {k: v for k, v in results.items() if k != "strategies"}
    ordered["strategies"] = results["strategies"]
    assert json_text(EvalResults.from_json(ordered).to_json()) == json_text(ordered)


def test_typed_access(results):
    typed = EvalResults.from_json(results)
    assert typed.entities and typed.split == "test" and typed.num_sentences == 3453
    assert typed.per_type["LOC"] == Scores(0.9240430622009569, 0.9262589928057554, 0.9251497005988025, 1668)
    assert typed.strict.micro.f1 == results["modes"]["strict"]["micro avg"]["f1"]
    assert typed.strategies.results["first"].per_type["PER"].correct == results["strategies"]["results"]["first"]["per_type"]["PER"]["correct"]
    assert typed.confidence_intervals.overall["f1"] == tuple(results["confidence_intervals"]["overall"]["f1"])
    analysis = typed.error_analysis
    assert analysis.breakdown.correct == analysis.schemas["strict"].correct == 5161
    assert analysis.schemas["strict"].f1 == typed.overall.f1  # nervaluate's strict = seqeval's default micro F1
    assert analysis.confusion.cell("ORG", "LOC") == 40 and analysis.breakdown_per_type["MISC"].main_kind == "spurious"


def test_optional_blocks_and_unknown_fields_round_trip(results):
    for key in ("strategies", "confidence_intervals", "invalid_sequences", "command", "error_analysis"):
        del results[key]  # files written before error_analysis existed still load
    del results["modes"]["strict"]
    results["future_field"] = {"kept": True}
    typed = EvalResults.from_json(results)
    assert typed.strategies is None and typed.strict is None and typed.error_analysis is None
    assert typed.to_json() == results


def test_tag_sets_round_trip(results):
    for key in ("modes", "invalid_sequences", "strategies", "confidence_intervals"):
        results.pop(key)
    results.update(task="tags", macro_f1=0.5)
    results["per_tag"] = {"NN": {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 3}}
    typed = EvalResults.from_json(results)
    assert not typed.entities and typed.per_type["NN"].support == 3
    assert typed.to_json() == results


@pytest.mark.parametrize(
    ("change", "field", "expected"),
    [
        (lambda d: d["modes"]["default"]["per_type"]["LOC"].update(f1="x"), "modes.default.per_type.LOC.f1", "a number in [0, 1]"),
        (lambda d: d.update(schema_version=2), "schema_version", "1"),
        (lambda d: d.pop("split"), "split", "a split name"),
        (lambda d: d["overall"].update(recall=1.5), "overall.recall", "between 0 and 1"),
        (lambda d: d["modes"]["strict"].pop("micro avg"), "modes.strict.micro avg", "precision/recall/f1"),
        (lambda d: d["modes"]["default"]["per_type"]["ORG"].update(support=-1), "modes.default.per_type.ORG.support", "count"),
        (lambda d: d["strategies"]["results"].update(greedy={"precision": 1, "recall": 1, "f1": 1}), "strategies.results.greedy", "one of none"),
        (lambda d: d["strategies"]["results"]["max"]["per_type"]["LOC"].update(recall=None), "strategies.results.max.per_type.LOC.recall", "[0, 1]"),
        (lambda d: d["confidence_intervals"]["overall"].update(f1=[0.95, 0.90]), "confidence_intervals.overall.f1", "low <= high"),
        (lambda d: d["confidence_intervals"]["per_type"]["PER"].update(f1=[0.9]), "confidence_intervals.per_type.PER.f1", "[low, high]"),
        (lambda d: d["confidence_intervals"].update(level=1), "confidence_intervals.level", "0.95"),
        (lambda d: d["error_analysis"]["breakdown"]["per_type"]["MISC"].update(boundary=-2), "error_analysis.breakdown.per_type.MISC.boundary", "count"),
        (lambda d: d["error_analysis"]["breakdown"].pop("overall"), "error_analysis.breakdown.overall", "an object"),
        (lambda d: d["error_analysis"]["confusion"]["gold"]["ORG"].update(LOC=1.5), "error_analysis.confusion.gold.ORG.LOC", "count"),
        (lambda d: d["error_analysis"]["schemas"]["overall"].update(muc={}), "error_analysis.schemas.overall.muc", "one of the schemas strict"),
        (lambda d: d["error_analysis"]["schemas"]["per_type"]["PER"]["strict"].update(f1=2), "error_analysis.schemas.per_type.PER.strict.f1", "[0, 1]"),
        (lambda d: d["error_analysis"]["schemas"]["overall"].pop("exact"), "error_analysis.schemas.overall.exact", "an object"),
    ],
)
def test_errors_name_file_and_field(results, change, field, expected):
    change(results)
    with pytest.raises(UserError) as raised:
        EvalResults.from_json(copy.deepcopy(results), file="run/eval_results.json")
    message = str(raised.value)
    assert message.startswith(f"run/eval_results.json: field {field}: expected ")
    assert expected in message and "Evaluate the model again" in message and raised.value.step == "evaluate"


def test_errors_name_the_path_read(tmp_path, results):
    path = tmp_path / runfolder.EVAL_RESULTS
    results["task"] = "spans"
    path.write_text(json.dumps(results), encoding="utf-8")
    with pytest.raises(UserError, match=rf"{path}: field task: expected \"entities\" or \"tags\", found \"spans\""):
        EvalResults.from_json(path)
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(UserError, match="expected a JSON object at the top level"):
        EvalResults.from_json(path)


def test_wrong_structure_is_a_user_error(results):
    results["modes"]["default"] = []
    with pytest.raises(UserError, match="eval_results.json"):
        EvalResults.from_json(results)


def test_file_names_are_the_old_layout_names():
    assert (runfolder.EVAL_RESULTS, runfolder.PREDICTIONS.format(split="test"), runfolder.CARD) == (
        "eval_results.json", "predictions_test.conll", "README.md"
    )
    assert runfolder.CHECKPOINTS == "checkpoints" and runfolder.LABELS == "labels.json"
