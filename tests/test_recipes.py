"""Training recipes: `--average-checkpoints K` publishes the mean of the last K checkpoints; `--train-with-dev RUN`
fits on train + validation for the epoch count RUN chose on validation, and the card says so."""

from __future__ import annotations

import json

import pytest

from conftest import TESTS_DIR
from nercore import runfolder
from nercore.errors import UserError
from toolkit.cli import main

TINY_CONLL = TESTS_DIR / "data" / "tiny_conll"


def train_args(model, out, *extra):
    return ["train", "--model", str(model), "--dataset", str(TINY_CONLL), "--output-dir", str(out),
            "--epochs", "3", "--batch-size", "8", "--learning-rate", "5e-4", "--seed", "1", *extra]


@pytest.fixture(scope="module")
def averaged(tiny_bert, tmp_path_factory):
    out = tmp_path_factory.mktemp("avg") / "run"
    assert main(train_args(tiny_bert, out, "--average-checkpoints", "3", "--keep-checkpoints")) == 0
    return out


def test_saved_weights_are_the_mean_of_the_last_k_checkpoints(averaged):
    import torch
    from safetensors.torch import load_file

    from toolkit.recipes import checkpoint_step

    checkpoints = sorted((averaged / runfolder.CHECKPOINTS).glob("checkpoint-*"), key=checkpoint_step)
    assert len(checkpoints) >= 3
    last = [load_file(str(path / "model.safetensors")) for path in checkpoints[-3:]]
    saved = load_file(str(averaged / "model.safetensors"))
    assert set(saved) == set(last[0])
    moved = 0
    for key, value in saved.items():
        if torch.is_floating_point(value):
            mean = torch.stack([state[key].float() for state in last]).mean(0)
            torch.testing.assert_close(value, mean, rtol=1e-6, atol=1e-7)
            moved += not torch.equal(value, last[-1][key])
    assert moved, "the average differs from the last checkpoint"


def test_the_average_is_the_logged_best_row_and_the_card_says_so(averaged):
    log = json.loads((averaged / runfolder.TRAINING_LOG).read_text())
    last = log["epochs"][-1]
    assert last["best"] is True and sum(row["best"] for row in log["epochs"]) == 1
    assert len(last["averaged_steps"]) == 3 and "eval_f1" in last
    assert log["best_value"] == last["eval_f1"]
    args = json.loads((averaged / runfolder.TRAINING_ARGS).read_text())
    assert args["config"]["average_checkpoints"] == 3


def test_too_few_checkpoints_is_a_user_error(tiny_bert, tmp_path):
    from toolkit.recipes import last_checkpoints

    (tmp_path / "checkpoint-5").mkdir()
    with pytest.raises(UserError, match="only 1 checkpoint"):
        last_checkpoints(tmp_path, 2)


def test_train_with_dev_uses_the_chosen_epochs_and_reports_no_validation(averaged, tiny_bert, tmp_path):
    from toolkit.recipes import chosen_epochs

    source = tmp_path / "plain"
    assert main(train_args(tiny_bert, source, "--epochs", "2")) == 0
    chosen = chosen_epochs(source)
    best = next(row for row in json.loads((source / runfolder.TRAINING_LOG).read_text())["epochs"] if row["best"])
    assert chosen == best["epoch"]
    out = tmp_path / "with-dev"
    assert main(train_args(tiny_bert, out, "--train-with-dev", str(source))) == 0
    config = json.loads((out / runfolder.TRAINING_ARGS).read_text())["config"]
    assert config["train_with_dev"] == str(source) and config["epochs"] == chosen
    log = json.loads((out / runfolder.TRAINING_LOG).read_text())
    assert not any(key.startswith("eval_") for row in log["epochs"] for key in row), "no validation scores"
    assert log["best_value"] is None
    trainer = json.loads((out / runfolder.TRAINING_ARGS).read_text())["trainer"]
    assert trainer["eval_strategy"] == "no" and trainer["load_best_model_at_end"] is False
    assert (out / "model.safetensors").is_file()
    with pytest.raises(UserError, match="itself trained on train \\+ validation"):
        chosen_epochs(out)


def test_train_with_dev_card_says_test_only(tmp_path):
    from toolkit.card.sections.training import _train_with_dev_text

    text = _train_with_dev_text({"epochs": 2.0, "train_split": "train", "eval_split": "validation"})
    assert "train + validation" in text and "only test scores" in text


def test_train_with_dev_needs_a_finished_run(tmp_path):
    from toolkit.recipes import chosen_epochs

    with pytest.raises(UserError, match="no training_log.json"):
        chosen_epochs(tmp_path)
    (tmp_path / runfolder.TRAINING_LOG).write_text(json.dumps({"epochs": [], "best_epoch": None}))
    with pytest.raises(UserError, match="names no best epoch"):
        chosen_epochs(tmp_path)


def test_too_few_checkpoints_fails_cleanly_and_resume_averages_fewer(tiny_bert, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(train_args(tiny_bert, out, "--average-checkpoints", "9")) == 2
    assert "only 3 checkpoint(s)" in capsys.readouterr().err
    assert not (out / runfolder.TRAINING_LOG).exists() and not (out / "model.safetensors").exists()
    assert main(train_args(tiny_bert, out, "--average-checkpoints", "2", "--resume")) == 0
    log = json.loads((out / runfolder.TRAINING_LOG).read_text())
    assert len(log["epochs"][-1]["averaged_steps"]) == 2
