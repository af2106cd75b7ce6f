"""The test Hub server speaks the Hub protocol the way the publish tests rely on (plain HTTP here;
test_publish.py drives it with the real huggingface_hub and transformers clients)."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
from urllib.parse import urlsplit

import pytest

from hub_fixtures import hub, hub_server, hub_users, unique  # noqa: F401 - fixtures
from hub_server import git_blob_oid, hub_upload_mode


def call(url: str, method: str, path: str, token: str | None = None, body=None, headers: dict | None = None):
    """One request; returns (status, headers, parsed JSON or raw bytes)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    try:
        payload = json.loads(data) if data else None
    except ValueError:
        payload = data
    return response.status, {k.lower(): v for k, v in response.getheaders()}, payload


def ndjson(*items) -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


def header(summary="test", **extra):
    return {"key": "header", "value": {"summary": summary, "description": "", **extra}}


def add_file(path: str, content: bytes):
    return {"key": "file", "value": {"path": path, "content": base64.b64encode(content).decode(), "encoding": "base64"}}


@pytest.fixture
def repo(hub, hub_users):
    name = unique("proto")
    status, _, body = call(hub.url, "POST", "/api/repos/create", hub_users.alice, {"name": name, "type": "model"})
    assert status == 200, body
    return f"alice/{name}"


def test_whoami(hub, hub_users):
    assert call(hub.url, "GET", "/api/whoami-v2")[0] == 401
    status, headers, _ = call(hub.url, "GET", "/api/whoami-v2", "hf_unknown")
    assert status == 401 and headers["x-error-message"] == "Invalid credentials in Authorization header"
    status, _, me = call(hub.url, "GET", "/api/whoami-v2", hub_users.alice)
    assert status == 200 and me["name"] == "alice" and me["orgs"][0]["name"] == "acme"
    assert me["auth"]["accessToken"]["role"] == "write"
    assert call(hub.url, "GET", "/api/whoami-v2", hub_users.reader)[2]["auth"]["accessToken"]["role"] == "read"


def test_create_repo_rules(hub, hub_users, repo):
    name = repo.split("/")[1]
    status, _, body = call(hub.url, "POST", "/api/repos/create", hub_users.alice, {"name": name, "type": "model"})
    assert status == 409 and body["url"] == f"{hub.url}/{repo}", "create_repo(exist_ok=True) needs the url"
    assert call(hub.url, "POST", "/api/repos/create", hub_users.reader, {"name": unique("r")})[0] == 403
    assert call(hub.url, "POST", "/api/repos/create", hub_users.bob, {"name": unique("r"), "organization": "acme"})[0] == 403
    assert call(hub.url, "POST", "/api/repos/create", hub_users.alice, {"name": unique("r"), "organization": "acme"})[0] == 200
    assert call(hub.url, "POST", "/api/repos/create", hub_users.alice, {"name": unique("s"), "type": "space"})[0] == 400
    status, _, body = call(hub.url, "POST", "/api/repos/create", hub_users.alice,
                           {"name": unique("s"), "type": "space", "sdk": "gradio"})
    assert status == 200 and "/spaces/alice/" in body["url"]
    assert hub.files(repo) == {".gitattributes": hub.files(repo)[".gitattributes"]}
    assert b"*.safetensors filter=lfs" in hub.files(repo)[".gitattributes"]


def test_private_repos_are_invisible_to_others(hub, hub_users):
    name = unique("private")
    call(hub.url, "POST", "/api/repos/create", hub_users.alice, {"name": name, "visibility": "private"})
    assert call(hub.url, "GET", f"/api/models/alice/{name}", hub_users.alice)[0] == 200
    status, headers, _ = call(hub.url, "GET", f"/api/models/alice/{name}", hub_users.bob)
    assert status == 404 and headers["x-error-code"] == "RepoNotFound"
    assert call(hub.url, "GET", f"/alice/{name}/resolve/main/.gitattributes")[0] == 404


def test_regular_and_lfs_files_round_trip(hub, hub_users, repo):
    weights = bytes(range(256)) * 64
    sha = hashlib.sha256(weights).hexdigest()
    status, _, batch = call(hub.url, "POST", f"/{repo}.git/info/lfs/objects/batch", hub_users.alice,
                            {"operation": "upload", "transfers": ["basic"], "objects": [{"oid": sha, "size": len(weights)}]})
    assert status == 200
    actions = batch["objects"][0]["actions"]
    upload = urlsplit(actions["upload"]["href"])
    assert f"{upload.scheme}://{upload.netloc}" == hub.cdn_url, "LFS content goes to the storage origin"
    assert call(hub.cdn_url, "PUT", f"{upload.path}?{upload.query}", body=b"wrong")[0] == 400
    assert call(hub.cdn_url, "PUT", f"{upload.path}?{upload.query}", body=weights)[0] == 200
    assert call(hub.url, "POST", urlsplit(actions["verify"]["href"]).path, hub_users.alice,
                {"oid": sha, "size": len(weights)})[0] == 200
    # a second batch call: already there, no actions
    again = call(hub.url, "POST", f"/{repo}.git/info/lfs/objects/batch", hub_users.alice,
                 {"operation": "upload", "objects": [{"oid": sha, "size": len(weights)}]})[2]
    assert "actions" not in again["objects"][0]
    config = b'{"model_type": "bert"}\n'
    status, _, commit = call(hub.url, "POST", f"/api/models/{repo}/commit/main", hub_users.alice, ndjson(
        header("add model"), add_file("config.json", config),
        {"key": "lfsFile", "value": {"path": "model.safetensors", "algo": "sha256", "oid": sha, "size": len(weights)}},
    ), {"Content-Type": "application/x-ndjson"})
    assert status == 200 and commit["commitUrl"].endswith(commit["commitOid"])

    tree = {e["path"]: e for e in call(hub.url, "GET", f"/api/models/{repo}/tree/main?recursive=True")[2]}
    assert tree["config.json"]["oid"] == git_blob_oid(config) and "lfs" not in tree["config.json"]
    assert tree["model.safetensors"]["lfs"]["oid"] == sha

    status, headers, body = call(hub.url, "GET", f"/{repo}/resolve/main/config.json")
    assert status == 200 and body == json.loads(config)
    assert headers["x-repo-commit"] == commit["commitOid"] and headers["etag"] == f'"{git_blob_oid(config)}"'
    status, headers, _ = call(hub.url, "HEAD", f"/{repo}/resolve/main/model.safetensors")
    assert status == 302 and headers["x-linked-etag"] == f'"{sha}"' and headers["x-linked-size"] == str(len(weights))
    location = urlsplit(headers["location"])
    status, headers, body = call(hub.cdn_url, "GET", f"{location.path}?{location.query}", headers={"Range": "bytes=10-"})
    assert status == 206 and body == weights[10:]
    assert hub.cdn_auth_seen == 0

    preupload = call(hub.url, "POST", f"/api/models/{repo}/preupload/main", hub_users.alice, {"files": [
        {"path": "config.json", "sample": base64.b64encode(config).decode(), "size": len(config)},
        {"path": "new.png", "sample": base64.b64encode(b"\x89PNG\0\0").decode(), "size": 200_000},
    ]})[2]["files"]
    assert preupload[0] == {"path": "config.json", "uploadMode": "regular", "shouldIgnore": False, "oid": git_blob_oid(config)}
    assert preupload[1]["uploadMode"] == "lfs" and preupload[1]["oid"] is None


def test_commits_are_all_or_nothing(hub, hub_users, repo):
    before = hub.repo(repo).refs["main"]
    commit_path = f"/api/models/{repo}/commit/main"
    ct = {"Content-Type": "application/x-ndjson"}
    status, _, _ = call(hub.url, "POST", commit_path, hub_users.alice,
                        ndjson(header(), add_file("a.txt", b"a"), {"key": "deletedFile", "value": {"path": "missing"}}), ct)
    assert status == 404
    status, _, body = call(hub.url, "POST", commit_path, hub_users.alice,
                           ndjson(header(), add_file("a.txt", b"a"), add_file("big.bin", b"\0" * 10)), ct)
    assert status == 400 and "LFS" in body["error"]
    status, _, _ = call(hub.url, "POST", commit_path, hub_users.alice, ndjson(header(), {"key": "lfsFile", "value": {
        "path": "m.safetensors", "algo": "sha256", "oid": "0" * 64, "size": 3}}), ct)
    assert status == 422
    assert call(hub.url, "POST", commit_path, hub_users.reader, ndjson(header(), add_file("a.txt", b"a")), ct)[0] == 403
    assert call(hub.url, "POST", commit_path, hub_users.alice,
                ndjson(header(parentCommit="f" * 40), add_file("a.txt", b"a")), ct)[0] == 412
    assert hub.repo(repo).refs["main"] == before and "a.txt" not in hub.files(repo)
    # an empty commit is recorded, so a test can catch code that makes one
    assert call(hub.url, "POST", commit_path, hub_users.alice, ndjson(header("empty")), ct)[0] == 200
    assert [c.title for c in hub.repo(repo).history()] == ["empty", "initial commit"]


def test_pull_requests_and_branches(hub, hub_users, repo):
    ct = {"Content-Type": "application/x-ndjson"}
    status, _, body = call(hub.url, "POST", f"/api/models/{repo}/commit/main?create_pr=1", hub_users.bob,
                           ndjson(header("proposal"), add_file("b.txt", b"b")), ct)
    assert status == 200 and body["pullRequestUrl"].endswith("/discussions/1")
    assert "b.txt" not in hub.files(repo) and "b.txt" in hub.files(repo, "refs/pr/1")
    refs = call(hub.url, "GET", f"/api/models/{repo}/refs?include_prs=1")[2]
    assert [r["ref"] for r in refs["pullRequests"]] == ["refs/pr/1"]
    assert call(hub.url, "POST", f"/api/models/{repo}/branch/dev", hub_users.alice, {})[0] == 200
    assert call(hub.url, "POST", f"/api/models/{repo}/branch/dev", hub_users.alice, {})[0] == 409
    assert call(hub.url, "GET", f"/api/models/{repo}/revision/dev")[2]["sha"] == hub.repo(repo).refs["main"]
    assert call(hub.url, "GET", f"/api/models/{repo}/revision/nope")[1]["x-error-code"] == "RevisionNotFound"


def test_validate_yaml(hub):
    ok = call(hub.url, "POST", "/api/validate-yaml", body={"content": "---\nlicense: mit\n---\n", "repoType": "model"})
    assert ok[0] == 200
    bad = call(hub.url, "POST", "/api/validate-yaml", body={"content": "---\nlicense: [mit\n---\n", "repoType": "model"})
    assert bad[0] == 400 and "Invalid YAML" in bad[2]["errors"][0]["message"]
    index = "---\nmodel-index:\n- name: x\n  results:\n  - task: {}\n---\n"
    assert call(hub.url, "POST", "/api/validate-yaml", body={"content": index, "repoType": "model"})[0] == 400
    assert call(hub.url, "POST", "/api/validate-yaml", body={"content": "---\ntitle: x\n---\n", "repoType": "space"})[0] == 400
    assert call(hub.url, "POST", "/api/validate-yaml", body={"content": "# no yaml", "repoType": "model"})[2]["warnings"]


def test_fault_injection(hub, hub_users, repo):
    path = f"/api/models/{repo}/commit/main"
    ct = {"Content-Type": "application/x-ndjson"}
    hub.fail("POST", r"/commit/", "500")
    assert call(hub.url, "POST", path, hub_users.alice, ndjson(header(), add_file("x.txt", b"1")), ct)[0] == 500
    hub.fail("POST", r"/commit/", "drop")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        call(hub.url, "POST", path, hub_users.alice, ndjson(header(), add_file("x.txt", b"1")), ct)
    assert "x.txt" not in hub.files(repo)
    hub.fail("POST", r"/commit/", "drop_after")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        call(hub.url, "POST", path, hub_users.alice, ndjson(header(), add_file("x.txt", b"1")), ct)
    assert hub.files(repo)["x.txt"] == b"1", "drop_after applies the request, then loses the answer"
    assert call(hub.url, "POST", path, hub_users.alice, ndjson(header(), add_file("y.txt", b"2")), ct)[0] == 200


def test_fault_injection_by_status_and_origin(hub, hub_users, repo):
    """Any HTTP error status; `origin` picks the API or the storage origin (S3-style XML errors there)."""
    hub.fail("GET", r"^/whatever", "403", origin="cdn")
    hub.fail("GET", r"^/api/whoami-v2", "503", origin="hub")
    assert call(hub.url, "GET", "/api/whoami-v2", hub_users.alice)[0] == 503
    assert call(hub.url, "GET", "/whatever", hub_users.alice)[0] == 404, "a storage fault leaves the API alone"
    status, _, body = call(hub.cdn_url, "GET", "/whatever")
    assert status == 403 and b"<Code>AccessDenied</Code>" in body
    assert call(hub.cdn_url, "GET", "/whatever")[0] == 404, "times=1: the next request is served"
    with pytest.raises(ValueError, match="HTTP error status"):
        hub.fail("GET", "x", "200")
    with pytest.raises(ValueError, match="origin"):
        hub.fail("GET", "x", "500", origin="s3")


def test_upload_mode_rules():
    assert hub_upload_mode("model.safetensors", 5, b"{}") == "lfs"
    assert hub_upload_mode("per_entity_f1.png", 40_000, b"\x89PNG\0") == "regular"
    assert hub_upload_mode("chart.png", 100_000, b"\x89PNG\0") == "lfs"
    assert hub_upload_mode("vocab.txt", 10 * 1024 * 1024, b"a") == "lfs"
    assert hub_upload_mode("saved_model/x/y.pb2", 1, b"a") == "lfs"


def test_lfs_follows_the_repos_gitattributes(hub, hub_users, repo):
    """Like the Hub, the server reads the revision's .gitattributes: a repo can send PNGs to LFS."""
    ct = {"Content-Type": "application/x-ndjson"}
    png = {"path": "chart.png", "sample": base64.b64encode(b"\x89PNG\0\0").decode(), "size": 5_000}
    preupload = f"/api/models/{repo}/preupload/main"
    assert call(hub.url, "POST", preupload, hub_users.alice, {"files": [png]})[2]["files"][0]["uploadMode"] == "regular"
    attributes = hub.files(repo)[".gitattributes"] + b"*.png filter=lfs diff=lfs merge=lfs -text\n"
    assert call(hub.url, "POST", f"/api/models/{repo}/commit/main", hub_users.alice,
                ndjson(header("png in lfs"), add_file(".gitattributes", attributes)), ct)[0] == 200
    assert call(hub.url, "POST", preupload, hub_users.alice, {"files": [png]})[2]["files"][0]["uploadMode"] == "lfs"
    status, _, body = call(hub.url, "POST", f"/api/models/{repo}/commit/main", hub_users.alice,
                           ndjson(header(), add_file("chart.png", b"\x89PNG\0\0")), ct)
    assert status == 400 and "LFS" in body["error"], "a tracked file sent as a regular blob is refused"


def test_gitattributes_rules():
    from hub_server import DEFAULT_GITATTRIBUTES

    untracking = DEFAULT_GITATTRIBUTES + "*.bin -filter\nonly/here.md filter=lfs\n"
    assert hub_upload_mode("pytorch_model.bin", 5, b"x") == "lfs"
    assert hub_upload_mode("pytorch_model.bin", 5, b"x", untracking) == "regular", "a later line wins"
    assert hub_upload_mode("only/here.md", 5, b"x", untracking) == "lfs"
    assert hub_upload_mode("elsewhere/only/here.md", 5, b"x", untracking) == "regular", "a path pattern is anchored"
    assert hub_upload_mode("deep/dir/model.safetensors", 5, b"x") == "lfs", "a name pattern matches at any depth"
    assert hub_upload_mode("notes.md", 200_000, ("é" * 300).encode()[:511]) == "regular"


def test_the_server_decides_lfs_without_the_code_under_test():
    """Its LFS answers come from its own table, so agreeing with `nerkit push --dry-run` means something."""
    import ast
    from pathlib import Path

    from conftest import TESTS_DIR

    tree = ast.parse(Path(TESTS_DIR / "hub_server.py").read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not [name for name in imported if name.split(".")[0] in ("toolkit", "space")], imported


@pytest.mark.parametrize("path, size, sample", [
    ("model.safetensors", 10, b"{}"), ("pytorch_model.bin", 10, b"x"), ("runs/events.out.tfevents.1", 10, b"x"),
    ("saved_model/variables/v.data", 10, b"x"), ("archive.tar.gz", 10, b"x"), ("per_entity_f1.png", 30_000, b"\x89PNG\0"),
    ("big.png", 150_000, b"\x89PNG\0"), ("vocab.txt", 200_000, b"hello"), ("tokenizer.json", 11 * 1024 * 1024, b"{"),
    ("notes.md", 200_000, ("é" * 300).encode()[:512]), ("config.json", 700, b'{"a": 1}'),
])
def test_dry_run_lfs_column_agrees_with_the_server(path, size, sample):
    from toolkit.hub.plan import predict_lfs

    assert (predict_lfs(path, size, sample) is not None) == (hub_upload_mode(path, size, sample) == "lfs")
