"""`EvalConfig` (issue 24 item 3): one evaluation's settings, checked when made, before the data is read or
the model loaded; `evaluate_model(config, data)`."""

from __future__ import annotations

from pathlib import Path

import pytest

from nercore.errors import UserError
from toolkit.cli import main
from toolkit.evaluate import EvalConfig, evaluate_model

TINY = Path(__file__).parent / "data" / "tiny_conll"


@pytest.mark.parametrize("settings, message", [
    ({"model": ""}, "--model: expected a model folder or Hub id"),
    ({"split": ""}, "--split: expected a split name"),
    ({"backend": "tensorrt"}, "--backend: unknown backend 'tensorrt'"),
    ({"backend": "auto"}, "--backend: unknown backend 'auto'"),
    ({"batch_size": 0}, "--batch-size: expected a whole number >= 1, got 0"),
    ({"max_length": 1}, "--max-length: expected a whole number >= 2, got 1"),
    ({"max_samples": 0}, "--max-samples: expected a whole number >= 1, got 0"),
    ({"context": "inside"}, "--context must be one of both, with, without"),
    ({"context_tokens": 0}, "--context-tokens: expected a whole number >= 1, got 0"),
    ({"strategies": "first,nope"}, "--strategies: unknown aggregation strategy 'nope'"),
    ({"bootstrap": -1}, "--bootstrap takes a number of resamples >= 0"),
    ({"bootstrap": True}, "--bootstrap takes a number of resamples >= 0"),
    ({"ci_level": 1.0}, "--ci-level must be between 0 and 1"),
    ({"seed": 1.5}, "--seed: expected an integer"),
    ({"label_map": "PERSON"}, "--label-map entries look like MODEL_NAME=DATASET_NAME"),
])
def test_bad_settings_are_refused_when_the_config_is_made(settings, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        EvalConfig(**{"model": "runs/x", **settings})


def test_settings_are_normalised_once():
    config = EvalConfig(model="runs/x", backend=" ONNX-int8 ", strategies="max,first", label_map="PERSON=PER, DATE=O")
    assert config.backend == "onnx-int8" and config.strategies == ("first", "max")
    assert config.label_map == {"PERSON": "PER", "DATE": "O"}
    assert EvalConfig(model="runs/x", strategies="all").strategies[-1] == "word" and EvalConfig(model="m").strategies is None
    with pytest.raises(AttributeError):
        config.split = "dev"  # frozen


@pytest.mark.parametrize("flag, value, message", [
    ("--bootstrap", "-1", "--bootstrap takes a number of resamples >= 0"),
    ("--strategies", "firts", "unknown aggregation strategy 'firts'"),
    ("--context-tokens", "0", "--context-tokens: expected a whole number >= 1"),
])
def test_the_cli_checks_settings_before_reading_the_data(tmp_path, capsys, flag, value, message):
    """A bad setting is reported even though the dataset does not exist: nothing was read or loaded first."""
    assert main(["evaluate", "--model", str(tmp_path / "no-model"), "--dataset", str(tmp_path / "no-data"),
                 flag, value]) == 2
    err = capsys.readouterr().err
    assert message in err and "no-data" not in err


def test_evaluate_model_takes_the_config(tiny_bert, tmp_path):
    from toolkit.data import load_raw_splits
    from toolkit.labels import prepare_labels

    data = prepare_labels(load_raw_splits(str(TINY)))
    config = EvalConfig(model=str(tiny_bert), split="validation", output_dir=tmp_path, progress=False, max_samples=5,
                        command="nerkit evaluate ...")
    results = evaluate_model(config, data)
    assert results.split == "validation" and results.num_sentences == 5 and results.command == "nerkit evaluate ..."
    assert (tmp_path / "eval_results.json").is_file()
    again = evaluate_model(str(tiny_bert), data, "validation", output_dir=tmp_path / "old", progress=False, max_samples=5)
    assert again.overall == results.overall  # the older keyword form builds the same config
    with pytest.raises(UserError, match="--bootstrap"):
        evaluate_model(str(tiny_bert), data, "validation", output_dir=tmp_path / "bad", bootstrap=-5)
    assert not (tmp_path / "bad").exists()
