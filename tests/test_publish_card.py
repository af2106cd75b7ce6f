"""`nerkit push --repo-id X` publishes a card that names X: re-rendered from the run folder when it was
rendered for another id (or none), refused with the exact `nerkit card` command when it cannot be.

The check is end to end: the real CLI pushes to the test Hub (tests/hub_server.py), and the real
`transformers` client loads the model id the pushed card's usage snippet names.
"""

from __future__ import annotations

import json
import shutil

from hub_fixtures import (  # noqa: F401 - fixtures
    PER_TYPE,
    card_text,
    fresh_run,
    hub,
    hub_server,
    hub_users,
    nerkit,
    render_card_for,
    run_folder,
    unique,
)
from tiny_models import CONLL_LABELS

# Load what the pushed card's usage snippet names, as a reader of the card would.
SNIPPET_LOAD = r"""
import json, os, re
import yaml
from huggingface_hub import hf_hub_download
from transformers import AutoConfig, AutoModelForTokenClassification
card = open(hf_hub_download(os.environ["NK_REPO"], "README.md"), encoding="utf-8").read()
model_id = re.search(r'pipeline\("token-classification", model="([^"]+)"', card).group(1)
config = AutoConfig.from_pretrained(model_id)
model = AutoModelForTokenClassification.from_pretrained(model_id)
meta = yaml.safe_load(card.split("---")[1])
print(json.dumps({"snippet": model_id, "index_name": meta["model-index"][0]["name"],
                  "labels": sorted(config.label2id), "model_labels": sorted(model.config.label2id)}))
"""


def test_push_renders_the_card_for_the_repo_it_goes_to(nerkit, hub, fresh_run):
    repo = f"alice/{unique('renamed')}"
    local_card = (fresh_run / "README.md").read_bytes()
    assert b'model="tiny-ner"' in local_card, "the fixture's card was rendered without --repo-id"

    run = nerkit("push", fresh_run, "--repo-id", repo)
    assert run.code == 0, run.output
    assert f"README.md: re-rendered for {repo} (the card in the folder was rendered without --repo-id" in run.stdout
    assert f"nerkit card {fresh_run} --repo-id {repo} --license apache-2.0" in run.stdout
    assert (fresh_run / "README.md").read_bytes() == local_card, "the folder's own card is left as it is"

    seen = nerkit.python(SNIPPET_LOAD, NK_REPO=repo)
    assert seen["snippet"] == repo and seen["index_name"] == repo
    assert seen["labels"] == seen["model_labels"] == sorted(CONLL_LABELS), "the snippet's id loads"

    render_card_for(fresh_run, repo)  # what the message says to run
    assert hub.files(repo)["README.md"] == (fresh_run / "README.md").read_bytes(), "the push sent that very card"
    again = nerkit("push", fresh_run, "--repo-id", repo)
    assert again.code == 0 and "Nothing to push" in again.stdout and "re-rendered" not in again.stdout


def test_push_to_another_repo_rerenders_a_card_rendered_for_one(nerkit, hub, fresh_run):
    first, second = f"alice/{unique('first')}", f"acme/{unique('second')}"
    render_card_for(fresh_run, first)
    run = nerkit("push", fresh_run, "--repo-id", second)
    assert run.code == 0, run.output
    assert f"re-rendered for {second} (the card in the folder was rendered for {first})" in run.stdout
    card = hub.files(second)["README.md"].decode()
    assert f'model="{second}"' in card and first not in card


def _bare_folder(tiny_bert, tmp_path, named: str):
    """A folder holding only weights, tokenizer and a hand-written card: nothing to re-render it from."""
    folder = tmp_path / "bare"
    shutil.copytree(tiny_bert, folder)
    results = {"overall": {"precision": 0.8, "recall": 0.8, "f1": 0.8, "accuracy": 0.9},
               "modes": {"default": {"per_type": PER_TYPE}}}
    (folder / "README.md").write_text(card_text(results, repo_name=named))
    return folder


def test_push_refuses_a_card_it_cannot_rerender_with_the_command_to_run(nerkit, hub, tiny_bert, tmp_path):
    repo = f"alice/{unique('bare')}"
    folder = _bare_folder(tiny_bert, tmp_path, named="alice/old-name")
    run = nerkit("push", folder, "--repo-id", repo)
    assert run.code == 2, run.output
    assert "Traceback" not in run.stderr
    assert f"{folder}/README.md was rendered for alice/old-name, not {repo}" in run.stderr
    assert "the folder has no eval_results.json to re-render it from" in run.stderr
    assert f"\n  nerkit card {folder} --repo-id {repo} --license apache-2.0\n" in run.stderr
    assert not hub.has_repo(repo), "refused before anything reached the Hub"

    dry = nerkit("push", folder, "--repo-id", repo, "--dry-run", tmp_path / "preview", hub=False, token=False)
    assert dry.code == 2 and not (tmp_path / "preview").exists(), "a dry run refuses it the same way"

    named = _bare_folder(tiny_bert, tmp_path / "named", named=repo)
    assert nerkit("push", named, "--repo-id", repo).code == 0, "a card that names the repo is pushed as it is"
    assert hub.files(repo)["README.md"] == (named / "README.md").read_bytes()


def test_push_refuses_to_rerender_a_hand_edited_card(nerkit, hub, fresh_run):
    repo = f"alice/{unique('edited')}"
    readme = fresh_run / "README.md"
    readme.write_text(readme.read_text() + "\nA paragraph written by hand.\n")
    run = nerkit("push", fresh_run, "--repo-id", repo)
    assert run.code == 2, run.output
    assert "differs from what `nerkit card` renders from this folder now" in run.stderr
    assert f"nerkit card {fresh_run} --repo-id {repo} --license apache-2.0" in run.stderr
    assert readme.read_text().endswith("A paragraph written by hand.\n") and not hub.has_repo(repo)


def test_publish_card_and_model_index_name_the_repo(fresh_run):
    """`nerkit card --repo-id` (what `publish` runs) names the repo in the snippet and in model-index."""
    import yaml

    render_card_for(fresh_run, "acme/tiny-ner-v2")
    text = (fresh_run / "README.md").read_text()
    meta = yaml.safe_load(text.split("---")[1])
    assert meta["model-index"][0]["name"] == "acme/tiny-ner-v2"
    assert 'model="acme/tiny-ner-v2"' in text
    assert json.loads((fresh_run / "eval_results.json").read_text())["overall"]["f1"] == 0.8827
