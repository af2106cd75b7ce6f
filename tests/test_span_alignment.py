"""Character spans onto the model's sub-tokens (toolkit/span_alignment.py), long texts in chunks, and the CLI.

The tiny WordPiece model's vocab knows "Paris" whole and splits unknown words into characters, so a
span edge inside "Paris" is inside a sub-token while one inside "Kraftfahrzeug" is not.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from conftest import TESTS_DIR
from nercore.errors import UserError
from toolkit.alignment import load_tokenizer, tokenize_dataset
from toolkit.data import load_raw_splits, read_span_file
from toolkit.labels import prepare_labels
from toolkit.span_alignment import align_spans, chunk_bounds

TINY_CONLL = TESTS_DIR / "data" / "tiny_conll"


def jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def aligned(tmp_path, tokenizer, rows, **options):
    path = jsonl(tmp_path / "train.jsonl", rows)
    raw = load_raw_splits(str(path), overlaps=options.get("overlaps", "refuse"))
    return align_spans(raw, tokenizer, **options).splits["train"]


@pytest.fixture(scope="module")
def bert_tokenizer(tiny_bert):
    return load_tokenizer(str(tiny_bert))


def test_edge_inside_a_sub_token_expand_contract_refuse(tmp_path, bert_tokenizer):
    rows = [{"text": "We met in Paris today", "label": [[10, 14, "LOC"]]}]  # "Pari": "Paris" is one sub-token
    split = aligned(tmp_path, bert_tokenizer, rows)
    assert list(zip(split.tokens[0], split.tags[0]))[3] == ("Paris", "B-LOC")
    report = split.span_report
    assert report["counts"]["expanded"] == 1 and report["settings"]["span_alignment"] == "expand"
    example = report["examples"]["expanded"][0]
    assert (example["before"], example["after"], example["record"]) == ("Pari", "Paris", "train.jsonl line 1")
    assert split.spans == [[(10, 14, "LOC")]], "the gold spans stay as the annotator drew them"
    contracted = aligned(tmp_path, bert_tokenizer, rows, policy="contract")
    assert contracted.tags[0] == ["O"] * 5 and contracted.span_report["counts"]["dropped_by_contract"] == 1
    with pytest.raises(UserError, match=r"train.jsonl line 1: span 10-14 'Pari' \(LOC\) ends inside the sub-token "
                                        r"'Paris' \(10-15\).*--span-alignment expand"):
        aligned(tmp_path, bert_tokenizer, rows, policy="refuse")


def test_edge_at_a_sub_token_boundary_inside_a_word_is_kept(tmp_path, bert_tokenizer):
    split = aligned(tmp_path, bert_tokenizer, [{"text": "The Kraftfahrzeug", "label": [[4, 9, "PART"]]}])
    assert split.tokens[0] == ["The", "Kraft", "fahrzeug"] and split.tags[0] == ["O", "B-PART", "O"]
    assert "expanded" not in split.span_report["counts"] and split.span_report["counts"]["words_cut"] == 1


def test_unknown_word_is_one_sub_token_so_a_partial_span_expands_to_it(tmp_path, bert_tokenizer):
    text = "Flights 😀 to Zürich"
    start = text.index("Zür")
    split = aligned(tmp_path, bert_tokenizer, [{"text": text, "label": [[start, start + 3, "LOC"]]}])
    assert split.tokens[0][-1] == "Zürich" and split.tags[0][-1] == "B-LOC"


def test_spans_that_overlap_once_expanded(tmp_path, bert_tokenizer):
    rows = [{"text": "in Paris now", "label": [[3, 5, "LOC"], [5, 8, "ORG"]]}]  # "Pa" + "ris": one sub-token
    with pytest.raises(UserError, match=r"overlap once moved to sub-token edges \(--span-alignment expand\)"):
        aligned(tmp_path, bert_tokenizer, rows)
    split = aligned(tmp_path, bert_tokenizer, rows, overlaps="first")
    assert split.tags[0] == ["O", "B-LOC", "O"] and split.span_report["counts"]["overlaps_after_alignment"] == 1


def test_byte_level_bpe_offsets(tmp_path, tiny_roberta):
    tokenizer = load_tokenizer(str(tiny_roberta))
    text = "Barack Obama visited Paris."
    split = aligned(tmp_path, tokenizer, [{"text": text, "label": [[0, 12, "PER"], [21, 26, "LOC"]]}])
    assert split.tags[0] == ["B-PER", "I-PER", "O", "B-LOC", "O"]


def long_document(words: int = 900, seed: int = 0) -> tuple[str, list]:
    """A ~5,000-character text of sentences with a name or a city now and then."""
    rng = random.Random(seed)
    vocab = "the a of in on company bank group said that will open new talks".split()
    text, spans = "", []
    while len(text) < 5000:
        sentence = [rng.choice(vocab) for _ in range(rng.randint(5, 14))]
        for _ in range(rng.randint(0, 2)):
            name = rng.choice(["John Smith", "Paris", "United Nations", "Peter Blackburn"])
            at = rng.randrange(len(sentence) + 1)
            sentence.insert(at, name)
        piece = " ".join(sentence).capitalize() + ". "
        for name in ("John Smith", "Paris", "United Nations", "Peter Blackburn"):
            start = piece.find(name)
            while start >= 0:
                spans.append([len(text) + start, len(text) + start + len(name), "PER" if " " in name[:-3] else "LOC"])
                start = piece.find(name, start + 1)
        text += piece
    return text.strip(), spans


def test_a_5000_character_document_trains_as_chunks(tmp_path, bert_tokenizer):
    text, spans = long_document()
    assert len(text) >= 5000
    split = aligned(tmp_path, bert_tokenizer, [{"text": text, "label": spans}, {"text": "Paris", "label": []}],
                    max_length=64, context_tokens=8)
    counts = split.span_report["counts"]
    chunks = counts["chunks"]
    assert counts["chunked_records"] == 1 and chunks > 10 and len(split.tokens) == chunks + 1
    assert split.sentence_records == split.documents == [0] * chunks + [1]
    offsets = [pair for sentence in split.word_offsets[:chunks] for pair in sentence]
    assert offsets == sorted(offsets) and len(offsets) == len(set(offsets)), "every word once, in order"
    budget = 64 - 2 - 2 * 8
    for tokens, tags in zip(split.tokens[:chunks], split.tags[:chunks]):
        pieces = bert_tokenizer(tokens, is_split_into_words=True, add_special_tokens=False)["input_ids"]
        assert len(pieces) <= budget
        assert not tags[0].startswith("I-"), "no chunk starts inside an entity"
    tagged = [tag for tags in split.tags[:chunks] for tag in tags]
    assert tagged.count("B-LOC") + tagged.count("B-PER") == len(spans)


def test_chunk_cut_prefers_a_sentence_end():
    text = "aa bb . cc dd ee"
    words = [(0, 2), (3, 5), (6, 7), (8, 10), (11, 13), (14, 16)]
    assert chunk_bounds(text, words, ["O"] * 6, [1] * 6, 4) == [0, 3, 6]
    assert chunk_bounds(text, words, ["O", "O", "O", "B-X", "I-X", "O"], [1] * 6, 5) == [0, 3, 6]


def ls_export(raw_split) -> list[dict]:
    """The sentences of a CoNLL split as a Label Studio export: tokens joined by spaces, one task each."""
    from nercore.tags import entity_spans

    tasks = []
    for i, (tokens, tags) in enumerate(zip(raw_split.tokens, raw_split.tags)):
        starts = [sum(len(t) + 1 for t in tokens[:j]) for j in range(len(tokens))]
        text = " ".join(tokens)
        result = [{"id": f"{i}-{a}", "from_name": "label", "to_name": "text", "type": "labels",
                   "value": {"start": starts[a], "end": starts[b - 1] + len(tokens[b - 1]),
                             "text": text[starts[a]:starts[b - 1] + len(tokens[b - 1])], "labels": [kind]}}
                  for kind, a, b in entity_spans(tags)]
        tasks.append({"id": i + 1, "data": {"text": text}, "annotations": [
            {"id": i + 1, "completed_by": 1, "result": result, "was_cancelled": False,
             "updated_at": "2024-01-01T00:00:00Z"}]})
    return tasks


def write_ls_folder(folder: Path, source: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, split in load_raw_splits(str(source)).splits.items():
        (folder / f"{name}.json").write_text(json.dumps(ls_export(split)), encoding="utf-8")
    return folder


def sub_token_labels(data, tokenizer, strategy):
    out = {}
    for name, dataset in data.splits.items():
        encoded, _ = tokenize_dataset(dataset, tokenizer, data.labels, strategy=strategy, max_length=128, desc=name)
        out[name] = (encoded["input_ids"], encoded["labels"])
    return out


@pytest.mark.parametrize("strategy", ["first", "all"])
def test_conll_and_label_studio_give_identical_sub_token_labels(tmp_path, bert_tokenizer, strategy):
    conll = prepare_labels(load_raw_splits(str(TINY_CONLL)))
    raw = load_raw_splits(str(write_ls_folder(tmp_path / "ls", TINY_CONLL)))
    spans = prepare_labels(align_spans(raw, bert_tokenizer))
    assert spans.labels == conll.labels
    assert sub_token_labels(spans, bert_tokenizer, strategy) == sub_token_labels(conll, bert_tokenizer, strategy)


def test_punctuation_inside_a_conll_token_with_every_sub_token_labelled(tmp_path, bert_tokenizer):
    """`U.S.` is one CoNLL token but four words of nercore's splitter: labelling every sub-token, the same labels."""
    conll_file = tmp_path / "conll" / "train.txt"
    conll_file.parent.mkdir()
    conll_file.write_text("The O\nU.S. B-LOC\nwon O\n1-0 O\n.O O\n\nJohn B-PER\nSmith I-PER\nsaid O\n", encoding="utf-8")
    conll_file.write_text(conll_file.read_text().replace(".O O", ". O"), encoding="utf-8")
    conll = prepare_labels(load_raw_splits(str(conll_file.parent)))
    spans = prepare_labels(align_spans(load_raw_splits(str(write_ls_folder(tmp_path / "ls", conll_file.parent))),
                                       bert_tokenizer))
    assert sub_token_labels(spans, bert_tokenizer, "all") == sub_token_labels(conll, bert_tokenizer, "all")


def test_span_data_trains_on_the_raw_text_as_the_pipeline_tokenizes_it(tmp_path, tiny_roberta):
    """Byte-level BPE: words fed one by one would read `Paris ,` (a space before the comma); span data
    keeps its text, so training sees the sub-tokens inference sees, labelled through the offsets."""
    tokenizer = load_tokenizer(str(tiny_roberta))
    text = "Barack Obama visited Paris, France."
    raw = load_raw_splits(str(jsonl(tmp_path / "train.jsonl", [{"text": text, "label": [[0, 12, "PER"], [21, 26, "LOC"]]}])))
    data = prepare_labels(align_spans(raw, tokenizer))
    encoded, _ = tokenize_dataset(data.splits["train"], tokenizer, data.labels, strategy="first", max_length=64,
                                  desc="train")
    assert encoded["input_ids"][0] == tokenizer(text)["input_ids"]
    assert encoded["input_ids"][0] != tokenizer(data.splits["train"]["tokens"][0], is_split_into_words=True)["input_ids"]
    pieces = tokenizer(text, return_offsets_mapping=True)["offset_mapping"]
    labelled = {a: data.labels[label] for (a, b), label in zip(pieces, encoded["labels"][0]) if label >= 0}
    assert labelled[0] == "B-PER" and labelled[7] == "I-PER" and labelled[21] == "B-LOC"  # Barack, Obama, Paris
    assert labelled[26] == "O" and labelled[28] == "O" and 22 not in labelled  # ",", "France"; "aris" (not first)
