"""`nerkit publish` on span data (a Label Studio export): the pushed evaluation and card are those of
`nerkit evaluate` + `nerkit card` on the same data, so every strategy is scored on the exported texts
against their character spans and the card's headline is the character-span F1, not seqeval's.

The real CLI in subprocesses, the real Hub clients and the test Hub of tests/hub_server.py, a tiny model.
"""

from __future__ import annotations

import json
import shutil

from hub_fixtures import hub, hub_server, hub_users, nerkit, unique  # noqa: F401 - fixtures
from test_span_alignment import write_ls_folder
from test_span_train import TINY_CONLL


def _without_commands(value):
    """eval_results.json without its recorded command lines (publish's evaluation records none) and the
    model's path (the pushed file names it `.`)."""
    if isinstance(value, dict):
        return {k: _without_commands(v) for k, v in value.items() if k not in ("command", "model")}
    if isinstance(value, list):
        return [_without_commands(v) for v in value]
    return value


def test_publish_on_span_data_equals_evaluate_and_card(nerkit, hub, tiny_bert, tmp_path):
    data = write_ls_folder(tmp_path / "ls", TINY_CONLL)
    repo = f"alice/{unique('span-publish')}"
    out = tmp_path / "out"
    run = nerkit("publish", "--repo-id", repo, "--model", tiny_bert, "--dataset", data, "--output-dir", out,
                 "--epochs", "1", "--batch-size", "8", "--learning-rate", "5e-4", "--seed", "1", "--license", "mit",
                 "--bootstrap", "0", timeout=600)
    assert run.code == 0, run.output
    stored = hub.files(repo)
    published = json.loads(stored["eval_results.json"])
    block = published["strategies"]
    assert block["text"] == "raw" and block["num_records"] == 12, "strategies scored on the exported texts"
    card = stored["README.md"].decode()
    assert "headline above is the exact character-span F1" in card
    assert "as the annotation tool exported them" in card and "words are joined" not in card

    again = tmp_path / "again"
    shutil.copytree(out, again)
    for name in ("README.md", "eval_results.json"):
        (again / name).unlink()
    evaluated = nerkit("evaluate", "--model", again, "--dataset", data, "--split", "test", "--bootstrap", "0",
                       hub=False, token=False, timeout=600)
    assert evaluated.code == 0, evaluated.output
    carded = nerkit("card", again, "--repo-id", repo, "--license", "mit", hub=False, token=False)
    assert carded.code == 0, carded.output
    expected = json.loads((again / "eval_results.json").read_text(encoding="utf-8"))
    assert _without_commands(published) == _without_commands(expected)
    def body(text: str) -> list[str]:  # the Reproducibility block's command lines name each folder's own path
        return [line for line in text.splitlines() if not line.startswith("nerkit ")]

    assert body((out / "README.md").read_text(encoding="utf-8")) == body((again / "README.md").read_text(encoding="utf-8"))
