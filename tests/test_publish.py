"""`nerkit push`, `publish-space` and `publish` end to end: the real CLI in a subprocess, the real
huggingface_hub/transformers clients, and the Hub-compatible server of tests/hub_server.py."""

from __future__ import annotations

import json
import shutil
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO_ROOT, TESTS_DIR
from hub_fixtures import (  # noqa: F401 - fixtures
    NEVER_PUSHED,
    PUSHED,
    client_env,
    fake_token,
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
from toolkit.hub.model_folder import plan_model_folder

REPO_FILES = sorted(PUSHED | {".gitattributes"})

# Real-client check of a pushed model repo: files, LFS, history; optionally load it back and read its card.
VERIFY = r"""
import json, os
from huggingface_hub import HfApi, ModelCard
repo, rev = os.environ["NK_REPO"], os.environ.get("NK_REVISION") or None
api = HfApi()
out = {
    "files": sorted(api.list_repo_files(repo, revision=rev)),
    "lfs": sorted(f.path for f in api.list_repo_tree(repo, recursive=True, revision=rev) if getattr(f, "lfs", None)),
    "commits": [c.title for c in api.list_repo_commits(repo, revision=rev)],
}
if os.environ.get("NK_LOAD"):
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline
    model = AutoModelForTokenClassification.from_pretrained(repo, revision=rev)
    tokenizer = AutoTokenizer.from_pretrained(repo, revision=rev)
    tagger = pipeline("token-classification", model=model, tokenizer=tokenizer)
    out["entities"] = [e["entity"] for e in tagger("John Smith visited London .")]
    out["labels"] = sorted(model.config.label2id)
    card = ModelCard.load(repo)
    per_entity, overall = {}, {}
    for result in card.data.eval_results or []:
        target = per_entity.setdefault(result.metric_config, {}) if result.metric_config else overall
        target[result.metric_type] = result.metric_value
    out.update(per_entity=per_entity, overall=overall)
print(json.dumps(out))
"""


def per_entity_from(folder: Path) -> dict:
    per_type = json.loads((folder / "eval_results.json").read_text())["modes"]["default"]["per_type"]
    return {name: {m: scores[m] for m in ("precision", "recall", "f1")} for name, scores in per_type.items()}


def commit_titles(hub, repo: str, revision: str = "main", repo_type: str = "model") -> list[str]:
    return [c.title for c in hub.repo(repo, repo_type).history(revision)]


# ---- push --------------------------------------------------------------------------------------------
def test_push_then_load_back_with_the_real_clients(nerkit, hub, run_folder):
    repo = f"alice/{unique('tiny-ner')}"
    run = nerkit("push", run_folder, "--repo-id", repo)
    assert run.code == 0, run.output
    assert f"Pushed {len(PUSHED)} changed file(s) to {repo}@main in one commit" in run.stdout
    assert "through LFS: model.safetensors" in run.stdout and "checkpoints/  (training checkpoints)" in run.stdout
    assert len(commit_titles(hub, repo)) == 2, "the initial commit + exactly one push commit"
    stored = hub.files(repo)
    assert sorted(stored) == REPO_FILES
    plan = plan_model_folder(run_folder, repo_id=repo)
    for planned in plan.files:
        assert stored[planned.path] == planned.read(), planned.path
    head = hub.repo(repo).resolve("main")
    assert sorted(p for p, e in head.files.items() if e.lfs_sha256) == sorted(f.path for f in plan.files if f.lfs), \
        "the LFS column of --dry-run is what the Hub decided"

    seen = nerkit.python(VERIFY, NK_REPO=repo, NK_LOAD="1")
    assert seen["files"] == REPO_FILES and seen["lfs"] == ["model.safetensors"]
    assert seen["labels"] == sorted(CONLL_LABELS) and set(seen["entities"]) <= set(CONLL_LABELS)
    assert seen["per_entity"] == per_entity_from(run_folder)
    assert hub.cdn_auth_seen == 0, "the token never goes to the storage origin"


def test_repush_is_idempotent_and_sends_only_changes(nerkit, hub, fresh_run):
    repo = f"alice/{unique('idem')}"
    render_card_for(fresh_run, repo)  # the card names the repo, so editing the log below needs no new card
    assert nerkit("push", fresh_run, "--repo-id", repo).code == 0
    commits = len(commit_titles(hub, repo))
    requests_before = len(hub.requests_for(repo))

    again = nerkit("push", fresh_run, "--repo-id", repo)
    assert again.code == 0, again.output
    assert f"Nothing to push: {repo}@main already holds these {len(PUSHED)} files" in again.stdout
    assert len(commit_titles(hub, repo)) == commits, "no empty commit"
    sent = hub.requests_for(repo)[requests_before:]
    assert not [r for r in sent if r.method in ("POST", "PUT") and ("/commit/" in r.path or "/lfs/" in r.path)]

    log = fresh_run / "training_log.json"
    log.write_text(log.read_text().replace("0.5", "0.75"))
    changed = nerkit("push", fresh_run, "--repo-id", repo, "--commit-message", "Better log")
    assert changed.code == 0, changed.output
    assert "Pushed 1 changed file(s)" in changed.stdout and f"({len(PUSHED) - 1} unchanged)" in changed.stdout
    history = hub.repo(repo).history()
    assert [c.title for c in history][:1] == ["Better log"] and len(history) == commits + 1
    new, old = history[0].files, history[1].files
    assert [p for p in new if new[p] != old.get(p)] == ["training_log.json"]


def test_a_downloaded_model_moves_to_a_new_repo_with_its_card_re_rendered(nerkit, hub, fresh_run, tmp_path):
    """Issue 18: a nerkit model someone downloads can be pushed to their own repo. The pushed files had their
    local paths rewritten; the card is rendered with the same rule (toolkit.paths), so re-rendering it from
    the downloaded files reproduces it, and it can be re-rendered for the new id."""
    first = f"alice/{unique('move-from')}"
    render_card_for(fresh_run, first)
    assert nerkit("push", fresh_run, "--repo-id", first).code == 0
    downloaded = tmp_path / "downloaded"
    for path, data in hub.files(first).items():
        if path.startswith("."):
            continue
        (downloaded / path).parent.mkdir(parents=True, exist_ok=True)
        (downloaded / path).write_bytes(data)
    second = f"acme/{unique('move-to')}"  # the token's organisation: someone else's namespace than the card's
    moved = nerkit("push", downloaded, "--repo-id", second)
    assert moved.code == 0, moved.output
    assert f"README.md: re-rendered for {second}" in moved.stdout
    old_card, new_card = hub.files(first)["README.md"].decode(), hub.files(second)["README.md"].decode()
    assert f'model="{second}"' in new_card and first not in new_card
    renamed = old_card.replace(first, second).replace(first.split("/")[1], second.split("/")[1])
    assert new_card == renamed  # everything else reproduced


def test_a_changed_lfs_file_is_pushed_again(nerkit, hub, fresh_run):
    """Issue 18, item 5: a retrained model's weights (an LFS file) must reach the Hub; a push that took every
    existing LFS file for unchanged would print "Nothing to push" and keep the old weights."""
    repo = f"alice/{unique('lfs-again')}"
    render_card_for(fresh_run, repo)
    assert nerkit("push", fresh_run, "--repo-id", repo).code == 0
    weights = fresh_run / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # one byte of the last tensor changes: same size, new content
    weights.write_bytes(bytes(data))
    again = nerkit("push", fresh_run, "--repo-id", repo)
    assert again.code == 0, again.output
    assert "Pushed 1 changed file(s)" in again.stdout
    history = hub.repo(repo).history()
    new, old = history[0].files, history[1].files
    assert [p for p in new if new[p] != old.get(p)] == ["model.safetensors"]
    assert hub.files(repo)["model.safetensors"] == bytes(data)


def test_a_corrupted_eval_results_is_refused_before_anything_is_sent(nerkit, hub, fresh_run):
    """Issue 18: with a card that already names the repo, a truncated eval_results.json used to be pushed
    (rc 0): the Hub then held metrics that do not parse and do not match the card."""
    repo = f"alice/{unique('corrupt')}"
    render_card_for(fresh_run, repo)
    results = fresh_run / "eval_results.json"
    results.write_text(results.read_text()[: len(results.read_text()) // 2])
    run = nerkit("push", fresh_run, "--repo-id", repo)
    assert run.code == 2, run.output
    assert "eval_results.json: invalid JSON at line" in run.stderr and "column" in run.stderr
    assert not hub.has_repo(repo)
    (fresh_run / "eval_results.json").write_text(json.dumps({"schema_version": "x"}))
    run = nerkit("push", fresh_run, "--repo-id", repo)
    assert run.code == 2 and "eval_results.json" in run.stderr and "schema_version" in run.stderr, run.output


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_a_corrupted_backend_eval_results_is_refused_before_anything_is_sent(nerkit, hub, fresh_run, backend):
    """Issue 24: no test pushed a corrupted `eval_results.<backend>.json`, so a check of `eval_results.json`
    alone passed the suite. The card already names the repo: no re-render reads the file on the way."""
    repo = f"alice/{unique('corrupt-backend')}"
    render_card_for(fresh_run, repo)
    good = (fresh_run / "eval_results.json").read_text()
    other = fresh_run / f"eval_results.{backend}.json"
    other.write_text(good[: len(good) // 2])
    run = nerkit("push", fresh_run, "--repo-id", repo)
    assert run.code == 2, run.output
    assert f"eval_results.{backend}.json: invalid JSON at line" in run.stderr
    assert not hub.has_repo(repo)
    other.write_text(good.replace('"f1": 0.8827', '"f1": 1.8827'))
    run = nerkit("push", fresh_run, "--repo-id", repo)
    assert run.code == 2 and f"eval_results.{backend}.json: field overall.f1" in run.stderr, run.output
    assert not hub.has_repo(repo)


def test_dry_run_writes_the_exact_tree_without_network(nerkit, hub, run_folder, tmp_path):
    preview = tmp_path / "preview"
    repo = f"alice/{unique('dry')}"
    run = nerkit("push", run_folder, "--repo-id", repo, "--dry-run", preview, token=False, hub=False)
    assert run.code == 0, run.output
    assert f"Dry run: would push these files to model repo {repo}" in run.stdout
    assert "LFS (*.safetensors)" in run.stdout and "nothing was sent to the Hub" in run.stdout
    for path in NEVER_PUSHED:
        assert f"  {path}  (" in run.stdout
    written = {p.relative_to(preview).as_posix(): p.read_bytes() for p in preview.rglob("*") if p.is_file()}
    assert sorted(written) == sorted(PUSHED)

    assert nerkit("push", run_folder, "--repo-id", repo).code == 0
    pushed = hub.files(repo)
    pushed.pop(".gitattributes")
    assert pushed == written, "the dry-run folder holds exactly what a push sends"


def test_private_repo_branch_and_commit_message(nerkit, hub, run_folder):
    repo = f"alice/{unique('private')}"
    run = nerkit("push", run_folder, "--repo-id", repo, "--private", "--revision", "experiment",
                 "--commit-message", "First release", "--commit-description", "seed 1")
    assert run.code == 0, run.output
    stored = hub.repo(repo)
    assert stored.private
    assert sorted(hub.files(repo, "main")) == [".gitattributes"], "main is untouched"
    assert sorted(hub.files(repo, "experiment")) == REPO_FILES
    top = stored.history("experiment")[0]
    assert (top.title, top.message) == ("First release", "seed 1")
    seen = nerkit.python(VERIFY, NK_REPO=repo, NK_REVISION="experiment")
    assert seen["files"] == REPO_FILES and seen["commits"][0] == "First release"


def test_pull_request_to_someone_elses_repo(nerkit, hub, hub_users, fresh_run):
    repo = f"bob/{unique('shared')}"
    render_card_for(fresh_run, repo)
    assert nerkit("push", fresh_run, "--repo-id", repo, token=hub_users.bob).code == 0
    main_before = hub.repo(repo).refs["main"]
    (fresh_run / "training_log.json").write_text('{"epochs": [], "note": "from alice"}')

    refused = nerkit("push", fresh_run, "--repo-id", repo)
    assert refused.code == 2 and "'bob' is neither your user name (alice)" in refused.stderr
    assert "--create-pr" in refused.stderr

    run = nerkit("push", fresh_run, "--repo-id", repo, "--create-pr")
    assert run.code == 0, run.output
    assert f"pull request: {hub.url}/{repo}/discussions/1" in run.stdout
    assert hub.repo(repo).refs["main"] == main_before
    assert hub.files(repo, "refs/pr/1")["training_log.json"] == b'{"epochs": [], "note": "from alice"}'
    assert hub.repo(repo).pull_requests == ["refs/pr/1"]


PR_REFS = r"""
import json, os
from huggingface_hub import HfApi
refs = HfApi().list_repo_refs(os.environ["NK_REPO"], include_pull_requests=True)
print(json.dumps({"prs": {r.ref: r.target_commit for r in refs.pull_requests},
                  "branches": {b.name: b.target_commit for b in refs.branches}}))
"""


def test_create_pr_end_to_end(nerkit, hub, run_folder):
    """--create-pr on one's own repo: a refs/pr/N ref with the changes, its URL printed, main untouched."""
    repo = f"alice/{unique('pr')}"
    assert nerkit("push", run_folder, "--repo-id", repo, "--exclude", "*.png").code == 0
    main_before = hub.repo(repo).refs["main"]

    run = nerkit("push", run_folder, "--repo-id", repo, "--create-pr", "--commit-message", "Add the chart")
    assert run.code == 0, run.output
    assert f"Pushed 1 changed file(s) to {repo}@main" in run.stdout
    assert f"pull request: {hub.url}/{repo}/discussions/1" in run.stdout
    stored = hub.repo(repo)
    assert stored.refs["main"] == main_before and stored.pull_requests == ["refs/pr/1"]
    pr = stored.resolve("refs/pr/1")
    assert pr.parents == [main_before] and pr.title == "Add the chart"
    assert hub.files(repo, "refs/pr/1")["per_entity_f1.png"] == (run_folder / "per_entity_f1.png").read_bytes()
    assert "per_entity_f1.png" not in hub.files(repo), "main is unchanged"

    seen = nerkit.python(PR_REFS, NK_REPO=repo)
    assert seen == {"prs": {"refs/pr/1": pr.oid}, "branches": {"main": main_before}}
    loaded = nerkit.python(VERIFY, NK_REPO=repo, NK_REVISION="refs/pr/1")
    assert loaded["files"] == REPO_FILES and loaded["commits"][0] == "Add the chart"

    second = nerkit("push", run_folder, "--repo-id", repo, "--create-pr")
    assert second.code == 0, second.output
    assert f"pull request: {hub.url}/{repo}/discussions/2" in second.stdout
    assert hub.repo(repo).pull_requests == ["refs/pr/1", "refs/pr/2"] and hub.repo(repo).refs["main"] == main_before


# ---- tokens and pre-flight ---------------------------------------------------------------------------
def test_missing_token_fails_before_any_request(nerkit, hub, run_folder):
    repo = f"alice/{unique('notoken')}"
    run = nerkit("push", run_folder, "--repo-id", repo, token=False)
    assert run.code == 2
    assert "no Hugging Face token found" in run.stderr and "hf auth login" in run.stderr and "HF_TOKEN" in run.stderr
    assert "Traceback" not in run.stderr
    assert not hub.has_repo(repo) and hub.requests_for(repo) == []


@pytest.mark.parametrize("who", ["invalid", "read-only", "unreachable"])
def test_bad_token_or_hub_fails_with_a_clear_message(nerkit, hub, hub_users, run_folder, who):
    repo = f"alice/{unique('bad')}"
    token = {"invalid": fake_token(), "read-only": hub_users.reader, "unreachable": hub_users.alice}[who]
    run = nerkit("push", run_folder, "--repo-id", repo, token=token, hub=who != "unreachable")
    assert run.code == 2, run.output
    expected = {
        "invalid": "the Hub rejected the token from the HF_TOKEN environment variable (invalid or expired)",
        "read-only": "(user carol) is read-only",
        "unreachable": "could not reach the Hub at http://127.0.0.1:9",
    }[who]
    assert expected in run.stderr and "Traceback" not in run.stderr
    assert token not in run.output
    assert not hub.has_repo(repo)


def test_stored_login_is_used(nerkit, hub, hub_users, run_folder):
    env = client_env(hub, nerkit.hf_home)  # no HF_TOKEN: the token comes from `hf auth login`
    login = subprocess.run([sys.executable, "-m", "huggingface_hub.cli.hf", "auth", "login", "--token", hub_users.bob],
                           env=env, capture_output=True, text=True, timeout=120)
    assert login.returncode == 0, login.stdout + login.stderr
    repo = f"bob/{unique('login')}"
    run = nerkit("push", run_folder, "--repo-id", repo, token=False)
    assert run.code == 0, run.output
    assert f"Publishing to model repo {repo} as bob" in run.stdout
    assert hub_users.bob not in run.output


def test_the_token_never_leaks(nerkit, hub, hub_users, fresh_run, tmp_path):
    token = hub_users.alice
    repo = f"alice/{unique('leak')}"
    render_card_for(fresh_run, repo)
    outputs = []
    outputs.append(nerkit("push", fresh_run, "--repo-id", repo, HF_DEBUG="1"))
    outputs.append(nerkit("push", fresh_run, "--repo-id", repo, HF_DEBUG="1"))  # nothing to push
    outputs.append(nerkit("push", fresh_run, "--repo-id", repo, "--dry-run", tmp_path / "preview"))
    hub.fail("POST", rf"/api/models/{repo}/commit/", "500", times=None)
    (fresh_run / "training_log.json").write_text("{}")
    outputs.append(nerkit("push", fresh_run, "--repo-id", repo))  # fails: its message quotes the Hub
    hub.clear_faults()
    assert [o.code for o in outputs] == [0, 0, 0, 2]
    for run in outputs:
        assert token not in run.output
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path
    with hub.lock:
        assert all(token.encode() not in blob for blob in [*hub.blobs.values(), *hub.lfs.values()])
    assert hub.cdn_auth_seen == 0

    (fresh_run / "run_info.json").write_text(json.dumps({"env": {"HF_TOKEN": token}}))
    refused = nerkit("push", fresh_run, "--repo-id", f"alice/{unique('leak')}")
    assert refused.code == 2 and "run_info.json contains your Hugging Face token" in refused.stderr
    assert token not in refused.output


def test_only_rank_zero_pushes(nerkit, hub, run_folder):
    repo = f"alice/{unique('ranks')}"
    run = nerkit("push", run_folder, "--repo-id", repo, RANK="1", LOCAL_RANK="1", WORLD_SIZE="2")
    assert run.code == 0 and "process rank 1: skipping, only rank 0 pushes" in run.stdout
    assert hub.requests_for(repo) == [] and not hub.has_repo(repo)
    assert nerkit("push", run_folder, "--repo-id", repo, RANK="0", LOCAL_RANK="0", WORLD_SIZE="2").code == 0
    assert sorted(hub.files(repo)) == REPO_FILES


# ---- faults -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["500", "drop"])
def test_transient_commit_failure_is_retried_once(nerkit, hub, run_folder, mode):
    repo = f"alice/{unique('flaky')}"
    hub.fail("POST", rf"/api/models/{repo}/commit/", mode, times=1)
    run = nerkit("push", run_folder, "--repo-id", repo)
    assert run.code == 0, run.output
    assert "attempt 1/3 to commit" in run.stderr
    assert len(commit_titles(hub, repo)) == 2 and sorted(hub.files(repo)) == REPO_FILES


def test_lost_commit_answer_makes_no_duplicate(nerkit, hub, run_folder):
    repo = f"alice/{unique('lost')}"
    hub.fail("POST", rf"/api/models/{repo}/commit/", "drop_after", times=1)
    run = nerkit("push", run_folder, "--repo-id", repo)
    assert run.code == 0, run.output
    assert "the commit reached" in run.stderr and "not sending it again" in run.stderr
    assert len(commit_titles(hub, repo)) == 2, "exactly one push commit"
    assert sorted(hub.files(repo)) == REPO_FILES


def test_lost_pull_request_answer_opens_one_pr(nerkit, hub, hub_users, run_folder):
    repo = f"bob/{unique('lostpr')}"
    assert nerkit("push", run_folder, "--repo-id", repo, "--exclude", "*.png", token=hub_users.bob).code == 0
    hub.fail("POST", rf"/api/models/{repo}/commit/", "drop_after", times=1)
    run = nerkit("push", run_folder, "--repo-id", repo, "--create-pr")
    assert run.code == 0, run.output
    assert hub.repo(repo).pull_requests == ["refs/pr/1"]
    assert f"pull request: {hub.url}/{repo}/discussions/1" in run.stdout


def test_persistent_failure_is_clear_and_leaves_no_partial_commit(nerkit, hub, run_folder):
    repo = f"alice/{unique('down')}"
    hub.fail("POST", rf"/api/models/{repo}/commit/", "500", times=None)
    run = nerkit("push", run_folder, "--repo-id", repo)
    assert run.code == 2, run.output
    assert f"could not push to {repo} after 3 attempts: HTTP 500" in run.stderr
    assert f"nothing was committed: {repo}@main still points to" in run.stderr
    assert "Run the same command again" in run.stderr and "Traceback" not in run.stderr
    assert commit_titles(hub, repo) == ["initial commit"] and sorted(hub.files(repo)) == [".gitattributes"]
    hub.clear_faults()
    assert nerkit("push", run_folder, "--repo-id", repo).code == 0, "a plain re-run finishes the job"
    assert len(commit_titles(hub, repo)) == 2


@pytest.mark.parametrize("mode, why, requests", [
    ("403", "HTTP 403 Forbidden (AccessDenied: Access Denied)", 1),  # not retried: the storage said no
    ("500", "HTTP 500 Internal Server Error (InternalError: ", 6),  # huggingface_hub's own 5 retries, then us
    ("drop", "connection dropped (RemoteProtocolError: ", 6),
])
def test_storage_failure_is_one_line_naming_the_file_and_status(nerkit, hub, run_folder, mode, why, requests):
    """An LFS upload the storage origin refuses (403), fails (500) or drops: exit 2, one line, no commit."""
    repo = f"alice/{unique('storage')}"
    fault = hub.fail("PUT", r"^/upload/", mode, times=None, origin="cdn")
    run = nerkit("push", run_folder, "--repo-id", repo, no_backoff=True)
    assert run.code == 2, run.output
    assert "Traceback" not in run.stderr
    error, after = run.stderr[run.stderr.index("nerkit push: error: "):].split("\n", 1)
    assert "error" not in after.lower(), "the message is one line"
    line = run.stderr[: run.stderr.index("nerkit push: error: ") + 1].split("\n")[-1]
    assert line.split("\r")[-1] == "n", "the error starts its own line: the open upload bar was erased first"
    assert "100%" not in after, "no bar claims the upload finished after the error"
    assert error.startswith(f"nerkit push: error: could not upload model.safetensors to the Hub's file storage: {why}")
    assert f"nothing was committed: {repo}@main still points to" in error and "Run the same command again" in error
    assert "X-Signature" not in error, "pre-signed URLs stay out of the message"
    assert fault.hits == requests, "a storage failure is not retried on top of huggingface_hub's own retries"
    assert commit_titles(hub, repo) == ["initial commit"]
    assert not [r for r in hub.requests_for(repo) if "/commit/" in r.path], "no commit was attempted"
    hub.clear_faults()
    assert nerkit("push", run_folder, "--repo-id", repo).code == 0, "a plain re-run finishes the job"
    assert sorted(hub.files(repo)) == REPO_FILES


def test_lfs_upload_failure_is_retried_by_the_client(nerkit, hub, run_folder):
    repo = f"alice/{unique('s3')}"
    fault = hub.fail("PUT", r"^/upload/", "500", times=1)
    run = nerkit("push", run_folder, "--repo-id", repo)
    assert run.code == 0, run.output
    assert fault.hits == 1, "the model's LFS upload (new to this repo) failed once"
    assert sorted(hub.files(repo)) == REPO_FILES and len(commit_titles(hub, repo)) == 2


# ---- publish-space --------------------------------------------------------------------------------------
SPACE_CHECK = r"""
import json, os, sys, types
sys.path.insert(0, os.getcwd())
import space
class Demo:  # stands in for the Gradio app, whatever app.py does with it: only the model it gets is under test
    def __getattr__(self, name): return Demo()
    def __call__(self, *args, **kwargs): return Demo()
    def __iter__(self): return iter(())
stub = types.ModuleType("space.ui")
stub.build_demo = lambda: Demo()
stub.warm_up = lambda demo: None
sys.modules["space.ui"] = stub
import app
from space.config import SpaceConfig
print(json.dumps({"space_dir": os.path.dirname(space.__file__), "default_model": SpaceConfig.from_env().default_model}))
"""

SPACE_DOWNLOAD = r"""
import json, os
from huggingface_hub import SpaceCard, snapshot_download
repo = os.environ["NK_REPO"]
folder = snapshot_download(repo, repo_type="space", local_dir=os.environ["NK_DIR"])
card = SpaceCard.load(repo, repo_type="space")
print(json.dumps({"meta": card.data.to_dict(), "files": sorted(
    os.path.relpath(os.path.join(d, f), folder) for d, _, fs in os.walk(folder) for f in fs if ".cache" not in d)}))
"""


def test_publish_space(nerkit, hub, run_folder, tmp_path):
    from importlib.metadata import version

    model = f"alice/{unique('ner')}"
    space_id = f"{model}-demo"
    missing = nerkit("publish-space", "--repo-id", space_id, "--model", model, "--dry-run", tmp_path / "dry", hub=False, token=False)
    assert missing.code == 0, missing.output
    assert nerkit("push", run_folder, "--repo-id", model).code == 0

    run = nerkit("publish-space", "--repo-id", space_id, "--model", model)
    assert run.code == 0, run.output
    repo = hub.repo(space_id, "space")
    assert repo.sdk == "gradio" and len(repo.history()) == 2
    stored = hub.files(space_id, repo_type="space")
    local_space = {p.relative_to(REPO_ROOT).as_posix() for package in ("space", "nercore")
                   for p in (REPO_ROOT / package).rglob("*")
                   if p.is_file() and p.suffix in (".py", ".txt") and "__pycache__" not in p.parts
                   and p.name != "requirements.txt"}  # one requirements file: the generated one at the root
    assert "nercore/engine.py" in local_space and "nercore/runfolder/eval_results.py" in local_space  # the core ships
    assert {"app.py", "requirements.txt", "README.md", ".gitattributes"} | local_space == set(stored)
    for path in local_space:
        assert stored[path] == (REPO_ROOT / path).read_bytes()
    dry = {p.relative_to(tmp_path / "dry").as_posix(): p.read_bytes() for p in (tmp_path / "dry").rglob("*") if p.is_file()}
    stored.pop(".gitattributes")
    assert dry == stored, "the dry run shows the same tree"
    assert b"gradio>=" in stored["requirements.txt"] and b"torch" in stored["requirements.txt"]
    assert b"\nmcp>=1.21,<2\n" in stored["requirements.txt"] and b"\nonnxruntime>=1.17\n" in stored["requirements.txt"]
    assert b"from space.app import demo, main" in stored["app.py"]
    assert b"demo.launch(mcp_server=True)" in stored["space/app.py"]

    download = tmp_path / "space-copy"
    seen = nerkit.python(SPACE_DOWNLOAD, NK_REPO=space_id, NK_DIR=str(download))
    meta = seen["meta"]
    assert (meta["sdk"], meta["app_file"], meta["models"]) == ("gradio", "app.py", [model])
    assert meta["sdk_version"] == version("gradio")
    assert meta["python_version"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert b"--extra-index-url https://download.pytorch.org/whl/cpu\ntorch==" in stored["requirements.txt"]
    assert "app.py" in seen["files"] and "space/ui.py" in seen["files"]

    loaded = nerkit.python(SPACE_CHECK, cwd=download)
    assert Path(loaded["space_dir"]).resolve() == (download / "space").resolve()
    assert loaded["default_model"] == model, "the pushed Space loads the model by default"
    assert nerkit.python(SPACE_CHECK, cwd=download, NER_MODEL="other/model")["default_model"] == "other/model"

    again = nerkit("publish-space", "--repo-id", space_id, "--model", model)
    assert again.code == 0 and "Nothing to push" in again.stdout and len(repo.history()) == 2


def test_publish_space_refuses_a_space_with_no_model_to_serve(nerkit, hub):
    """Issue 18: it used to warn and push a Space that serves nothing."""
    space = f"alice/{unique('demo')}"
    run = nerkit("publish-space", "--repo-id", space, "--model", "alice/does-not-exist")
    assert run.code == 2, run.output
    assert "model alice/does-not-exist was not found on the Hub" in run.stderr
    assert "a Space for it would serve nothing" in run.stderr and "nerkit push OUTPUT_DIR --repo-id" in run.stderr
    assert not hub.has_repo(space, "space")


@pytest.mark.parametrize("held", [(), ("README.md",), ("README.md", "config.json"), ("model.safetensors",)],
                         ids=["empty", "card-only", "no-weights", "no-config"])
def test_publish_space_refuses_a_model_repo_without_weights_or_config(nerkit, hub, held):
    """Issue 24: a model repo that exists but holds no model (a failed push's empty repo) got a Space
    that serves nothing."""
    model, space = f"alice/{unique('hollow')}", f"alice/{unique('hollow-demo')}"
    nerkit.python(HOLLOW_MODEL, NK_REPO=model, NK_FILES=",".join(held))
    run = nerkit("publish-space", "--repo-id", space, "--model", model)
    assert run.code == 2, run.output
    assert f"model {model} is on the Hub but holds no " in run.stderr and "would serve nothing" in run.stderr
    assert ("config.json" in run.stderr) == ("config.json" not in held)
    assert ("weights (model.safetensors or" in run.stderr) == ("model.safetensors" not in held)
    assert not hub.has_repo(space, "space")


HOLLOW_MODEL = r"""
import json, os
from huggingface_hub import CommitOperationAdd, HfApi
api, repo = HfApi(), os.environ["NK_REPO"]
api.create_repo(repo)
files = [name for name in os.environ["NK_FILES"].split(",") if name]
if files:
    api.create_commit(repo, [CommitOperationAdd(name, b"{}" if name.endswith(".json") else b"x") for name in files],
                      commit_message="some files")
print(json.dumps({"ok": True}))
"""


# ---- publish: train -> evaluate -> card -> push ---------------------------------------------------------
TINY_CONLL = TESTS_DIR / "data" / "tiny_conll"


def publish_args(repo: str, model: Path, out: Path, *extra) -> list:
    return ["publish", "--repo-id", repo, "--model", model, "--dataset", TINY_CONLL, "--output-dir", out,
            "--epochs", "1", "--batch-size", "8", "--learning-rate", "5e-4", "--seed", "1", "--license", "mit", *extra]


@pytest.mark.parametrize("token", ["missing", "invalid"])
def test_publish_checks_the_token_before_training(nerkit, hub, tiny_bert, tmp_path, token):
    repo = f"alice/{unique('early')}"
    out = tmp_path / "out"
    run = nerkit(*publish_args(repo, tiny_bert, out), token=False if token == "missing" else fake_token())
    assert run.code == 2, run.output
    assert ("no Hugging Face token found" if token == "missing" else "rejected the token") in run.stderr
    assert not out.exists(), "nothing trained"
    assert not hub.has_repo(repo)


@pytest.mark.parametrize("bad", ["dataset", "output-dir", "model"])
def test_publish_creates_no_repo_when_a_local_input_is_wrong(nerkit, hub, tiny_bert, tmp_path, bad):
    """Issue 18: a mistyped --dataset (or an output folder that holds a model, or a base model that cannot
    be read) used to fail after the public repo was created, leaving it empty."""
    repo = f"alice/{unique('bad-input')}"
    out = tmp_path / "out"
    args = publish_args(repo, tiny_bert, out)
    if bad == "dataset":
        args[args.index("--dataset") + 1] = tmp_path / "no-such-data"
    elif bad == "output-dir":
        shutil.copytree(tiny_bert, out)  # a finished model already there, and no --overwrite
    else:
        args[args.index("--model") + 1] = tmp_path / "no-such-model"
    run = nerkit(*args)
    assert run.code == 2, run.output
    assert not hub.has_repo(repo), "nothing is created before the local inputs are checked"
    assert "Traceback" not in run.stderr


def test_publish_refuses_a_missing_evaluate_split_before_training(nerkit, hub, tiny_bert, tmp_path):
    """Issue 24: `--evaluate-split nope` trained fully, then said the split was missing."""
    repo = f"alice/{unique('nope-split')}"
    out = tmp_path / "out"
    run = nerkit(*publish_args(repo, tiny_bert, out, "--evaluate-split", "nope"))
    assert run.code == 2, run.output
    assert "--evaluate-split nope: the dataset has no such split (it has: train, validation, test)" in run.stderr
    assert not out.exists() and not hub.has_repo(repo), "refused before training and before the repo"
    assert "pre-flight ok" not in run.stdout


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_publish_stopped_by_a_signal_deletes_the_empty_repo_it_created(nerkit, hub, tiny_bert, tmp_path, signum):
    """Issue 24: a publish killed by SIGTERM (a CI timeout) left its freshly created empty repo, since the
    cleanup ran only on Python exceptions. A real signal to a real `nerkit publish` process, mid-training."""
    repo = f"alice/{unique('stopped')}"
    out = tmp_path / "out"
    args = publish_args(repo, tiny_bert, out)
    args[args.index("--epochs") + 1] = "1000"  # still training when the signal comes
    errors = tmp_path / "stderr.txt"
    with errors.open("w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "toolkit.cli", *map(str, args)], stdout=subprocess.PIPE,
                                stderr=stderr, text=True, env=client_env(hub, nerkit.hf_home, nerkit.token),
                                cwd=nerkit.cwd, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            said = ""
            for line in proc.stdout:  # blocks until the repo exists and training starts
                said += line
                if line.startswith("pre-flight ok"):
                    break
            assert hub.has_repo(repo), said + errors.read_text()
            deadline = time.monotonic() + 30
            while not out.exists() and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.1)  # training has begun (the run folder appears): the signal lands mid-run
            proc.send_signal(signum)
            said += proc.communicate(timeout=180)[0]
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    stderr = errors.read_text()
    # 128 + signal from nerkit, or the signal itself when Python re-raises an interrupt after the cleanup
    assert proc.returncode in (128 + signum, -signum), (proc.returncode, stderr[-3000:])
    assert f"the empty repo {repo} it had created was deleted" in stderr, stderr[-3000:]
    assert not hub.has_repo(repo)
    assert "Pushed" not in said and "Traceback" not in stderr


def test_publish_deletes_the_empty_repo_it_created_when_the_push_fails(nerkit, hub, tiny_bert, tmp_path):
    repo = f"alice/{unique('fails-late')}"
    hub.fail("POST", rf"/api/models/{repo}/commit/", "500", times=None)
    try:
        run = nerkit(*publish_args(repo, tiny_bert, tmp_path / "out"), timeout=600)
    finally:
        hub.clear_faults()
    assert run.code == 2, run.output
    assert f"the empty repo {repo} it had created was deleted" in run.stderr
    assert not hub.has_repo(repo)


def test_publish_trains_evaluates_writes_the_card_and_pushes(nerkit, hub, tiny_bert, tmp_path):
    repo = f"alice/{unique('published')}"
    out = tmp_path / "out"
    run = nerkit(*publish_args(repo, tiny_bert, out), timeout=600)
    assert run.code == 0, run.output
    assert run.stdout.index("pre-flight ok") < run.stdout.index("Pushed"), "the Hub is checked before training"
    assert len(commit_titles(hub, repo)) == 2
    stored = hub.files(repo)
    assert {"README.md", "model.safetensors", "eval_results.json", "config.json", "tokenizer.json"} <= set(stored)
    assert f'model="{repo}"' in stored["README.md"].decode() and "re-rendered" not in run.stdout
    assert not [p for p in stored if p.startswith(("checkpoints/", "predictions_", "errors_"))]
    for path, content in stored.items():
        if path.endswith((".json", ".md")):
            assert str(tmp_path) not in content.decode(), f"{path} leaks a local path"

    seen = nerkit.python(VERIFY, NK_REPO=repo, NK_LOAD="1")
    assert seen["labels"] == sorted(CONLL_LABELS)
    expected = per_entity_from(out)
    assert expected and seen["per_entity"] == expected, "the card on the Hub carries eval_results.json's numbers"
    overall = json.loads((out / "eval_results.json").read_text())["overall"]
    assert seen["overall"]["f1"] == overall["f1"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_publish_under_torchrun_checks_and_pushes_once(nerkit, hub, tiny_bert, tmp_path):
    """Two CPU processes: both train, only rank 0 talks to the Hub (one pre-flight, one commit).

    A concrete --master_port: with --master_port=0 the workers never meet (torch 2.13, CPU).
    """
    repo = f"alice/{unique('ddp')}"
    env = client_env(hub, nerkit.hf_home, nerkit.token)
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
               f"--master_port={free_port()}", "-m", "toolkit.cli", *map(str, publish_args(repo, tiny_bert, tmp_path / "out"))]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=nerkit.cwd, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the launcher and both workers
        stdout, stderr = proc.communicate()
        pytest.fail(f"torchrun publish hung:\n{stdout[-2000:]}\n{stderr[-3000:]}")
    assert proc.returncode == 0, stderr[-3000:]
    assert stdout.count("pre-flight ok") == 1 and stdout.count("Pushed ") == 1
    assert "process rank 1: training done" in stdout
    assert len(commit_titles(hub, repo)) == 2
    assert nerkit.token not in stdout + stderr


def test_publish_trial_limits_the_evaluation_and_warns_about_a_useless_model(nerkit, hub, tiny_bert, tmp_path):
    """--max-eval-sentences/--bootstrap bound the final evaluation; an F1 under 0.1 is shouted and carded."""
    out = tmp_path / "out"
    args = publish_args(f"alice/{unique('trial')}", tiny_bert, out, "--max-eval-sentences", "3", "--bootstrap", "7",
                        "--dry-run", tmp_path / "preview")
    args[args.index("--learning-rate") + 1] = "1e-12"  # the random model stays random: F1 ~ 0
    run = nerkit(*args, hub=False, token=False, timeout=600)
    assert run.code == 0, run.output
    results = json.loads((out / "eval_results.json").read_text())
    assert results["num_sentences"] == 3 and results["strategies"]["num_sentences"] == 3
    assert results["confidence_intervals"]["resamples"] == 7
    assert results["overall"]["f1"] < 0.1
    assert "nerkit publish: WARNING: this model does not work: its F1 " in run.stderr
    assert "{bar}" not in run.stderr and "uses it.\n" + "!" * 100 in run.stderr  # the closing bar, not a placeholder
    assert "!" * 100 in run.stderr
    card = (tmp_path / "preview" / "README.md").read_text()
    assert "**Warning: this model does not work yet.** Its F1 " in card and "is below 10.00" in card
    assert "highest end-to-end F1 (0.00)" not in card
    # A partial evaluation says so in the headline and in the model-index (issue 18).
    total = results["split_sentences"]
    assert total > 3 and f"On the first 3 of the {total} sentences of the " in card and "(a partial evaluation)" in card
    import yaml

    index = yaml.safe_load(card.split("---")[1])["model-index"][0]["results"][0]["dataset"]
    assert index["args"]["sentences"] == f"first 3 of {total}" and "(first 3 sentences)" in index["name"]
    if max(s["f1"] for s in results["strategies"]["results"].values()) == 0:
        assert "No strategy could be recommended from the evaluation" in card

    refused = nerkit(*publish_args("alice/x", tiny_bert, tmp_path / "none", "--bootstrap", "-1"), hub=False, token=False)
    assert refused.code == 2 and "--bootstrap -1: expected 0" in refused.stderr and not (tmp_path / "none").exists()


def test_publish_widget_texts_reach_the_pushed_card(nerkit, hub, tiny_bert, tmp_path):
    """`--widget-text` was once dropped on the way to the card; the pushed README.md must carry it."""
    import yaml

    repo = f"alice/{unique('widget')}"
    texts = ["Ada Lovelace wrote to Charles Babbage from London .", "Grace Hopper joined the US Navy ."]
    run = nerkit(*publish_args(repo, tiny_bert, tmp_path / "out", "--widget-text", texts[0], "--widget-text", texts[1]),
                 timeout=600)
    assert run.code == 0, run.output
    card = hub.files(repo)["README.md"].decode()
    meta = yaml.safe_load(card.split("---")[1])
    assert [example["text"] for example in meta["widget"]] == texts
