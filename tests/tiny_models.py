"""Tiny, randomly initialised token-classification models built offline for tests.

Two tokenizer families matter for NER: WordPiece (BERT, `##` continuation pieces) and
byte-level BPE (RoBERTa/GPT-2, no continuation marker, needs `add_prefix_space`). Both
are built here from a small in-memory corpus in well under a second, so no test needs
the network or real weights.
"""

from __future__ import annotations

import string
from pathlib import Path

CONLL_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]

# Words the WordPiece vocab knows whole; anything else is split into characters,
# so names like "Widodo" become several sub-tokens, as with real models.
_WHOLE_WORDS = (
    "the a an of in on at to and for with from by is was were be has have had "
    "eu german british call boycott lamb rejects john smith new york city united nations "
    "obama barack visited headquarters president minister said peter blackburn london paris "
    "france germany japan china company bank group inc corp reuters monday tuesday "
    "he she it they we you i this that not but or as are"
).split()


def build_wordpiece_tokenizer(directory: Path, *, lowercase: bool = False):
    """A real `BertTokenizerFast` from a hand-made vocab (whole words + single characters)."""
    from transformers import BertTokenizerFast

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    chars = list(string.ascii_letters + string.digits + string.punctuation)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab += _WHOLE_WORDS + [w.capitalize() for w in _WHOLE_WORDS] + ["EU", "U.S."]
    vocab += chars + ["##" + c for c in string.ascii_letters + string.digits]
    seen: set[str] = set()
    vocab = [v for v in vocab if not (v in seen or seen.add(v))]
    return BertTokenizerFast(vocab={token: i for i, token in enumerate(vocab)}, do_lower_case=lowercase)


def build_bpe_tokenizer(directory: Path):
    """A real byte-level BPE `RobertaTokenizerFast` trained on a few sentences."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaTokenizerFast

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    corpus = [" ".join(_WHOLE_WORDS), " ".join(w.capitalize() for w in _WHOLE_WORDS)] * 3
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        corpus,
        vocab_size=400,
        min_frequency=1,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        show_progress=False,
    )
    bpe.save_model(str(directory))
    return RobertaTokenizerFast(
        vocab=str(directory / "vocab.json"),
        merges=str(directory / "merges.txt"),
        add_prefix_space=True,
    )


def build_tiny_model(
    directory: Path,
    *,
    kind: str = "bert",
    labels: list[str] | None = None,
    seed: int = 0,
    max_position_embeddings: int = 128,
) -> Path:
    """Save a tiny random token-classification model + tokenizer to `directory`.

    `kind` is "bert" (WordPiece) or "roberta" (byte-level BPE). The model has real
    `id2label`/`label2id`, so pipelines print label names, not `LABEL_n`.
    """
    import torch
    from transformers import (
        BertConfig,
        BertForTokenClassification,
        RobertaConfig,
        RobertaForTokenClassification,
    )

    labels = list(labels or CONLL_LABELS)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    common = dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    if kind == "bert":
        tokenizer = build_wordpiece_tokenizer(directory)
        config = BertConfig(
            vocab_size=tokenizer.vocab_size,
            max_position_embeddings=max_position_embeddings,
            **common,
        )
        model = BertForTokenClassification(config)
    elif kind == "roberta":
        tokenizer = build_bpe_tokenizer(directory)
        config = RobertaConfig(
            vocab_size=tokenizer.vocab_size,
            max_position_embeddings=max_position_embeddings + 2,
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            **common,
        )
        model = RobertaForTokenClassification(config)
    else:
        raise ValueError(f"kind must be 'bert' or 'roberta', got {kind!r}")
    tokenizer.model_max_length = max_position_embeddings
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def build_rigged_bert(directory: Path, table: dict[str, dict[str, float]]) -> Path:
    """A tiny BERT whose predictions are set by hand: the encoder is made the identity (after
    LayerNorm) and each WordPiece token in `table` gets the label weights given there; every
    other token is a pure "O". Tests then know exactly what each aggregation strategy must return."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    directory = build_tiny_model(Path(directory), kind="bert")
    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = AutoModelForTokenClassification.from_pretrained(directory)
    rig_weights(model, tokenizer, table)
    model.save_pretrained(directory)
    return directory


def rig_weights(model, tokenizer, table: dict[str, dict[str, float]]) -> None:
    """Set a tiny BERT's weights so that each token string in `table` predicts the label weights
    given there and every other token a pure "O" (encoder = identity after LayerNorm)."""
    import torch

    label_index = {label: i for i, label in enumerate(CONLL_LABELS)}
    with torch.no_grad():
        bert = model.bert
        bert.embeddings.position_embeddings.weight.zero_()
        bert.embeddings.token_type_embeddings.weight.zero_()
        for layer in bert.encoder.layer:
            for linear in (layer.attention.output.dense, layer.output.dense):
                linear.weight.zero_()
                linear.bias.zero_()
        emb = bert.embeddings.word_embeddings.weight
        emb.zero_()
        emb[:, label_index["O"]] = 1.0
        for token, weights in table.items():
            token_id = tokenizer.convert_tokens_to_ids(token)
            assert token_id is not None and token_id != tokenizer.unk_token_id, token
            emb[token_id].zero_()
            for label, weight in weights.items():
                emb[token_id, label_index[label]] = weight
        model.classifier.weight.zero_()
        model.classifier.bias.zero_()
        for i in range(len(CONLL_LABELS)):
            model.classifier.weight[i, i] = 1.0


CONTEXT_CUE, CONTEXT_TARGET = "president", "smith"


def build_context_rigged_bert(directory: Path, strength: float = 5.0) -> Path:
    """A tiny BERT that tags "smith" B-PER only when "president" is in the same input, else O.

    Layer 0's attention is made uniform (query and key zero) and carries a "cue" dimension, set only
    on "president", into the B-PER logit of every token; "smith" alone sits just below the O/B-PER
    tie (O 1.0, B-PER 0.9), every other token far from it. So the right answer for "smith" depends
    on a word in the *previous* sentence: right with document context, wrong without.
    """
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    directory = build_tiny_model(Path(directory), kind="bert")
    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = AutoModelForTokenClassification.from_pretrained(directory)
    rig_weights(model, tokenizer, {CONTEXT_TARGET: {"O": 1.0, "B-PER": 0.9}})
    cue_dim, b_per = len(CONLL_LABELS), CONLL_LABELS.index("B-PER")
    with torch.no_grad():
        emb = model.bert.embeddings.word_embeddings.weight
        cue = tokenizer.convert_tokens_to_ids(CONTEXT_CUE)
        emb[cue].zero_()
        emb[cue, 0] = 1.0
        emb[cue, cue_dim] = 1.0
        attention = model.bert.encoder.layer[0].attention
        for linear in (attention.self.query, attention.self.key, attention.self.value):
            linear.weight.zero_()
            linear.bias.zero_()
        attention.self.value.weight[b_per, cue_dim] = strength
        attention.output.dense.weight.copy_(torch.eye(attention.output.dense.weight.shape[0]))
    model.save_pretrained(directory)
    return directory


# Words of tests/data/tiny_conll's validation and test splits, rigged right (Paris, Japan, Peter, United Nations)
# or wrong (Germany as PER, London and British as ORG, ...): about half of the entities are right.
OVERCONFIDENT_TABLE = {
    "Paris": {"B-LOC": 1}, "Japan": {"B-LOC": 1}, "Germany": {"B-PER": 1}, "London": {"B-ORG": 1},
    "Peter": {"B-PER": 1}, "British": {"B-ORG": 1}, "German": {"B-MISC": 1}, "United": {"B-ORG": 1},
    "Nations": {"I-ORG": 1},
}


def build_overconfident_bert(directory: Path, sharpness: float = 4.0) -> Path:
    """`build_rigged_bert` on `OVERCONFIDENT_TABLE` with the classifier multiplied by `sharpness`: every entity
    it predicts is scored ~1.0 while about half of them are wrong, the over-confidence calibration must fix."""
    import torch
    from transformers import AutoModelForTokenClassification

    directory = build_rigged_bert(Path(directory), OVERCONFIDENT_TABLE)
    model = AutoModelForTokenClassification.from_pretrained(directory)
    with torch.no_grad():
        model.classifier.weight.mul_(sharpness)
    model.save_pretrained(directory)
    return directory
