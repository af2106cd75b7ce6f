"""Settings, request rules and bad input, without a server: space.config, space.service, ui rendering."""

from __future__ import annotations

import json
import time
import unicodedata

import pytest

from nercore.strategies import STRATEGY_NAMES
from space.config import ConfigError, SpaceConfig, find_default_model
from space.model import ModelLoadError, load_counts
from space.service import EMPTY_TEXT_MESSAGE, NO_MODEL_MESSAGE, RequestError, Service

from test_space_helpers import RIGGED_EXPECTED, RIGGED_TEXT, rigged_bert, spans_of  # noqa: F401 (fixture)

# --- config ------------------------------------------------------------------------------------


def test_config_defaults_without_any_model(tmp_path):
    config = SpaceConfig.from_env({}, repo_root=tmp_path)
    assert config.default_model is None
    assert config.max_chars == 20_000 and config.queue_size == 64 and config.concurrency == 1
    assert not config.allow_custom_model and not config.allow_local_paths  # typed ids: owner opt-in
    assert "dslim/bert-base-NER" in config.models  # from space/models.txt


def test_config_reads_models_from_env_and_files(tmp_path):
    (tmp_path / "model").mkdir()
    assert find_default_model({}, tmp_path) is None  # a folder without config.json is not a model
    (tmp_path / "model" / "config.json").write_text("{}")
    assert find_default_model({}, tmp_path) == str(tmp_path / "model")
    assert find_default_model({"NER_MODEL": " org/ner "}, tmp_path) == "org/ner"
    listed = tmp_path / "models.txt"
    listed.write_text("# comment\na/one   # trailing comment\n\nb/two\n")
    config = SpaceConfig.from_env({"NER_MODEL": "b/two", "NER_MODELS_FILE": str(listed)}, repo_root=tmp_path)
    assert config.choices == ["b/two", "a/one"]
    config = SpaceConfig.from_env({"NER_MODELS": "x/1, y/2\nz/3", "NER_MODELS_FILE": str(listed)}, tmp_path)
    assert config.models == ("x/1", "y/2", "z/3")
    config = SpaceConfig.from_env(
        {"NER_MAX_CHARS": "500", "NER_STRIDE": "16", "NER_DEVICE": "CPU", "NER_HALF": "0",
         "NER_ALLOW_CUSTOM_MODEL": "false", "NER_QUEUE_SIZE": "8", "NER_CONCURRENCY": "2"}, tmp_path,
    )
    assert (config.max_chars, config.stride, config.device, config.half_precision) == (500, 16, "cpu", False)
    assert (config.allow_custom_model, config.queue_size, config.concurrency) == (False, 8, 2)


@pytest.mark.parametrize(
    "env, message",
    [
        ({"NER_MAX_CHARS": "lots"}, "NER_MAX_CHARS='lots': expected a whole number >= 1"),
        ({"NER_QUEUE_SIZE": "0"}, "NER_QUEUE_SIZE='0'"),
        ({"NER_ALLOW_CUSTOM_MODEL": "maybe"}, "expected 1/0"),
        ({"NER_DEVICE": "tpu"}, "expected auto, cpu, cuda or mps"),
        ({"NER_MODELS_FILE": "/nonexistent/models.txt"}, "no such file"),
    ],
)
def test_config_errors_name_the_variable(env, message, tmp_path):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        SpaceConfig.from_env(env, repo_root=tmp_path)


# --- requests ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def service(rigged_bert, tiny_bert, tiny_roberta):
    return Service(SpaceConfig(default_model=str(rigged_bert), models=(str(tiny_bert), str(tiny_roberta)),
                               device="cpu", max_chars=20_000))


def test_compare_returns_every_strategy_and_the_disagreement(service):
    result = service.compare(RIGGED_TEXT)
    json.dumps(result)
    assert result["message"] == ""
    assert {s: spans_of(RIGGED_TEXT, e) for s, e in result["entities"].items() if s in RIGGED_EXPECTED} == RIGGED_EXPECTED
    assert [(r["start"], r["end"], r["text"]) for r in result["disagreements"]] == [(17, 23, "Widodo")]
    info = result["info"]
    assert info["windows"] == 1 and info["num_tokens"] > 20 and info["forward_ms"] > 0
    assert info["word_boundaries"]["method"] == "prefix" and info["device"].startswith("cpu")
    assert service.predict(RIGGED_TEXT, "first") == result["entities"]["first"]


@pytest.mark.parametrize("text", ["", "   ", "\n\t  \n", None])
def test_empty_text_is_a_friendly_message_not_an_error(service, text):
    before = load_counts()
    result = service.compare(text)
    assert result["message"] == EMPTY_TEXT_MESSAGE
    assert result["entities"] == {s: [] for s in STRATEGY_NAMES} and result["disagreements"] == []
    assert service.predict(text, "max") == []
    assert load_counts() == before  # nothing was loaded for it


def test_100k_characters_are_refused_quickly_with_the_limit_named(service):
    began = time.perf_counter()
    with pytest.raises(RequestError, match=r"100,000 characters; the limit is 20,000 \(NER_MAX_CHARS"):
        service.compare(("Obama visited Paris. " * 5000)[:100_000])
    assert time.perf_counter() - began < 1.0


def test_100k_characters_are_answered_when_the_limit_allows(rigged_bert):
    """With NER_MAX_CHARS=100000 the whole text is processed in windows; entities at the very end are found."""
    service = Service(SpaceConfig(default_model=str(rigged_bert), device="cpu", max_chars=100_000))
    sentence = "Then Barack Obama met John Smith in New York City and Paris. "
    n = (100_000 - len(" Reuters")) // len(sentence)
    text = sentence * n
    text += " " * (100_000 - len(text) - len("Reuters")) + "Reuters"
    assert len(text) == 100_000
    began = time.perf_counter()
    result = service.compare(text, ["simple", "first"])
    elapsed = time.perf_counter() - began
    assert result["info"]["windows"] > 100
    for name in ("simple", "first"):
        last = result["entities"][name][-1]
        assert (last["entity_group"], text[last["start"] : last["end"]]) == ("ORG", "Reuters")
        assert len(result["entities"][name]) == 1 + 4 * n  # PER, PER, LOC, LOC per sentence
    assert elapsed < 120, f"100 000 characters took {elapsed:.1f} s"


UNICODE_TEXTS = [
    "Emoji 👩‍👩‍👧 family 🇫🇷 flag Paris 🎉 and John",
    "RTL: שלום עולם مرحبا بالعالم London",
    "CJK: 東京タワーは日本にある。北京 서울",
    "Combining: Zu\u0308rich, e\u0301te\u0301, Cafe\u0301 de Flore",
    "Zero\u200bwidth\u200cjoin\u200d and \ufeffBOM John \u2060Smith",
    "Control\x00chars\x07here\tand\x1b[31m red \r\n New\x0bYork \x7f end",
    "<script>alert('x')</script> <b>bold</b> &amp; New York",
]


def _gpt2_bytes_to_unicode() -> dict[int, str]:
    """The byte → printable character table of byte-level BPE (GPT-2, RoBERTa)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def _norm(s: str) -> str:
    """What a tokenizer may drop: whitespace, control/format characters, the ## continuation mark."""
    return "".join(
        ch for ch in s.replace("##", "") if not ch.isspace() and unicodedata.category(ch) not in ("Cc", "Cf")
    )


@pytest.mark.parametrize("model_fixture", ["tiny_bert", "tiny_roberta"])
def test_offsets_slice_the_original_text_to_the_entity(service, model_fixture, request):
    """Every entity's text[start:end] is the entity in the ORIGINAL text, whatever the script."""
    byte_of = {v: k for k, v in _gpt2_bytes_to_unicode().items()}
    path = service.config.display_of(str(request.getfixturevalue(model_fixture)))  # a listed folder's shown name
    checked = 0
    for text in UNICODE_TEXTS:
        result = service.compare(text, None, path)
        for name, entities in result["entities"].items():
            for e in entities:
                start, end, word = e["start"], e["end"], e["word"]
                assert 0 <= start <= end <= len(text), (name, e)
                if start == end:  # byte-level BPE: a lone space token "Ġ", offsets trimmed to nothing
                    assert model_fixture == "tiny_roberta" and word in ("Ġ", " "), (name, e)
                    continue
                piece = text[start:end]
                assert piece.strip() == piece or model_fixture == "tiny_roberta", (name, e)
                if model_fixture == "tiny_bert":
                    assert _norm(word) == _norm(piece), (name, word, piece)
                elif name == "none":  # a byte-level token: its bytes lie inside the slice's UTF-8
                    raw = bytes(byte_of[c] for c in word).strip(b" ")
                    assert raw in piece.encode("utf-8"), (word, piece)
                else:  # decoded words show partial characters as U+FFFD
                    assert _norm(word.replace("\ufffd", "")) in _norm(piece), (name, word, piece)
                checked += 1
    assert checked > 50  # random tiny models label almost everything


def test_html_is_returned_as_plain_text_data(service):
    text = "<script>alert(1)</script> Barack Obama"
    result = service.compare(text)
    assert ("PER", "Barack Obama") in spans_of(text, result["entities"]["simple"])
    first = result["entities"]["none"][0]
    assert first["start"] == text.index("Barack") and text[first["start"]:first["end"]] in ("Barack", "B")


def test_unknown_strategy_and_model_are_clear_errors(service, tmp_path):
    with pytest.raises(RequestError, match="Unknown aggregation strategy 'bogus': expected one of none, simple"):
        service.compare("John", ["simple", "bogus"])
    with pytest.raises(RequestError, match="No strategy chosen"):
        service.compare("John", [])
    with pytest.raises(RequestError, match="strategy must be one name"):
        service.predict("John", ["simple"])
    typing = Service(SpaceConfig(default_model=service.config.default_model, allow_custom_model=True, device="cpu"))
    # existing and missing server paths get the same answer: the disk is never probed for a visitor
    answers = []
    for path in (str(tmp_path), str(tmp_path / "missing"), "/etc", "/etc/no-such-dir", "~/.cache", "../x/y"):
        with pytest.raises(RequestError, match="typed local paths are disabled") as err:
            typing.compare("John", None, path)
        answers.append(str(err.value).partition(" is not a Hub model id")[2])
    assert len(set(answers)) == 1, answers
    with pytest.raises(RequestError, match="model must be a string"):
        service.compare("John", None, 42)
    strict = Service(SpaceConfig(default_model=service.config.default_model, allow_custom_model=False))
    with pytest.raises(RequestError, match="unknown model 'someone/else': this Space only serves"):
        strict.compare("John", None, "someone/else")
    lenient = Service(SpaceConfig(default_model=service.config.default_model, allow_custom_model=True,
                                  allow_local_paths=True, device="cpu"))
    with pytest.raises(ModelLoadError, match="not a model folder"):
        lenient.compare("John", None, str(tmp_path))


def test_an_unavailable_device_is_a_model_error_with_the_fix():
    """select_device raises DeviceError; requests show it as before (ModelLoadError, same words)."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    service = Service(SpaceConfig(default_model="any/model", device="cuda"))
    with pytest.raises(ModelLoadError, match="NER_DEVICE=cuda but torch sees no CUDA device"):
        service.compare("John Smith")


def test_no_model_configured_says_how_to_fix_it():
    service = Service(SpaceConfig(default_model=None, device="cpu"))
    with pytest.raises(RequestError) as info:
        service.compare("John Smith")
    assert str(info.value) == NO_MODEL_MESSAGE and "NER_MODEL" in NO_MODEL_MESSAGE


# --- rendering ---------------------------------------------------------------------------------


def test_the_space_never_imports_the_toolkit():
    """The Space's requirements stay small: no module under space/ (nor app.py) imports toolkit."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for path in [root / "app.py", *sorted((root / "space").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n == "toolkit" or n.startswith("toolkit.") for n in names), (path.name, names)


def test_the_default_models_language_comes_from_its_card(tmp_path, rigged_bert):
    """Issue 22: the page says the bundled model is English where the visitor chooses the model."""
    from pathlib import Path

    from space.config import card_language
    from space.ui import _model_info

    folder = tmp_path / "m"
    folder.mkdir()
    assert card_language(folder) is None  # no card
    for front, expected in (("language: en\n", "English"), ("language:\n- de\n", "German"),
                            ("language:\n- de\n- en\n", None), ("license: mit\n", None), ("language: xx\n", "xx")):
        (folder / "README.md").write_text(f"---\n{front}---\n# m\n")
        assert card_language(folder) == expected, front
    bundled = Path(__file__).resolve().parent.parent / "model"
    if (bundled / "README.md").is_file():
        config = SpaceConfig(default_model=str(bundled), default_is_bundled=True, device="cpu")
        assert config.default_language == "English"
        assert "English model" in _model_info(config)
    assert SpaceConfig(default_model=str(rigged_bert), device="cpu").default_language is None
