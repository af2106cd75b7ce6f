"""Hand-computed seqeval cases: default vs strict mode, invalid sequences, per-tag scores."""

import pytest

from toolkit.metrics import count_invalid_sequences, quick_scores, score_entities, score_tags


def test_default_mode_counts_stray_inside_tag_as_entity():
    gold = [["O", "B-ORG", "I-ORG", "B-MISC"]]
    pred = [["O", "O", "I-ORG", "B-MISC"]]
    result = score_entities(gold, pred)
    default = result["modes"]["default"]
    assert default["micro avg"]["precision"] == pytest.approx(0.5)
    assert default["micro avg"]["recall"] == pytest.approx(0.5)
    assert default["micro avg"]["f1"] == pytest.approx(0.5)
    assert default["per_type"]["MISC"]["f1"] == pytest.approx(1.0)
    assert default["per_type"]["ORG"]["f1"] == pytest.approx(0.0)
    assert default["per_type"]["ORG"]["support"] == 1
    assert result["overall"]["f1"] == pytest.approx(0.5)
    assert result["overall"]["accuracy"] == pytest.approx(3 / 4)


def test_strict_mode_drops_invalid_spans():
    gold = [["O", "B-ORG", "I-ORG", "B-MISC"]]
    pred = [["O", "O", "I-ORG", "B-MISC"]]
    strict = score_entities(gold, pred)["modes"]["strict"]
    # the lone I-ORG is no entity in strict IOB2: 1 predicted (MISC, correct), 2 gold
    assert strict["micro avg"]["precision"] == pytest.approx(1.0)
    assert strict["micro avg"]["recall"] == pytest.approx(0.5)
    assert strict["micro avg"]["f1"] == pytest.approx(2 / 3)


def test_invalid_sequences_are_inside_tags_without_a_start():
    assert count_invalid_sequences([["O", "I-PER", "I-PER", "B-LOC", "I-ORG", "B-ORG", "I-ORG"]]) == 2
    assert count_invalid_sequences([["B-PER", "I-PER", "O"]]) == 0


def test_perfect_prediction_and_averages():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-LOC", "O"]]
    result = score_entities(gold, gold)
    default = result["modes"]["default"]
    assert default["per_type"]["LOC"]["support"] == 2
    for avg in ("micro avg", "macro avg", "weighted avg"):
        assert default[avg]["f1"] == pytest.approx(1.0)
    assert result["invalid_sequences"] == 0
    assert all(isinstance(v, float) for v in result["overall"].values())


def test_macro_differs_from_micro():
    gold = [["B-PER", "O", "B-LOC", "O", "B-LOC", "O", "B-LOC"]]
    pred = [["O", "O", "B-LOC", "O", "B-LOC", "O", "B-LOC"]]
    default = score_entities(gold, pred)["modes"]["default"]
    assert default["micro avg"]["recall"] == pytest.approx(3 / 4)
    assert default["macro avg"]["recall"] == pytest.approx(0.5)


def test_tag_scores_for_pos():
    gold = [["NNP", "VBZ", "NNP", "."]]
    pred = [["NNP", "NN", "NNP", "."]]
    result = score_tags(gold, pred)
    assert result["task"] == "tags"
    assert result["overall"]["accuracy"] == pytest.approx(0.75)
    assert result["per_tag"]["NNP"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2}
    assert result["per_tag"]["VBZ"]["recall"] == 0.0
    assert result["per_tag"]["NN"]["precision"] == 0.0
    assert result["per_tag"]["NN"]["support"] == 0


def test_quick_scores_match_full_report():
    gold = [["O", "B-ORG", "I-ORG", "B-MISC"]]
    pred = [["O", "O", "I-ORG", "B-MISC"]]
    quick = quick_scores(gold, pred, entities=True)
    assert quick["f1"] == pytest.approx(score_entities(gold, pred)["overall"]["f1"])
