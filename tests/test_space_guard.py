"""Issue 9 (Space: models, errors, privacy, models.txt), issue 11 (micro-batching) and issue 17 (windows
scheduled fairly), without a server."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import pytest

from space import model as space_model
from space.scheduler import WindowScheduler
from space.config import DEFAULT_MODELS_FILE, SpaceConfig, _split_models, read_models_file
from nercore.device import DeviceChoice
from space.model import LoadPolicy, ModelLoadError, clear_cache, get_pipeline, load_counts
from space.service import RequestError, Service
from nercore.engine import finish, predict_detailed, prepare

from test_space_helpers import RIGGED_EXPECTED, RIGGED_TEXT, rigged_bert, spans_of  # noqa: F401 (fixture)

CPU = DeviceChoice("cpu", "float32", "CPU")
REPO_ROOT = Path(__file__).resolve().parent.parent
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")


@pytest.fixture
def fresh_cache():
    clear_cache()
    yield
    clear_cache()


# --- models.txt --------------------------------------------------------------------------------

def test_comments_with_commas_never_become_models():
    raw = "a/one   # BERT cased, WordPiece: real words\nb/two, c/three  # x, y\n# only, a comment\n"
    assert _split_models(raw) == ["a/one", "b/two", "c/three"]


def test_every_entry_of_the_shipped_models_txt_is_a_repo_id_or_path():
    entries = read_models_file(DEFAULT_MODELS_FILE)
    assert entries
    for entry in entries:
        assert _REPO_ID.match(entry) or (REPO_ROOT / entry).is_dir(), entry


# --- display names -----------------------------------------------------------------------------

def test_choices_show_display_names_never_server_paths(tiny_bert, tmp_path):
    bundled = tmp_path / "model"
    bundled.mkdir()
    (bundled / "config.json").write_text("{}")
    (bundled / "README.md").write_text("---\nmodel-index:\n- name: minilm-l6-conll2003\n  results: []\n---\n")
    config = SpaceConfig.from_env({"NER_MODELS": f"org/ner,{tiny_bert}"}, repo_root=tmp_path)
    assert config.choices == ["bundled: minilm-l6-conll2003", "org/ner", f"local: {tiny_bert.name}"]
    assert not any("/" + part in choice for choice in config.choices for part in ("tmp", "root", "work"))
    assert config.source_of("bundled: minilm-l6-conll2003") == str(bundled)
    assert config.source_of(f"local: {tiny_bert.name}") == str(tiny_bert)
    assert config.default_display == "bundled: minilm-l6-conll2003"


def test_responses_name_the_model_by_its_display_name(rigged_bert, fresh_cache):
    service = Service(SpaceConfig(default_model=str(rigged_bert), device="cpu"))
    display = service.config.default_display
    assert display == f"local: {rigged_bert.name}" and str(rigged_bert) not in display
    assert service.compare("John Smith")["model"] == display
    assert service.compare("John Smith", None, display)["model"] == display
    assert str(rigged_bert) not in service.status_text() and "(loaded)" in service.status_text()
    assert "loads on first use" not in service.status_text()


# --- typed models: opt-in, refused before any weight is allocated -------------------------------

def test_typed_ids_are_refused_unless_the_owner_allows_them(rigged_bert):
    closed = Service(SpaceConfig(default_model=str(rigged_bert), device="cpu"))
    with pytest.raises(RequestError, match="unknown model 'someone/else': this Space only serves local: "):
        closed.compare("John", None, "someone/else")
    assert SpaceConfig.from_env({"NER_ALLOW_ANY_MODEL": "1"}).allow_custom_model


def _save_bert(directory: Path, *, hidden: int = 32, layers: int = 2, head_only: bool = False,
               base_model: bool = False) -> Path:
    """A BERT folder (tokenizer + config + safetensors); `head_only` keeps only classifier.bias in the
    weights; `base_model` saves a BertModel. Big configs are built on the meta device, never allocated."""
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig, BertForTokenClassification, BertModel

    from tiny_models import CONLL_LABELS, build_wordpiece_tokenizer

    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = build_wordpiece_tokenizer(directory)
    tokenizer.save_pretrained(directory)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=2, intermediate_size=hidden * 2, max_position_embeddings=64,
                        id2label=dict(enumerate(CONLL_LABELS)), label2id={l: i for i, l in enumerate(CONLL_LABELS)})
    if head_only:
        config.architectures = ["BertForTokenClassification"]
        config.save_pretrained(directory)
        save_file({"classifier.bias": torch.zeros(len(CONLL_LABELS))}, str(directory / "model.safetensors"))
    else:
        (BertModel if base_model else BertForTokenClassification)(config).save_pretrained(directory)
    return directory


def _no_weights_allocated(monkeypatch):
    from transformers import AutoModelForTokenClassification

    def forbidden(*_a, **_k):
        raise AssertionError("weights were loaded")

    monkeypatch.setattr(AutoModelForTokenClassification, "from_pretrained", forbidden)


def _typing_service(default, **overrides) -> Service:
    return Service(SpaceConfig(default_model=str(default), device="cpu", allow_custom_model=True,
                               allow_local_paths=True, **overrides))


def test_a_checkpoint_with_only_the_head_is_refused_before_loading(rigged_bert, tmp_path, fresh_cache, monkeypatch):
    folder = _save_bert(tmp_path / "head-only", hidden=768, layers=12, head_only=True)
    _no_weights_allocated(monkeypatch)
    service = _typing_service(rigged_bert)
    with pytest.raises(ModelLoadError) as info:
        service.compare("John", None, str(folder))
    message = str(info.value)
    assert "newly initialised" in message and "lacks" in message and "\n" not in message
    assert load_counts() == {}


def test_a_model_over_the_parameter_cap_is_refused_before_loading(rigged_bert, tmp_path, fresh_cache, monkeypatch):
    folder = _save_bert(tmp_path / "big", hidden=64, layers=2)
    _no_weights_allocated(monkeypatch)
    service = _typing_service(rigged_bert, max_params=10_000)
    with pytest.raises(ModelLoadError, match=r"declares 0 M parameters; .* up to 0 M \(NER_MAX_PARAMS\)"):
        service.compare("John", None, str(folder))
    assert load_counts() == {}
    assert SpaceConfig().max_params == 200_000_000


def test_a_base_encoder_is_refused(rigged_bert, tmp_path, fresh_cache, monkeypatch):
    folder = _save_bert(tmp_path / "base", base_model=True)
    _no_weights_allocated(monkeypatch)
    with pytest.raises(ModelLoadError, match="not a token-classification model"):
        _typing_service(rigged_bert).compare("John", None, str(folder))


def test_a_complete_typed_model_still_loads(rigged_bert, tiny_bert, tiny_roberta, fresh_cache):
    service = _typing_service(rigged_bert)
    for folder in (tiny_bert, tiny_roberta, REPO_ROOT / "model"):
        if (folder / "config.json").is_file():
            entities = service.compare("John Smith", ["simple"], str(folder))["entities"]["simple"]
            assert isinstance(entities, list)
            assert all(0 <= e["start"] < e["end"] <= len("John Smith") for e in entities), (folder, entities)


# --- errors: one plain line naming the problem -----------------------------------------------------

@pytest.mark.parametrize("text, where", [("Barack \ud800 Obama", "unpaired surrogate (U+D800) at character 7"),
                                         ("ab\x00c \udfff", "unpaired surrogate (U+DFFF) at character 5")])
def test_unpaired_surrogates_are_named_with_their_offset(rigged_bert, text, where):
    service = Service(SpaceConfig(default_model=str(rigged_bert), device="cpu"))
    with pytest.raises(RequestError, match=re.escape(where)):
        service.compare(text)
    # control characters are tokenised fine (test_space_service checks their offsets); a real pair is a character
    assert service.compare("tab\tand\x00 John \U0001F600")["message"] == ""


@pytest.mark.parametrize("model", ["a" * 256, "x/" + "b" * 300, "../etc/passwd", "owner/na me", "a/b/c/d" * 200])
def test_invalid_or_overlong_ids_are_a_plain_error(rigged_bert, model, fresh_cache):
    service = Service(SpaceConfig(default_model=str(rigged_bert), device="cpu", allow_custom_model=True))
    with pytest.raises(RequestError) as info:
        service.compare("John", None, model)
    message = str(info.value)
    assert "ENAMETOOLONG" not in message and "Errno" not in message and len(message) < 300 and "\n" not in message


def test_missing_weights_is_one_line_without_the_server_path(rigged_bert, tmp_path, fresh_cache):
    import shutil

    folder = tmp_path / "no-weights"
    shutil.copytree(rigged_bert, folder)
    (folder / "model.safetensors").unlink()
    service = Service(SpaceConfig(default_model=str(rigged_bert), models=(str(folder),), device="cpu"))
    with pytest.raises(ModelLoadError) as info:
        service.compare("John", None, "local: no-weights")
    message = str(info.value)
    assert "no weights" in message and str(tmp_path) not in message and "\n" not in message


def test_load_errors_carry_no_ansi_codes_or_paths():
    exc = OSError("\x1b[1m\x1b[31mpickle refused\x1b[0m for /srv/app/models/x/pytorch_model.bin\nsecond line")
    message = space_model._explain_load_failure("bundled: x", exc, what="weights", source="/srv/app/models/x")
    assert "\x1b" not in message and "/srv" not in message and "\n" not in message and "pickle refused" in message


def test_user_errors_are_logged_as_one_line(rigged_bert, caplog):
    service = Service(SpaceConfig(default_model=str(rigged_bert), device="cpu"))
    with caplog.at_level("WARNING", logger="space.service"), pytest.raises(RequestError):
        service.compare("John", ["bogus"])
    records = [r for r in caplog.records if r.name == "space.service"]
    assert len(records) == 1 and records[0].exc_info is None and "\n" not in records[0].getMessage()


# --- loading: its own thread, a timeout, downloaded files cleaned up -----------------------------

def test_a_load_times_out_for_the_caller_and_goes_on(tiny_bert, fresh_cache, monkeypatch):
    real, release = space_model.load_pipeline, threading.Event()

    def slow(model_id, device, policy=None):
        release.wait(30)
        return real(model_id, device, policy)

    monkeypatch.setattr(space_model, "load_pipeline", slow)
    with pytest.raises(ModelLoadError, match=r"still loading after 0 s \(NER_LOAD_TIMEOUT\)"):
        get_pipeline(str(tiny_bert), CPU, policy=LoadPolicy(timeout=0.2))
    release.set()
    assert get_pipeline(str(tiny_bert), CPU, policy=LoadPolicy(timeout=30)) is not None
    assert load_counts() == {str(tiny_bert): 1}


def test_evicted_downloads_leave_the_disk_but_local_folders_stay(tiny_bert, tiny_roberta, tmp_path, fresh_cache,
                                                                 monkeypatch):
    """A Hub id's cache folder created by this process goes with its model; a configured folder never does."""
    cache = tmp_path / "hub"
    monkeypatch.setattr(space_model, "hub_cache_folder", lambda repo_id: cache / repo_id.replace("/", "--"))
    real_load = space_model._load

    def fake_hub_load(model_id, source, local, device, policy, name):  # a "download" into the cache
        if local is None:
            (cache / model_id.replace("/", "--")).mkdir(parents=True)
            return real_load(str(tiny_roberta), str(tiny_roberta), tiny_roberta, device, policy, name)
        return real_load(model_id, source, local, device, policy, name)

    monkeypatch.setattr(space_model, "_load", fake_hub_load)
    space_model.set_cache_size(1)
    try:
        get_pipeline("someone/ner", CPU, pinned=False)
        assert (cache / "someone--ner").is_dir()
        get_pipeline(str(tiny_bert), CPU, pinned=False)  # evicts someone/ner
        assert not (cache / "someone--ner").exists()
        get_pipeline("other/ner", CPU, pinned=False)  # evicts the local folder: its files stay
        assert (tiny_bert / "config.json").is_file()
    finally:
        space_model.set_cache_size(4)


# --- micro-batching ------------------------------------------------------------------------------

def test_the_scheduler_shares_passes_and_one_bad_window_fails_only_its_request(rigged_bert, fresh_cache):
    pipe = get_pipeline(str(rigged_bert), CPU)
    texts = [f"{i} " + RIGGED_TEXT[: 20 + 3 * i] for i in range(6)]
    expected = {t: predict_detailed(pipe, t).entities for t in texts}
    scheduler = WindowScheduler(max_tokens=4096, max_windows=8, max_wait_s=0.5)  # wide: the six surely meet
    results, errors = {}, {}

    def client(i: int, text: str):
        with scheduler.expect():
            pending = prepare(pipe, text)
            if i == 3:  # an id past the vocabulary: the embedding lookup fails for this window only
                pending.encoded.chunks[0]["input_ids"][0, 1] = 10**6
            try:
                scheduler.run(pipe, pending)
                results[text] = finish(pipe, pending).entities
            except IndexError as exc:
                errors[text] = exc

    threads = [threading.Thread(target=client, args=(i, t)) for i, t in enumerate(texts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert set(errors) == {texts[3]}
    assert results == {t: expected[t] for t in texts if t != texts[3]}
    assert max(scheduler.batch_sizes) > 1  # some shared a pass


def test_a_lone_request_never_waits_for_company(rigged_bert, fresh_cache):
    """With a 5 s batch window, a request nobody else is coming to join is answered at once: a
    scheduler that waited for company would take the whole 5 s, whatever the machine's load."""
    pipe = get_pipeline(str(rigged_bert), CPU)
    scheduler = WindowScheduler(max_tokens=1024, max_windows=8, max_wait_s=5.0)
    began = time.perf_counter()
    with scheduler.expect():
        pending = prepare(pipe, RIGGED_TEXT)
        scheduler.run(pipe, pending)
    assert time.perf_counter() - began < 2.5
    assert finish(pipe, pending).entities == predict_detailed(pipe, RIGGED_TEXT).entities


def test_the_next_pass_takes_the_request_with_fewest_windows_left(rigged_bert, fresh_cache):
    """Passes are filled fewest-windows-left first, within the token budget: a one-window request
    queued behind a many-window one goes into the very next pass."""
    pipe = get_pipeline(str(rigged_bert), CPU)
    scheduler = WindowScheduler(max_tokens=1, max_windows=1)  # one window a pass
    gate = threading.Event()
    order = []
    original = pipe.model.forward

    def recording(*args, **kwargs):
        gate.wait(10)
        ids = kwargs.get("input_ids", args[0] if args else None)
        order.append(int(ids.shape[-1]))
        return original(*args, **kwargs)

    long_text = " ".join([RIGGED_TEXT] * 40)
    pipe.model.forward = recording
    try:
        long_pending, short_pending = prepare(pipe, long_text), prepare(pipe, "Widodo")
        assert long_pending.num_windows >= 3
        first = threading.Thread(target=scheduler.run, args=(pipe, long_pending))
        first.start()
        time.sleep(0.2)  # the long request's first window is in the (gated) pass
        second = threading.Thread(target=scheduler.run, args=(pipe, short_pending))
        second.start()
        time.sleep(0.2)
        gate.set()
        first.join(30)
        second.join(30)
    finally:
        del pipe.model.forward
    short_length = int(short_pending.encoded.chunks[0]["input_ids"].shape[-1])
    assert order[1] == short_length and order.count(short_length) == 1  # right after the pass in flight


def test_concurrent_requests_share_a_forward_pass_and_get_their_own_answers(rigged_bert, fresh_cache):
    service = Service(SpaceConfig(default_model=str(rigged_bert), device="cpu", batch_size=16, batch_wait_ms=500))
    service.compare("warm up")
    texts = [f"{i} " + RIGGED_TEXT[: 20 + 3 * i] for i in range(12)]
    expected = {t: Service(SpaceConfig(default_model=str(rigged_bert), device="cpu", batch_size=1)).compare(t)
                for t in texts}
    got, threads = {}, []
    for text in texts:
        threads.append(threading.Thread(target=lambda t=text: got.__setitem__(t, service.compare(t))))
    service.batcher.batch_sizes.clear()
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for text in texts:
        assert got[text]["entities"] == expected[text]["entities"], text
    assert max(service.batcher.batch_sizes) > 1
    json.dumps(got)
    answer = service.compare(RIGGED_TEXT, list(RIGGED_EXPECTED))["entities"]
    assert {s: spans_of(RIGGED_TEXT, e) for s, e in answer.items()} == RIGGED_EXPECTED
