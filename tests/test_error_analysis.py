"""Error analysis: error kinds, type confusion, nervaluate's schemas, errors_<split>.txt, the printed summary, the card."""

from __future__ import annotations

import copy
import logging
import random
import sys

import pytest
from nervaluate import Evaluator

from card_helpers import ENTITY_RESULTS, TAG_RESULTS, make_context
from toolkit.card.chart import confusion_heatmap
from toolkit.card.sections.errors import error_analysis, summary_sentences
from toolkit.evaluate.analysis import SpanError, analyse, pair_spans
from toolkit.evaluate.analysis_report import error_file, format_error_analysis
from toolkit.metrics import score
from nercore.runfolder import EvalResults, ErrorAnalysis
from nercore.runfolder.analysis import SCHEMAS

# One sentence per kind of error, plus a correct entity and a sentence right but for an I- tag.
WORDS = [
    ["John", "Smith", "lives", "in", "New", "York"],  # PER boundary (John only), LOC correct
    ["Acme", "Corp", "hired", "Mary"],  # ORG -> LOC type error (same span), PER missed
    ["The", "Euro", "Cup", "final"],  # MISC -> ORG both (span and type), spurious PER on "final"
    ["Paris", "is", "big"],  # I-LOC at the start: decodes to the same LOC entity
]
GOLD = [
    ["B-PER", "I-PER", "O", "O", "B-LOC", "I-LOC"],
    ["B-ORG", "I-ORG", "O", "B-PER"],
    ["O", "B-MISC", "I-MISC", "O"],
    ["B-LOC", "O", "O"],
]
PRED = [
    ["B-PER", "O", "O", "O", "B-LOC", "I-LOC"],
    ["B-LOC", "I-LOC", "O", "O"],
    ["O", "B-ORG", "O", "B-PER"],
    ["I-LOC", "O", "O"],
]


@pytest.fixture(scope="module")
def analysed():
    return analyse(GOLD, PRED)


def test_each_kind_of_error_is_found_and_counted_for_its_gold_type(analysed):
    block, errors = analysed
    assert [(e.sentence, e.kind, e.gold, e.predicted) for e in errors] == [
        (0, "boundary", ("PER", 0, 2), ("PER", 0, 1)),
        (1, "type", ("ORG", 0, 2), ("LOC", 0, 2)),
        (1, "missed", ("PER", 3, 4), None),
        (2, "both", ("MISC", 1, 3), ("ORG", 1, 2)),
        (2, "spurious", None, ("PER", 3, 4)),
    ]
    breakdown = block["breakdown"]
    assert breakdown["overall"] == {"correct": 2, "boundary": 1, "type": 1, "both": 1, "missed": 1, "spurious": 1}
    assert breakdown["per_type"]["PER"] == {"correct": 0, "boundary": 1, "type": 0, "both": 0, "missed": 1, "spurious": 1}
    assert breakdown["per_type"]["LOC"] == {"correct": 2, "boundary": 0, "type": 0, "both": 0, "missed": 0, "spurious": 0}
    confusion = block["confusion"]
    assert confusion["gold"]["ORG"]["LOC"] == 1 and confusion["gold"]["MISC"]["ORG"] == 1
    assert confusion["gold"]["LOC"]["LOC"] == 2 and confusion["gold"]["PER"]["PER"] == 1
    assert confusion["missed"] == {"LOC": 0, "MISC": 0, "ORG": 0, "PER": 1}
    assert confusion["spurious"] == {"LOC": 0, "MISC": 0, "ORG": 0, "PER": 1}


def test_pairing_is_one_to_one_best_pair_first():
    gold = [("LOC", 0, 3)]
    predicted = [("ORG", 0, 1), ("LOC", 1, 3)]  # the same-type overlap wins, the other prediction is spurious
    assert pair_spans(gold, predicted) == ([(("LOC", 0, 3), ("LOC", 1, 3))], [], [("ORG", 0, 1)])
    assert pair_spans([("PER", 0, 2)], [("ORG", 0, 2), ("PER", 1, 2)])[0] == [(("PER", 0, 2), ("ORG", 0, 2))]


def _random_tags(rng: random.Random, n: int) -> list[list[str]]:
    tags = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
    return [[rng.choice(tags) for _ in range(rng.randint(1, 12))] for _ in range(n)]


def test_schemas_are_nervaluates_own_reading_of_the_tags():
    rng = random.Random(7)
    gold = _random_tags(rng, 60)
    pred = [[rng.choice([t, t, "O", "B-LOC", "I-ORG"]) for t in sentence] for sentence in gold]
    block, _ = analyse(gold, pred)
    # nervaluate's own list loader parses the tags itself: our spans (nercore.tags.entity_spans) must agree.
    direct = Evaluator(gold, pred, tags=["LOC", "ORG", "PER"], loader="list").evaluate()
    for name in SCHEMAS:
        theirs = direct["overall"][name]
        ours = block["schemas"]["overall"][name]
        assert (ours["correct"], ours["incorrect"], ours["partial"], ours["missed"], ours["spurious"]) == (
            theirs.correct, theirs.incorrect, theirs.partial, theirs.missed, theirs.spurious)
        assert ours["f1"] == pytest.approx(theirs.f1)
        for kind in ("LOC", "ORG", "PER"):
            assert block["schemas"]["per_type"][kind][name]["f1"] == pytest.approx(direct["entities"][kind][name].f1)


def test_strict_schema_and_breakdown_agree_with_seqeval():
    rng = random.Random(3)
    gold = _random_tags(rng, 80)
    pred = [[rng.choice([t, t, t, "O", "B-PER", "I-LOC"]) for t in sentence] for sentence in gold]
    block, errors = analyse(gold, pred)
    micro = score(gold, pred, entities=True)["modes"]["default"]["micro avg"]
    strict = block["schemas"]["overall"]["strict"]
    assert (strict["precision"], strict["recall"], strict["f1"]) == pytest.approx((micro["precision"], micro["recall"], micro["f1"]))
    assert strict["possible"] == micro["support"] and block["breakdown"]["overall"]["correct"] == strict["correct"]
    counts = ErrorAnalysis.from_json(block, _where()).breakdown
    assert counts.errors == len(errors)
    assert sum(counts.share(k) for k in ("boundary", "type", "both", "missed", "spurious")) == pytest.approx(1)
    confusion = block["confusion"]
    for kind in ("LOC", "ORG", "PER"):  # every gold entity is paired or missed
        assert sum(confusion["gold"][kind].values()) + confusion["missed"][kind] == strict_support(gold, kind)


def strict_support(gold, kind) -> int:
    return sum(1 for tags in gold for i, t in enumerate(tags) if t != "O" and t[2:] == kind
               and (t[0] == "B" or i == 0 or tags[i - 1][2:] != kind))


def _where():
    from nercore.runfolder.checks import Where

    return Where("eval_results.json")


def test_block_round_trips_inside_eval_results(analysed):
    data = copy.deepcopy(ENTITY_RESULTS)
    data["error_analysis"] = analysed[0]
    typed = EvalResults.from_json(data)
    assert typed.error_analysis.breakdown.boundary == 1
    assert typed.error_analysis.schemas["partial"].partial == analysed[0]["schemas"]["overall"]["partial"]["partial"]
    assert typed.to_json() == data and list(typed.to_json()["error_analysis"]) == ["schemas", "confusion", "breakdown"]


def test_without_nervaluate_the_rest_is_still_written(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "nervaluate", None)
    with caplog.at_level(logging.WARNING, logger="toolkit"):
        block, _ = analyse(GOLD, PRED)
    assert "schemas" not in block and block["breakdown"]["overall"]["type"] == 1
    assert any("pip install nervaluate" in r.getMessage() for r in caplog.records)
    typed = ErrorAnalysis.from_json(block, _where())
    assert typed.schemas is None and typed.to_json() == block


def test_error_file_groups_examples_by_kind_and_lists_hardest_first(analysed):
    text = error_file(WORDS, GOLD, PRED, analysed[1], "test")
    assert text.startswith("# Errors on the test split: 5 entity errors in 3 of 4 sentences")
    assert "1 more sentence(s) differ only in tags" in text
    assert 'sentence 1: gold ORG "Acme Corp" [0, 2) -> predicted LOC "Acme Corp" [0, 2)' in text
    assert 'sentence 2: gold nothing -> predicted PER "final" [3, 4)' in text
    kinds = [text.index(f"### {kind}:") for kind in ("boundary", "type", "both", "missed", "spurious")]
    assert kinds == sorted(kinds)
    hardest = text.split("## Hardest sentences first")[1]
    order = [hardest.index(f"# sentence {i}:") for i in (1, 2, 0, 3)]  # 2, 2 (a tie: 3 wrong tags each), 1, 0 errors
    assert order == sorted(order)
    assert "# sentence 3: no entity error, 1 wrong tags" in hardest


def test_printed_summary_shows_schemas_and_shares(analysed):
    text = format_error_analysis(ErrorAnalysis.from_json(analysed[0], _where()), "test")
    assert text.startswith("error analysis (details and examples in errors_test.txt):")
    assert "ent_type" in text and "overall" in text
    assert "33% of PER errors are boundary errors" in text


# --------------------------------------------------------------------------------------------
# The card
# --------------------------------------------------------------------------------------------


def _with_block(data, *, misc_boundary=4):
    block = {
        "confusion": {"gold": {"MISC": {"MISC": 10, "ORG": 2}, "ORG": {"MISC": 0, "ORG": 20}},
                      "missed": {"MISC": 3, "ORG": 1}, "spurious": {"MISC": 3, "ORG": 0}},
        "breakdown": {
            "overall": {"correct": 26, "boundary": misc_boundary + 4, "type": 0, "both": 0, "missed": 4, "spurious": 3},
            "per_type": {
                "MISC": {"correct": 6, "boundary": misc_boundary, "type": 0, "both": 0, "missed": 3, "spurious": 3},
                "ORG": {"correct": 20, "boundary": 4, "type": 0, "both": 0, "missed": 1, "spurious": 0},
            },
        },
    }
    data["error_analysis"] = block


def test_card_section_says_which_kind_of_error_dominates():
    ctx = make_context(edit=_with_block)
    text = error_analysis(ctx)
    assert "40% of MISC errors are boundary errors." in text and "80% of ORG errors are boundary errors." in text
    assert "| **MISC** | 10 | 2 | 3 |" in text and "| *spurious* | 3 | 0 | — |" in text
    assert "nervaluate" not in text  # no schemas in this block
    assert "confusion_matrix.png" not in text  # no heatmap on this context
    assert summary_sentences(ctx.results.error_analysis).startswith("Of the 15 entity errors, 53% are boundary errors")


def test_card_section_links_the_heatmap_when_the_context_has_one():
    ctx = make_context(edit=_with_block, confusion_png=b"\x89PNG")
    assert "![Entity-type confusion on the test split](confusion_matrix.png)" in error_analysis(ctx)


def test_card_section_left_out_with_a_warning_without_the_block(caplog):
    ctx = make_context()
    assert error_analysis(ctx) is None
    assert any("no error_analysis" in w for w in ctx.warnings)
    assert error_analysis(make_context(TAG_RESULTS)) is None


def test_card_section_shows_the_schemas(analysed):
    ctx = make_context(edit=lambda d: d.update(error_analysis=analysed[0]))
    text = error_analysis(ctx)
    assert "| `strict` (exact span and type) |" in text and "| `ent_type` (overlapping span, right type) |" in text


def test_heatmap_is_a_png_and_left_out_without_matplotlib(monkeypatch):
    ctx = make_context(edit=_with_block)
    assert confusion_heatmap(ctx)[:8] == b"\x89PNG\r\n\x1a\n"
    assert confusion_heatmap(make_context()) is None  # nothing to draw
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    bare = make_context(edit=_with_block)
    assert confusion_heatmap(bare) is None and any("no confusion heatmap" in w for w in bare.warnings)


def test_span_error_type_is_the_gold_type_or_the_predicted_one():
    assert SpanError(0, "type", ("ORG", 0, 1), ("LOC", 0, 1)).type == "ORG"
    assert SpanError(0, "spurious", None, ("LOC", 0, 1)).type == "LOC"
