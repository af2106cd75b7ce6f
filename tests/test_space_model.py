"""space.model: validated, cached, thread-safe pipeline loading."""

from __future__ import annotations

import json
import threading

import pytest

from space import model as space_model
from nercore.device import DeviceChoice
from nercore.lengths import position_limit
from space.model import ModelLoadError, clear_cache, get_pipeline, load_counts, set_cache_size

from test_space_helpers import rigged_bert  # noqa: F401 (fixture)

CPU = DeviceChoice("cpu", "float32", "CPU")


@pytest.fixture
def fresh_cache():
    clear_cache()
    yield
    clear_cache()
    set_cache_size(4)


def test_one_load_per_model_even_under_concurrent_first_requests(tiny_bert, fresh_cache, monkeypatch):
    real = space_model.load_pipeline
    started = threading.Event()

    def slow_load(model_id, device, policy=None):
        started.set()
        return real(model_id, device, policy)

    monkeypatch.setattr(space_model, "load_pipeline", slow_load)
    results, errors = [], []

    def worker():
        try:
            results.append(get_pipeline(str(tiny_bert), CPU))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(results) == 8 and all(p is results[0] for p in results)
    assert load_counts() == {str(tiny_bert): 1}
    pipe = results[0]
    assert pipe.nerkit_model_id == str(tiny_bert) and pipe.nerkit_device == CPU
    assert str(pipe.model.dtype) == "torch.float32" and pipe.device.type == "cpu"
    assert get_pipeline(f"  {tiny_bert} ", CPU) is pipe  # ids are stripped
    assert load_counts() == {str(tiny_bert): 1}


def test_unpinned_models_live_in_a_small_lru(tiny_bert, tiny_roberta, rigged_bert, fresh_cache):
    set_cache_size(1)
    pinned = get_pipeline(str(tiny_bert), CPU, pinned=True)
    get_pipeline(str(tiny_roberta), CPU, pinned=False)
    get_pipeline(str(rigged_bert), CPU, pinned=False)  # evicts tiny_roberta
    assert get_pipeline(str(tiny_bert), CPU) is pinned
    get_pipeline(str(tiny_roberta), CPU, pinned=False)
    assert load_counts() == {str(tiny_bert): 1, str(tiny_roberta): 2, str(rigged_bert): 1}
    # evicted models keep no per-model state behind them
    assert space_model._loading == {}


def test_a_failed_load_leaves_no_lock_behind(tmp_path, fresh_cache):
    """Typed ids that fail (junk, typos) must not pile up state in a long-running public Space."""
    for n in range(3):
        with pytest.raises(ModelLoadError):
            get_pipeline(str(tmp_path / f"missing-{n}"), CPU, pinned=False)
    assert space_model._loading == {}


def test_refuses_a_model_that_is_not_a_token_classifier(tmp_path, fresh_cache):
    from transformers import BertConfig, BertModel

    from tiny_models import build_wordpiece_tokenizer

    build_wordpiece_tokenizer(tmp_path).save_pretrained(tmp_path)
    BertModel(BertConfig(vocab_size=300, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=32)).save_pretrained(tmp_path)
    with pytest.raises(ModelLoadError, match=r"not a token-classification model: .*\['BertModel'\].*ForTokenClassification"):
        get_pipeline(str(tmp_path), CPU)
    assert load_counts() == {}


def test_refuses_remote_code_and_non_model_folders(tmp_path, fresh_cache):
    (tmp_path / "config.json").write_text(json.dumps({
        "model_type": "totally-custom-ner",
        "architectures": ["CustomForTokenClassification"],
        "auto_map": {"AutoConfig": "modeling_custom.CustomConfig"},
    }))
    with pytest.raises(ModelLoadError, match="custom code") as info:
        get_pipeline(str(tmp_path), CPU)
    assert "trust_remote_code=False" in str(info.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelLoadError, match="not a model folder \\(no config.json"):
        get_pipeline(str(empty), CPU)
    with pytest.raises(ModelLoadError, match="no model given"):
        get_pipeline("  ", CPU)
    with pytest.raises(ModelLoadError, match="is not a model id"):
        get_pipeline("a\nb", CPU)


def test_max_length_comes_from_the_position_embeddings(tiny_roberta, tmp_path, fresh_cache):
    import shutil

    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(tiny_roberta)
    assert position_limit(config) == 128  # 130 positions, padding index 1
    copy = tmp_path / "roberta-no-limit"
    shutil.copytree(tiny_roberta, copy)
    tok_config = json.loads((copy / "tokenizer_config.json").read_text())
    tok_config["model_max_length"] = 10**30
    (copy / "tokenizer_config.json").write_text(json.dumps(tok_config))
    pipe = get_pipeline(str(copy), CPU)
    assert pipe.tokenizer.model_max_length == 128
