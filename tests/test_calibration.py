"""Issue 18: temperature scaling baked into the classifier (`nerkit calibrate`), its record and its card section.

The model is a rigged tiny BERT whose entities all score ~1.0 while about half are wrong (`tiny_models.
build_overconfident_bert`), on tests/data/tiny_conll: T must soften the scores, never move an argmax.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from nercore.errors import UserError
from nercore.runfolder.records import Calibration
from tiny_models import build_overconfident_bert
from toolkit.cli import main

TINY = Path(__file__).parent / "data" / "tiny_conll"
RUN_FIXTURE = Path(__file__).parent / "data" / "run_fixture"


@pytest.fixture(scope="module")
def overconfident(tmp_path_factory) -> Path:
    return build_overconfident_bert(tmp_path_factory.mktemp("overconfident"))


@pytest.fixture
def run(overconfident, tmp_path) -> Path:
    return Path(shutil.copytree(overconfident, tmp_path / "run"))


def split_texts(*splits: str) -> list[str]:
    texts = []
    for split in splits:
        for block in (TINY / f"{split}.txt").read_text(encoding="utf-8").split("\n\n"):
            words = [line.split()[0] for line in block.splitlines() if line.strip() and not line.startswith("-DOCSTART-")]
            if words:
                texts.append(" ".join(words))
    return texts


def logits_of(folder: Path, texts: list[str]) -> list[np.ndarray]:
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    model = AutoModelForTokenClassification.from_pretrained(folder, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    with torch.no_grad():
        return [model(**tokenizer(text, return_tensors="pt")).logits[0].numpy() for text in texts]


def refused(argv: list[str], capsys) -> str:
    """The error `nerkit` printed for `argv` (it must exit 2)."""
    capsys.readouterr()
    assert main(argv) == 2
    return capsys.readouterr().err


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_calibration_lowers_ece_and_keeps_every_sub_token_argmax(run, capsys):
    texts = split_texts("validation", "test")
    before = logits_of(run, texts)
    assert main(["calibrate", str(run), "--dataset", str(TINY)]) == 0
    out = capsys.readouterr().out
    record = Calibration.read(run, required=True)
    t = record.temperature
    assert t > 1.5, t  # over-confident scores get softened
    assert record.fit_split == "validation" and record.strategy == "first"
    for split in ("validation", "test"):
        reading = record.readings[split]
        old, new = reading["before"], reading["after"]
        assert new["first"]["ece"] < old["first"]["ece"] / 2, (split, reading)
        assert set(reading["changed_sentences"].values()) == {0}
        assert {n: r["f1"] for n, r in new.items()} == {n: r["f1"] for n, r in old.items()}  # one-piece words
    assert record.argmax_check["changed"] == 0 and record.argmax_check["sub_tokens"] > 300

    after = logits_of(run, texts)  # the saved model, loaded as any user loads it
    assert sum(len(a) for a in after) > 300
    for a, b in zip(before, after):
        assert (a.argmax(-1) == b.argmax(-1)).all()  # every sub-token
        np.testing.assert_allclose(a / t, b, atol=1e-5)
    assert f"temperature {t:g}" in out and "argmax unchanged on all" in out


def test_the_temperature_is_baked_into_the_classifier_only_in_float32(run, overconfident):
    from safetensors import safe_open

    main(["calibrate", str(run), "--dataset", str(TINY)])
    t = Calibration.read(run, required=True).temperature
    with safe_open(str(overconfident / "model.safetensors"), "pt") as old, safe_open(str(run / "model.safetensors"), "pt") as new:
        assert set(old.keys()) == set(new.keys())
        for key in old.keys():
            if key.startswith("classifier."):
                assert str(new.get_tensor(key).dtype) == "torch.float32"
                np.testing.assert_allclose(new.get_tensor(key).numpy(), old.get_tensor(key).float().numpy() / t, rtol=1e-6)
            else:
                assert old.get_tensor(key).equal(new.get_tensor(key)), key


def test_calibration_removes_what_described_the_old_scores(run, capsys):
    shutil.copy(RUN_FIXTURE / "eval_results.json", run / "eval_results.json")
    (run / "README.md").write_text("old card\n")
    (run / "onnx").mkdir()
    (run / "onnx" / "model_quantized.onnx").write_bytes(b"old")
    main(["calibrate", str(run), "--dataset", str(TINY)])
    assert not (run / "eval_results.json").exists() and not (run / "README.md").exists() and not (run / "onnx").exists()
    assert (run / "calibration.json").is_file() and (run / "model.safetensors").is_file()


def test_a_calibrated_folder_is_refused_and_left_alone(run, capsys):
    main(["calibrate", str(run), "--dataset", str(TINY)])
    t = Calibration.read(run, required=True).temperature
    before = digest(run)
    err = refused(["calibrate", str(run), "--dataset", str(TINY)], capsys)
    assert re.search(rf"already carry T = {t:g}.*divide the logits twice", err), err
    assert digest(run) == before


@pytest.mark.parametrize("argv, message", [
    (["--fit-split", "dev"], r"no \(or an empty\) 'dev' split \(it has: train, validation, test\)"),
    (["--strategy", "none"], r"--strategy takes one strategy that returns whole entities"),
    (["--strategy", "firts"], r"unknown aggregation strategy"),
])
def test_bad_arguments_are_refused_before_any_work(run, argv, message, capsys):
    before = digest(run)
    err = refused(["calibrate", str(run), "--dataset", str(TINY), *argv], capsys)
    assert re.search(message, err), err
    assert digest(run) == before


def test_a_model_id_that_is_not_a_local_folder_is_refused(tmp_path, capsys):
    err = refused(["calibrate", str(tmp_path / "someuser--model"), "--dataset", str(TINY)], capsys)
    assert "not a local folder: calibration rewrites the model's weights in place" in err


def test_a_changed_argmax_restores_the_old_weights(run, monkeypatch, capsys):
    """The safety net: if baking ever moved a prediction, nothing calibrated is left behind."""
    import toolkit.evaluate.temperature as temperature

    before = digest(run)
    monkeypatch.setattr(temperature, "changed_argmax", lambda a, b: 3)
    err = refused(["calibrate", str(run), "--dataset", str(TINY)], capsys)
    assert re.search(r"changed the argmax of 6 of \d+ sub-tokens .* the weights were restored", err), err
    assert digest(run) == before


class _Split:
    """What `fit_temperature` asks of a split: (log-loss, F1, spans) at a temperature."""

    def __init__(self, table):
        self.table = table

    def fitted(self, pipe, t, strategy):
        return self.table(t)


def test_a_temperature_that_lowers_f1_is_never_chosen():
    from toolkit.evaluate.temperature import fit_temperature

    # log-loss falls all the way to T = 22.7, but F1 drops beyond T = 3
    t, tried = fit_temperature(None, _Split(lambda t: (1 / t, 0.8 if t <= 3 else 0.79)), "average")
    assert 2.5 < t <= 3 and any(row["temperature"] > 10 for row in tried)
    # nothing beats T = 1 without losing F1: the weights stay as they are
    t, _ = fit_temperature(None, _Split(lambda t: (t, 0.8) if t >= 1 else (2 - t, 0.5)), "average")
    assert t == 1.0


def test_a_corrupted_calibration_record_is_refused_with_file_and_field(run):
    from toolkit.hub.model_folder import check_run_files

    main(["calibrate", str(run), "--dataset", str(TINY)])
    data = json.loads((run / "calibration.json").read_text())
    data["temperature"] = -1
    (run / "calibration.json").write_text(json.dumps(data))
    with pytest.raises(UserError, match=r"calibration\.json.*temperature.*a number > 0"):
        check_run_files(run)


def test_the_card_reports_the_temperature_and_shows_the_reliability_chart(run, tmp_path):
    main(["calibrate", str(run), "--dataset", str(TINY)])
    main(["evaluate", "--model", str(run), "--dataset", str(TINY), "--strategies", "--bootstrap", "0"])
    main(["card", str(run)])
    card = (run / "README.md").read_text(encoding="utf-8")
    record = Calibration.read(run, required=True)
    section = card[card.index("### Confidence"):card.index("### Error analysis")]
    assert f"T = {record.temperature:.3g}, fitted on the validation split" in section
    before, after = record.readings["test"]["before"]["first"]["ece"], record.readings["test"]["after"]["first"]["ece"]
    assert f"| test | 12 | {before:.3f} | {after:.3f} | first 59.65 → 59.65; average 59.65 → 59.65; max 59.65 → 59.65; word 59.65 → 59.65 | none |" in section
    assert "Entities move only where scores decide: `average`, `max` and `word` combine them" in section  # combines_scores
    assert "![Reliability of the first strategy's entity scores](reliability.png)" in section
    assert (run / "reliability.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert record.command == f"nerkit calibrate {run} --dataset {TINY}"  # rebuilt from the parsed arguments
    # the evaluation after calibration measures what calibration.json promised
    results = json.loads((run / "eval_results.json").read_text())
    assert results["strategies"]["results"]["first"]["confidence"]["ece"] == pytest.approx(after, abs=1e-6)


# ---- issue 24, item 8: planted bugs the tests above let through -----------------------------------------
# A bias that moves no argmax on tiny_conll: the rigged model's classifier bias is zero, so a bake that divided
# only the weight (0 / T == 0) passed every test.
BIAS = (0.3, -0.2, 0.25, -0.15, 0.1, -0.3, 0.2, -0.1, 0.05)


@pytest.fixture(scope="module")
def biased(overconfident, tmp_path_factory) -> Path:
    import torch
    from transformers import AutoModelForTokenClassification

    folder = tmp_path_factory.mktemp("biased") / "model"
    shutil.copytree(overconfident, folder)
    model = AutoModelForTokenClassification.from_pretrained(folder)
    assert model.classifier.bias.shape[0] == len(BIAS) and not model.classifier.bias.any()
    with torch.no_grad():
        model.classifier.bias.copy_(torch.tensor(BIAS))
    model.save_pretrained(folder)
    texts = split_texts("train", "validation", "test")
    for plain, shifted in zip(logits_of(overconfident, texts), logits_of(folder, texts)):
        assert (plain.argmax(-1) == shifted.argmax(-1)).all(), "the bias must change no argmax"
    return folder


def test_the_bias_is_divided_by_the_temperature_too(biased, tmp_path):
    from safetensors import safe_open

    run = Path(shutil.copytree(biased, tmp_path / "run"))
    texts = split_texts("validation", "test")
    before = logits_of(run, texts)
    assert main(["calibrate", str(run), "--dataset", str(TINY)]) == 0
    t = Calibration.read(run, required=True).temperature
    assert t > 1.2, t
    for a, b in zip(before, logits_of(run, texts)):
        np.testing.assert_allclose(a / t, b, atol=1e-5)  # (W h + b) / T, not W h / T + b
    with safe_open(str(biased / "model.safetensors"), "pt") as old, safe_open(str(run / "model.safetensors"), "pt") as new:
        np.testing.assert_allclose(new.get_tensor("classifier.bias").numpy(), np.array(BIAS, dtype=np.float32) / t, rtol=1e-6)
        assert old.get_tensor("classifier.bias").abs().min() > 0


def test_changed_argmax_counts_the_sub_tokens_whose_label_moved():
    """On hand-made logits: the only test of it used to stub it, so comparing a model with itself passed."""
    from toolkit.evaluate.temperature import changed_argmax

    window = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.5, 0.0, 0.4]])
    flipped = np.array([[2.0, 1.0, 0.0], [0.0, 1.0, 3.0], [0.0, 0.5, 0.4]])  # rows 1 and 2 move
    assert changed_argmax([[window]], [[window / 3.7]]) == 0  # a temperature moves nothing
    assert changed_argmax([[window]], [[flipped]]) == 2
    assert changed_argmax([[window, window], [window]], [[window, flipped], [flipped]]) == 4  # every window of every text
    assert changed_argmax([[flipped]], [[window]]) == 2


def test_a_bake_that_really_flips_an_argmax_is_refused_and_the_folder_left_unchanged(run, monkeypatch, capsys):
    """The saved model really predicts otherwise (two classifier rows swapped after the real bake): the check
    must load it back and compare it with the model before, not with itself."""
    import toolkit.evaluate.temperature as temperature
    from safetensors import safe_open
    from safetensors.torch import save_file

    real_bake = temperature.bake

    def bake_and_swap_rows(folder, names, t):
        originals = real_bake(folder, names, t)
        path = Path(folder) / "model.safetensors"
        with safe_open(str(path), framework="pt") as handle:
            metadata, tensors = handle.metadata(), {key: handle.get_tensor(key) for key in handle.keys()}
        weight = tensors["classifier.weight"]
        weight[[0, 5]] = weight[[5, 0]].clone()  # "O" and another label trade places
        save_file(tensors, str(path), metadata=metadata)
        return originals

    before = digest(run)
    monkeypatch.setattr(temperature, "bake", bake_and_swap_rows)
    err = refused(["calibrate", str(run), "--dataset", str(TINY)], capsys)
    assert re.search(r"changed the argmax of \d+ of \d+ sub-tokens .* the weights were restored", err), err
    assert digest(run) == before
