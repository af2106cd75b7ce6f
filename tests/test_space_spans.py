"""nercore.spans: the "none" → spans rule and the disagreement regions, on hand-built inputs."""

from __future__ import annotations

import warnings

from nercore.spans import as_spans, disagreements, none_to_spans
from nercore.tags import pipeline_group, pipeline_tag, pipeline_type

from test_space_helpers import RIGGED_TEXT, rigged_bert, spans_of  # noqa: F401 (fixture)


def tok(index, label, start, end, score=0.9, word=None):
    return {"entity": label, "score": score, "index": index, "word": word or f"t{index}", "start": start, "end": end}


def keys(spans):
    return [(s["entity_group"], s["start"], s["end"]) for s in spans]


TEXT = "John Smith met Widodo in New York"
#       0    5     11  15     22 25  29


def test_pipeline_type():
    assert pipeline_type("B-PER") == "PER"
    assert pipeline_type("I-LOC") == "LOC"
    assert pipeline_type("MISC") == "MISC"
    assert pipeline_type("B-") == ""


def test_pipeline_tag_and_group_read_labels_as_transformers_does():
    assert [pipeline_tag(x) for x in ("B-PER", "I-LOC", "MISC", "S-PER")] == [
        ("B", "PER"), ("I", "LOC"), ("I", "MISC"), ("I", "S-PER")
    ]
    assert [pipeline_group(x) for x in ("B-PER", "X-Y", "LABEL_6", "B-")] == ["PER", "Y", "LABEL_6", ""]


def test_b_then_i_of_same_type_is_one_span():
    spans = none_to_spans([tok(1, "B-PER", 0, 4, 0.8), tok(2, "I-PER", 5, 10, 0.6)], TEXT)
    assert keys(spans) == [("PER", 0, 10)]
    assert spans[0]["word"] == "John Smith"
    assert abs(spans[0]["score"] - 0.7) < 1e-9
    assert type(spans[0]["score"]) is float


def test_b_tag_in_a_new_word_starts_a_new_span():
    assert keys(none_to_spans([tok(1, "B-PER", 0, 4), tok(2, "B-PER", 5, 10)], TEXT)) == [("PER", 0, 4), ("PER", 5, 10)]


def test_type_change_in_a_new_word_starts_a_new_span():
    assert keys(none_to_spans([tok(6, "B-LOC", 25, 28), tok(7, "I-PER", 29, 33)], TEXT)) == [
        ("LOC", 25, 28), ("PER", 29, 33)
    ]


def test_gap_starts_a_new_span_even_for_i_tags():
    # index 2 ("Smith") was labelled O, so it is absent: "John" and "met" cannot be one span.
    assert keys(none_to_spans([tok(1, "B-PER", 0, 4), tok(3, "I-PER", 11, 14)], TEXT)) == [
        ("PER", 0, 4), ("PER", 11, 14)
    ]


def test_leading_i_tag_starts_a_span_and_bare_labels_continue():
    assert keys(none_to_spans([tok(1, "I-PER", 0, 4), tok(2, "I-PER", 5, 10)], TEXT)) == [("PER", 0, 10)]
    assert keys(none_to_spans([tok(1, "PER", 0, 4), tok(2, "PER", 5, 10)], TEXT)) == [("PER", 0, 10)]


def test_sub_tokens_merge_into_their_word_whatever_their_tag():
    # "Widodo" = W | ##ido | ##do: B-PER, B-LOC, I-ORG → one PER span over the labelled pieces.
    tokens = [tok(4, "B-PER", 15, 16), tok(5, "B-LOC", 16, 19), tok(6, "I-ORG", 19, 21)]
    spans = none_to_spans(tokens, TEXT)
    assert keys(spans) == [("PER", 15, 21)]
    assert spans[0]["word"] == "Widodo"


def test_o_pieces_are_not_added_so_a_span_can_start_inside_a_word():
    # W is O (absent), ##ido is B-PER, ##do is O: the span is just "ido".
    assert keys(none_to_spans([tok(5, "B-PER", 16, 19)], TEXT)) == [("PER", 16, 19)]
    # W B-PER, ##ido O (absent), ##do B-PER: a gap inside the word splits it.
    assert keys(none_to_spans([tok(4, "B-PER", 15, 16), tok(6, "B-PER", 19, 21)], TEXT)) == [
        ("PER", 15, 16), ("PER", 19, 21)
    ]


def test_byte_pieces_of_one_character_share_offsets_and_merge():
    text = "I 🎉 Paris"
    tokens = [tok(2, "B-MISC", 2, 3), tok(3, "B-MISC", 2, 3), tok(4, "B-LOC", 4, 9)]
    assert keys(none_to_spans(tokens, text)) == [("MISC", 2, 3), ("LOC", 4, 9)]


def test_o_tokens_in_the_input_are_ignored_and_break_spans():
    tokens = [tok(1, "B-PER", 0, 4), tok(2, "O", 5, 10), tok(3, "I-PER", 11, 14)]
    assert keys(none_to_spans(tokens, TEXT)) == [("PER", 0, 4), ("PER", 11, 14)]


def test_without_text_touching_offsets_define_words():
    tokens = [tok(4, "B-PER", 15, 16, word="W"), tok(5, "B-LOC", 16, 19, word="##ido")]
    assert keys(none_to_spans(tokens, None)) == [("PER", 15, 19)]
    tokens = [tok(1, "B-PER", 0, 4), tok(2, "B-PER", 5, 10)]
    assert keys(none_to_spans(tokens, None)) == [("PER", 0, 4), ("PER", 5, 10)]


def test_unsorted_input_is_sorted_by_index():
    tokens = [tok(2, "I-PER", 5, 10), tok(1, "B-PER", 0, 4)]
    assert keys(none_to_spans(tokens, TEXT)) == [("PER", 0, 10)]


def test_none_decoding_matches_simple_on_the_rigged_model(rigged_bert):
    from transformers import pipeline

    from nercore.engine import predict_all

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = pipeline("token-classification", model=str(rigged_bert))
    out = predict_all(pipe, RIGGED_TEXT)
    decoded = none_to_spans(out["none"], RIGGED_TEXT)
    assert keys(decoded) == keys(out["simple"])
    assert spans_of(RIGGED_TEXT, decoded)[:3] == [("PER", "Barack Obama"), ("PER", "W"), ("LOC", "d")]
    # And the disagreement view finds exactly the word the strategies fight over.
    regions = disagreements(out, RIGGED_TEXT, reference=["word"])
    assert [(r["start"], r["end"], r["text"]) for r in regions] == [(17, 23, "Widodo")]
    assert disagreements(out, RIGGED_TEXT) == regions  # the word view agrees with first/max here
    said = {name: spans_of(RIGGED_TEXT, spans) for name, spans in regions[0]["strategies"].items()}
    assert said == {
        "none": [("PER", "W"), ("LOC", "d"), ("LOC", "d")],
        "simple": [("PER", "W"), ("LOC", "d"), ("LOC", "d")],
        "first": [("PER", "Widodo")],
        "average": [],
        "max": [("PER", "Widodo")],
        "word": [("PER", "Widodo")],
    }


def test_a_reference_strategy_is_shown_but_makes_no_region():
    text = "Paris, France."
    pipeline_says = [{"entity_group": "LOC", "score": 0.9, "word": "Paris,", "start": 0, "end": 6}]
    word_says = [{"entity_group": "LOC", "score": 0.9, "word": "Paris", "start": 0, "end": 5}]
    results = {"first": pipeline_says, "max": pipeline_says, "word": word_says}
    assert disagreements(results, text, reference=["word"]) == []
    results["simple"] = word_says
    (region,) = disagreements(results, text, reference=["word"])
    assert (region["start"], region["end"]) == (0, 6)
    assert [(s["word"]) for s in region["strategies"]["word"]] == ["Paris"]
    assert list(region["strategies"]) == ["first", "max", "word", "simple"]


def span(label, start, end, score=0.5):
    return {"entity_group": label, "score": score, "word": "w", "start": start, "end": end}


def test_full_agreement_and_single_strategy_give_no_regions():
    same = [span("PER", 0, 10)]
    assert disagreements({"simple": same, "first": list(same), "max": list(same)}, TEXT) == []
    assert disagreements({"simple": [span("PER", 0, 4)]}, TEXT) == []
    assert disagreements({}, TEXT) == []


def test_overlapping_disputes_merge_into_one_region_with_what_each_said():
    results = {
        "simple": [span("PER", 0, 4), span("PER", 5, 10)],
        "first": [span("PER", 0, 10)],
        "average": [span("ORG", 5, 10)],
        "max": [span("LOC", 25, 33)],
    }
    regions = disagreements(results, TEXT)
    assert [(r["start"], r["end"], r["text"]) for r in regions] == [(0, 10, "John Smith"), (25, 33, "New York")]
    first = regions[0]["strategies"]
    assert [(s["entity_group"], s["start"], s["end"]) for s in first["simple"]] == [("PER", 0, 4), ("PER", 5, 10)]
    assert first["first"][0]["word"] == "John Smith"
    assert first["max"] == []
    assert regions[1]["strategies"]["max"][0]["entity_group"] == "LOC"


def test_same_offsets_different_type_is_a_disagreement():
    regions = disagreements({"a": [span("PER", 0, 4)], "b": [span("ORG", 0, 4)]}, TEXT)
    assert [(r["start"], r["end"]) for r in regions] == [(0, 4)]


def test_none_output_is_decoded_and_text_is_optional():
    results = {"none": [tok(1, "B-PER", 0, 4), tok(2, "I-PER", 5, 10)], "simple": [span("PER", 0, 10)]}
    assert disagreements(results, TEXT) == []
    results["simple"] = [span("PER", 0, 4)]
    regions = disagreements(results, None)
    assert regions and "text" not in regions[0]
    assert as_spans([]) == []
