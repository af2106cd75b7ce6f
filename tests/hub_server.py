"""A small Hugging Face Hub-compatible HTTP server (standard library only) for offline tests.

The Hub cannot be reached from CI, so publish tests point the *real* `huggingface_hub` client (and
`transformers.from_pretrained`) at this server through `HF_ENDPOINT`. It keeps repos in memory as
git-like commits, so tests can check what a push really produced: files, LFS pointers, the number
of commits, pull-request refs. It behaves like the Hub where our code depends on it:

- tokens: unknown token -> 401 `Invalid credentials in Authorization header`; read-only tokens
  and foreign namespaces -> 403 on writes; private repos are invisible (404 `RepoNotFound`) to others.
- `POST /api/repos/create` answers 409 with the repo `url` when the repo exists.
- preupload decides "regular" vs "lfs" like the Hub: from the `.gitattributes` of the revision
  (new repos get the Hub's default one), then files of 10 MiB and more and binary files of
  100 kB and more (the server's own table, never the code under test's rule), and returns the
  remote oid for unchanged-file detection; the commit endpoint rejects large/binary files sent as regular files and LFS files
  whose object was never uploaded, and applies a commit all-or-nothing.
- LFS uploads and LFS downloads go through a second listener (the "CDN", another origin) with
  pre-signed URLs, so the client must not (and does not) send the token there; `cdn_auth_seen`
  counts requests that did.
- an empty commit is recorded like any other, so a test can see that the code under test made one.

Fault injection (`fail(...)`) makes a matching request answer an HTTP error ("500", "403", any
4xx/5xx), drop the connection before applying it, or apply it and then drop the connection (a
lost response); `origin="cdn"` limits a fault to the storage origin, `origin="hub"` to the API.

Run `python tests/hub_server.py` to start one by hand; it prints the endpoint and a token.
"""

from __future__ import annotations

import base64
import codecs
import hashlib
import json
import re
import secrets
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

# The `.gitattributes` the Hub writes into every new model or Space repo. Like the Hub, this server
# decides "regular" vs "lfs" from the .gitattributes of the revision being pushed to (a repo that
# adds `*.png filter=lfs` gets its PNGs in LFS), plus the size rules below. It is the server's own
# table: it never imports or copies the rule of the code under test.
DEFAULT_GITATTRIBUTES = """\
*.7z filter=lfs diff=lfs merge=lfs -text
*.arrow filter=lfs diff=lfs merge=lfs -text
*.bin filter=lfs diff=lfs merge=lfs -text
*.bz2 filter=lfs diff=lfs merge=lfs -text
*.ckpt filter=lfs diff=lfs merge=lfs -text
*.ftz filter=lfs diff=lfs merge=lfs -text
*.gz filter=lfs diff=lfs merge=lfs -text
*.h5 filter=lfs diff=lfs merge=lfs -text
*.joblib filter=lfs diff=lfs merge=lfs -text
*.lfs.* filter=lfs diff=lfs merge=lfs -text
*.mlmodel filter=lfs diff=lfs merge=lfs -text
*.model filter=lfs diff=lfs merge=lfs -text
*.msgpack filter=lfs diff=lfs merge=lfs -text
*.npy filter=lfs diff=lfs merge=lfs -text
*.npz filter=lfs diff=lfs merge=lfs -text
*.onnx filter=lfs diff=lfs merge=lfs -text
*.ot filter=lfs diff=lfs merge=lfs -text
*.parquet filter=lfs diff=lfs merge=lfs -text
*.pb filter=lfs diff=lfs merge=lfs -text
*.pickle filter=lfs diff=lfs merge=lfs -text
*.pkl filter=lfs diff=lfs merge=lfs -text
*.pt filter=lfs diff=lfs merge=lfs -text
*.pth filter=lfs diff=lfs merge=lfs -text
*.rar filter=lfs diff=lfs merge=lfs -text
*.safetensors filter=lfs diff=lfs merge=lfs -text
saved_model/**/* filter=lfs diff=lfs merge=lfs -text
*.tar.* filter=lfs diff=lfs merge=lfs -text
*.tar filter=lfs diff=lfs merge=lfs -text
*.tflite filter=lfs diff=lfs merge=lfs -text
*.tgz filter=lfs diff=lfs merge=lfs -text
*.wasm filter=lfs diff=lfs merge=lfs -text
*.xz filter=lfs diff=lfs merge=lfs -text
*.zip filter=lfs diff=lfs merge=lfs -text
*.zst filter=lfs diff=lfs merge=lfs -text
*tfevents* filter=lfs diff=lfs merge=lfs -text
"""
# Size rules applied on top of .gitattributes: (files they apply to, minimum size in bytes).
LFS_SIZE_RULES = (
    ("any", 10 * 1024 * 1024),  # nothing of 10 MiB or more goes into plain git
    ("binary", 100 * 1000),  # binary files from 100 kB
)
TYPE_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
PLURAL = {"models": "model", "datasets": "dataset", "spaces": "space"}
REPO_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
SPACE_SDKS = ("gradio", "streamlit", "docker", "static")
INVALID_TOKEN = "Invalid credentials in Authorization header"


def git_blob_oid(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def is_binary(sample: bytes) -> bool:
    """NUL bytes or invalid UTF-8 (a multi-byte character cut by the end of the sample is text)."""
    if b"\0" in sample:
        return True
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return True
    return False


def _gitattributes_regex(pattern: str) -> re.Pattern:
    """A .gitattributes pattern as a regex over the repo path (git's wildmatch rules, enough of them)."""
    anchored = "/" in pattern.rstrip("/")
    out, i = [], 0
    pattern = pattern.lstrip("/")
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    prefix = "" if anchored else "(?:.*/)?"  # a pattern without a slash matches the name at any depth
    return re.compile(prefix + "".join(out))


def lfs_patterns(gitattributes: str) -> list[tuple[re.Pattern, bool]]:
    """(pattern, sets filter=lfs) per line; later lines win, as in git."""
    rules = []
    for line in gitattributes.splitlines():
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        attrs = fields[1:]
        if "filter=lfs" in attrs:
            rules.append((_gitattributes_regex(fields[0]), True))
        elif "-filter" in attrs or "!filter" in attrs or any(a.startswith("filter=") for a in attrs):
            rules.append((_gitattributes_regex(fields[0]), False))
    return rules


def hub_upload_mode(path: str, size: int, sample: bytes, gitattributes: str = DEFAULT_GITATTRIBUTES) -> str:
    """The Hub's choice between a regular git blob and LFS for a file pushed to a revision."""
    tracked = False
    for regex, lfs in lfs_patterns(gitattributes):
        if regex.fullmatch(path):
            tracked = lfs
    if tracked:
        return "lfs"
    for applies_to, minimum in LFS_SIZE_RULES:
        if size >= minimum and (applies_to == "any" or is_binary(sample)):
            return "lfs"
    return "regular"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class FileEntry:
    size: int
    blob_oid: str  # git oid of the blob (of the pointer file for LFS files)
    lfs_sha256: str | None = None

    @property
    def oid_for_preupload(self) -> str:  # what `CommitOperationAdd._local_oid` is compared with
        return self.lfs_sha256 or self.blob_oid


@dataclass
class Commit:
    oid: str
    parents: list[str]
    title: str
    message: str
    author: str
    date: str
    files: dict[str, FileEntry]


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool
    sdk: str | None
    created_at: str
    refs: dict[str, str] = field(default_factory=dict)  # "main" / "refs/pr/1" -> commit oid
    commits: dict[str, Commit] = field(default_factory=dict)
    lfs_objects: set[str] = field(default_factory=set)  # sha256 of the LFS objects uploaded to this repo

    @property
    def namespace(self) -> str:
        return self.repo_id.split("/")[0]

    def resolve(self, revision: str) -> Commit | None:
        oid = self.refs.get(revision)
        if oid is None and re.fullmatch(r"[0-9a-f]{7,40}", revision):
            matches = [c for c in self.commits if c.startswith(revision)]
            oid = matches[0] if len(matches) == 1 else None
        return self.commits.get(oid) if oid else None

    def history(self, revision: str = "main") -> list[Commit]:
        commit, out = self.resolve(revision), []
        while commit is not None:
            out.append(commit)
            commit = self.commits.get(commit.parents[0]) if commit.parents else None
        return out

    @property
    def pull_requests(self) -> list[str]:
        return sorted((r for r in self.refs if r.startswith("refs/pr/")), key=lambda r: int(r.rsplit("/", 1)[1]))


@dataclass
class User:
    name: str
    token: str
    role: str = "write"  # "read" | "write"
    orgs: tuple[str, ...] = ()


@dataclass
class Fault:
    method: str
    pattern: re.Pattern
    mode: str  # an HTTP status ("500", "403", ...) | "drop" | "drop_after"
    times: int | None  # None: forever
    hits: int = 0
    origin: str | None = None  # "hub" | "cdn" | None (both)

    @property
    def status(self) -> int | None:
        return int(self.mode) if self.mode.isdigit() else None


@dataclass
class Request:
    method: str
    path: str
    status: int | None  # None when the connection was dropped
    user: str | None
    server: str  # "hub" | "cdn"


class HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, extra: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.extra = status, message, code, extra or {}


class HubServer:
    """The Hub API (`url`) plus a storage origin for LFS transfers (`cdn_url`), sharing one state."""

    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.repos: dict[tuple[str, str], Repo] = {}
        self.blobs: dict[str, bytes] = {}  # git oid -> content, regular files
        self.lfs: dict[str, bytes] = {}  # sha256 -> content (stored once; each repo lists what it may use)
        self.upload_urls: dict[str, tuple[str, int, Repo]] = {}  # signature -> (sha256, size, repo)
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.cdn_auth_seen = 0
        self.unhandled: list[str] = []
        self._servers: list[ThreadingHTTPServer] = []
        self._commit_counter = 0

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self) -> HubServer:
        for role in ("hub", "cdn"):
            handler = type(f"{role.title()}Handler", (_Handler,), {"hub": self, "role": role})
            server = ThreadingHTTPServer((self.host, 0), handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, name=f"hub-server-{role}", daemon=True).start()
            self._servers.append(server)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._servers[0].server_address[1]}"

    @property
    def cdn_url(self) -> str:
        return f"http://{self.host}:{self._servers[1].server_address[1]}"

    # ---- test helpers ----------------------------------------------------------------------
    def add_user(self, name: str, *, role: str = "write", orgs: tuple[str, ...] = (), token: str | None = None) -> str:
        token = token or f"hf_{secrets.token_urlsafe(24)}"
        with self.lock:
            self.users[token] = User(name=name, token=token, role=role, orgs=tuple(orgs))
        return token

    def fail(self, method: str, path_regex: str, mode: str = "500", times: int | None = 1,
             origin: str | None = None) -> Fault:
        """Make matching requests fail: an HTTP status such as "500" or "403" (not applied), "drop"
        (the connection closes before the request is applied) or "drop_after" (applied, answer lost).
        `origin` "hub" or "cdn" (the storage origin) limits the fault to one listener."""
        if not (mode in ("drop", "drop_after") or (mode.isdigit() and 400 <= int(mode) <= 599)):
            raise ValueError(f"mode must be an HTTP error status ('500', '403', ...), 'drop' or 'drop_after', got {mode!r}")
        if origin not in (None, "hub", "cdn"):
            raise ValueError(f"origin must be 'hub', 'cdn' or None, got {origin!r}")
        fault = Fault(method.upper(), re.compile(path_regex), mode, times, origin=origin)
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def repo(self, repo_id: str, repo_type: str = "model") -> Repo:
        with self.lock:
            return self.repos[(repo_type, repo_id)]

    def has_repo(self, repo_id: str, repo_type: str = "model") -> bool:
        return (repo_type, repo_id) in self.repos

    def files(self, repo_id: str, revision: str = "main", repo_type: str = "model") -> dict[str, bytes]:
        """Path -> content of every file at `revision` (LFS files resolved to their content)."""
        with self.lock:
            commit = self.repo(repo_id, repo_type).resolve(revision)
            return {p: self._content(e) for p, e in commit.files.items()}

    def requests_for(self, repo_id: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if repo_id in unquote(r.path)]

    # ---- state changes (called with the lock held) ---------------------------------------------
    def _content(self, entry: FileEntry) -> bytes:
        return self.lfs[entry.lfs_sha256] if entry.lfs_sha256 else self.blobs[entry.blob_oid]

    def _new_commit(self, repo: Repo, parent: Commit | None, files: dict, title: str, message: str, author: str) -> Commit:
        self._commit_counter += 1
        seed = json.dumps([repo.repo_id, parent.oid if parent else None, title, self._commit_counter, time.time()])
        commit = Commit(
            oid=hashlib.sha1(seed.encode()).hexdigest(),
            parents=[parent.oid] if parent else [],
            title=title,
            message=message,
            author=author,
            date=_now(),
            files=dict(files),
        )
        repo.commits[commit.oid] = commit
        return commit

    def _store_regular(self, content: bytes) -> FileEntry:
        oid = git_blob_oid(content)
        self.blobs[oid] = content
        return FileEntry(size=len(content), blob_oid=oid)


def _read_chunked(rfile) -> bytes:
    body = b""
    while True:
        size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while rfile.readline().strip():  # trailers
                pass
            return body
        body += rfile.read(size)
        rfile.readline()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hub: HubServer
    role: str

    def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
        pass

    # ---- plumbing ------------------------------------------------------------------------------
    def do_GET(self):
        self._handle("GET")

    def do_HEAD(self):
        self._handle("HEAD")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_DELETE(self):
        self._handle("DELETE")

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return _read_chunked(self.rfile)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self, method: str) -> None:
        hub = self.hub
        split = urlsplit(self.path)
        raw_path, query = split.path, parse_qs(split.query)
        body = self._body()
        user = None
        fault = None
        with hub.lock:
            for candidate in hub.faults:
                if candidate.origin not in (None, self.role):
                    continue
                if candidate.method == method and candidate.pattern.search(raw_path):
                    if candidate.times is None or candidate.hits < candidate.times:
                        candidate.hits += 1
                        fault = candidate
                        break
        record = Request(method, raw_path, None, None, self.role)
        with hub.lock:
            hub.requests.append(record)
        if fault and fault.mode == "drop":
            self._drop()
            return
        if fault and fault.status is not None:
            record.status = fault.status
            self._send(fault.status, *_fault_answer(fault.status, self.role))
            return
        try:
            if self.role == "cdn":
                status, headers, payload = self._cdn(method, raw_path, query, body)
            else:
                user = self._user()
                record.user = user.name if user else None
                status, headers, payload = self._route(method, raw_path, query, body, user)
        except HubError as err:
            status, payload = err.status, {"error": err.message, **err.extra}
            headers = {"X-Error-Message": err.message.encode("ascii", "replace").decode()}
            if err.code:
                headers["X-Error-Code"] = err.code
        except Exception as err:  # a bug in this server: answer 500 and remember it
            hub.unhandled.append(f"{method} {raw_path}: {err!r}")
            status, headers, payload = 500, {}, {"error": f"test server bug: {err!r}"}
        if fault and fault.mode == "drop_after":
            self._drop()
            return
        record.status = status
        self._send(status, payload, headers, head=method == "HEAD")

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, status: int, payload, headers: dict | None = None, head: bool = False) -> None:
        headers = dict(headers or {})
        if isinstance(payload, (dict, list)):
            data = json.dumps(payload).encode()
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        else:
            data = payload or b""
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, str(value))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def _user(self) -> User | None:
        auth = self.headers.get("Authorization")
        if not auth:
            return None
        token = auth.split(" ", 1)[1] if auth.lower().startswith("bearer ") else auth
        user = self.hub.users.get(token)
        if user is None:
            raise HubError(401, INVALID_TOKEN)
        return user

    # ---- routing -------------------------------------------------------------------------------
    def _route(self, method, raw_path, query, body, user):
        parts = [unquote(p) for p in raw_path.strip("/").split("/")]
        if parts[:1] == ["api"]:
            rest = parts[1:]
            if rest == ["whoami-v2"] and method == "GET":
                return self._whoami(user)
            if rest == ["repos", "create"] and method == "POST":
                return self._create_repo(json.loads(body or b"{}"), user)
            if rest == ["repos", "delete"] and method == "DELETE":
                return self._delete_repo(json.loads(body or b"{}"), user)
            if rest == ["validate-yaml"] and method == "POST":
                return self._validate_yaml(json.loads(body or b"{}"))
            if len(rest) >= 3 and rest[0] in PLURAL:
                repo_type, repo_id, sub = PLURAL[rest[0]], "/".join(rest[1:3]), rest[3:]
                return self._repo_api(method, repo_type, repo_id, sub, query, body, user)
        else:
            repo_type = "model"
            if parts[0] in ("datasets", "spaces"):
                repo_type, parts = PLURAL[parts[0]], parts[1:]
            if len(parts) >= 5 and parts[1].endswith(".git") and parts[2:4] == ["info", "lfs"]:
                repo_id = f"{parts[0]}/{parts[1][:-4]}"
                if parts[4:] == ["objects", "batch"] and method == "POST":
                    return self._lfs_batch(repo_type, repo_id, json.loads(body), user)
                if parts[4:] == ["objects", "verify"] and method == "POST":
                    return self._lfs_verify(repo_type, repo_id, json.loads(body), user)
            if len(parts) >= 5 and parts[2] == "resolve" and method in ("GET", "HEAD"):
                return self._resolve(repo_type, "/".join(parts[:2]), parts[3], "/".join(parts[4:]), user)
        raise HubError(404, f"Not found: {method} {raw_path} is not implemented by the test Hub server")

    def _repo_api(self, method, repo_type, repo_id, sub, query, body, user):
        if method == "GET" and (not sub or sub[0] == "revision"):
            revision = "/".join(sub[1:]) if sub else "main"
            return self._repo_info(repo_type, repo_id, revision, user, blobs="blobs" in query)
        if method == "GET" and sub[:1] == ["tree"] and len(sub) >= 2:
            recursive = query.get("recursive", ["False"])[0].lower() in ("1", "true")
            return self._tree(repo_type, repo_id, sub[1], "/".join(sub[2:]), recursive, user)
        if method == "POST" and sub[:1] == ["paths-info"] and len(sub) == 2:
            form = parse_qs(body.decode())
            return self._paths_info(repo_type, repo_id, sub[1], form.get("paths", []), user)
        if method == "POST" and sub[:1] == ["preupload"] and len(sub) == 2:
            pr = query.get("create_pr", ["0"])[0] == "1"
            return self._preupload(repo_type, repo_id, sub[1], json.loads(body), user, pr)
        if method == "POST" and sub[:1] == ["commit"] and len(sub) == 2:
            pr = query.get("create_pr", ["0"])[0] == "1"
            return self._commit(repo_type, repo_id, sub[1], body, user, pr)
        if method == "GET" and sub[:1] == ["commits"] and len(sub) == 2:
            return self._commits(repo_type, repo_id, sub[1], user)
        if method == "GET" and sub == ["refs"]:
            return self._refs(repo_type, repo_id, user, include_prs="include_prs" in query)
        if method == "POST" and sub[:1] == ["branch"] and len(sub) >= 2:
            return self._create_branch(repo_type, repo_id, "/".join(sub[1:]), json.loads(body or b"{}"), user)
        if method == "GET" and sub[:1] == ["auth-check"]:
            repo = self._readable(repo_type, repo_id, user)
            if sub[1:] == ["write"]:
                self._check_write(repo, user)
            return 200, {}, {}
        raise HubError(404, f"Not found: {method} /api/{repo_type}s/{repo_id}/{'/'.join(sub)}")

    # ---- access --------------------------------------------------------------------------------
    def _repo_or_404(self, repo_type: str, repo_id: str) -> Repo:
        repo = self.hub.repos.get((repo_type, repo_id))
        if repo is None:
            raise HubError(404, "Repository not found", "RepoNotFound")
        return repo

    @staticmethod
    def _may_write_namespace(user: User | None, namespace: str) -> bool:
        return user is not None and user.role == "write" and (user.name == namespace or namespace in user.orgs)

    def _readable(self, repo_type: str, repo_id: str, user: User | None) -> Repo:
        repo = self._repo_or_404(repo_type, repo_id)
        if repo.private and not (user and (user.name == repo.namespace or repo.namespace in user.orgs)):
            raise HubError(404, "Repository not found", "RepoNotFound")
        return repo

    def _check_write(self, repo: Repo, user: User | None) -> None:
        if user is None:
            raise HubError(401, "You must be authenticated to write to a repo")
        if not self._may_write_namespace(user, repo.namespace):
            why = "your token is read-only" if user.role != "write" else f"you are not a member of '{repo.namespace}'"
            raise HubError(403, f"You don't have the rights to write to {repo.repo_id} ({why})")

    def _gitattributes(self, files: dict[str, FileEntry]) -> str:
        """The .gitattributes of a tree: what decides LFS for files pushed on top of it."""
        entry = files.get(".gitattributes")
        return self.hub._content(entry).decode("utf-8", "replace") if entry else ""

    def _commit_at(self, repo: Repo, revision: str) -> Commit:
        commit = repo.resolve(revision)
        if commit is None:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return commit

    # ---- API endpoints ---------------------------------------------------------------------------
    def _whoami(self, user):
        if user is None:
            raise HubError(401, INVALID_TOKEN)
        return 200, {}, {
            "type": "user",
            "id": hashlib.sha1(user.name.encode()).hexdigest()[:24],
            "name": user.name,
            "fullname": user.name.title(),
            "email": None,
            "emailVerified": True,
            "isPro": False,
            "orgs": [{"type": "org", "name": org, "roleInOrg": "write"} for org in user.orgs],
            "auth": {"type": "access_token", "accessToken": {"displayName": "test", "role": user.role}},
        }

    def _repo_url(self, repo_type: str, repo_id: str) -> str:
        return f"{self.hub.url}/{TYPE_PREFIX[repo_type]}{repo_id}"

    def _create_repo(self, payload: dict, user: User | None):
        if user is None:
            raise HubError(401, "You must be authenticated to create a repo")
        name, namespace = payload.get("name") or "", payload.get("organization") or user.name
        repo_type = payload.get("type") or "model"
        repo_id = f"{namespace}/{name}"
        if repo_type not in TYPE_PREFIX:
            raise HubError(400, f"Invalid repo type {repo_type!r}")
        if not REPO_NAME_RE.match(name) or "--" in name or ".." in name:
            raise HubError(400, f"Invalid repo name {name!r}")
        with self.hub.lock:
            existing = self.hub.repos.get((repo_type, repo_id))
            if existing is not None and not (existing.private and not self._may_write_namespace(user, namespace)):
                raise HubError(409, f"You already created this {repo_type} repo", extra={"url": self._repo_url(repo_type, repo_id)})
            if not self._may_write_namespace(user, namespace):
                why = "your token is read-only" if user.role != "write" else f"'{namespace}' is not you or one of your orgs"
                raise HubError(403, f"You don't have the rights to create a {repo_type} under the namespace '{namespace}' ({why})")
            if repo_type == "space" and payload.get("sdk") not in SPACE_SDKS:
                raise HubError(400, f"Invalid or missing space sdk {payload.get('sdk')!r}")
            visibility = payload.get("visibility") or ("private" if payload.get("private") else "public")
            repo = Repo(repo_type, repo_id, private=visibility == "private", sdk=payload.get("sdk"), created_at=_now())
            attributes = self.hub._store_regular(DEFAULT_GITATTRIBUTES.encode())
            first = self.hub._new_commit(repo, None, {".gitattributes": attributes}, "initial commit", "", user.name)
            repo.refs["main"] = first.oid
            self.hub.repos[(repo_type, repo_id)] = repo
        return 200, {}, {"url": self._repo_url(repo_type, repo_id), "name": repo_id, "id": uuid.uuid4().hex[:24]}

    def _delete_repo(self, payload: dict, user: User | None):
        repo_type = payload.get("type") or "model"
        repo_id = f"{payload.get('organization') or (user.name if user else '')}/{payload.get('name')}"
        with self.hub.lock:
            repo = self._readable(repo_type, repo_id, user)
            self._check_write(repo, user)
            del self.hub.repos[(repo_type, repo_id)]
        return 200, {}, {}

    def _validate_yaml(self, payload: dict):
        import yaml

        content, repo_type = payload.get("content", ""), payload.get("repoType", "model")
        match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", content, re.S)
        if not match:
            return 200, {}, {"errors": [], "warnings": [{"message": "Empty or missing yaml metadata in repo card"}]}
        try:
            meta = yaml.safe_load(match.group(1))
        except yaml.YAMLError as err:
            raise HubError(400, "Invalid YAML in README.md", extra={"errors": [{"message": f"Invalid YAML: {err}"}]})
        errors = _metadata_errors(meta, repo_type)
        if errors:
            raise HubError(400, "Invalid metadata in README.md", extra={"errors": [{"message": e} for e in errors]})
        return 200, {}, {"errors": [], "warnings": []}

    def _repo_info(self, repo_type, repo_id, revision, user, blobs: bool):
        with self.hub.lock:
            repo = self._readable(repo_type, repo_id, user)
            commit = self._commit_at(repo, revision)
            siblings = []
            for path, entry in sorted(commit.files.items()):
                sibling = {"rfilename": path}
                if blobs:
                    sibling.update(size=entry.size, blobId=entry.blob_oid)
                    if entry.lfs_sha256:
                        sibling["lfs"] = {"size": entry.size, "sha256": entry.lfs_sha256, "pointerSize": len(lfs_pointer(entry.lfs_sha256, entry.size))}
                siblings.append(sibling)
            card = commit.files.get("README.md")
            card_data = _front_matter(self.hub._content(card).decode("utf-8", "replace")) if card else None
        info = {
            "_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24],
            "id": repo_id,
            "author": repo.namespace,
            "sha": commit.oid,
            "lastModified": commit.date,
            "createdAt": repo.created_at,
            "private": repo.private,
            "disabled": False,
            "gated": False,
            "downloads": 0,
            "likes": 0,
            "tags": list((card_data or {}).get("tags") or []),
            "siblings": siblings,
        }
        if card_data is not None:
            info["cardData"] = card_data
        if repo_type == "model" and card_data:
            for key in ("library_name", "pipeline_tag"):
                if key in card_data:
                    info[key] = card_data[key]
        if repo_type == "space":
            info.update(sdk=repo.sdk, subdomain=repo_id.replace("/", "-").lower(), runtime={"stage": "BUILDING"})
        return 200, {}, info

    def _entry_json(self, path: str, entry: FileEntry) -> dict:
        item = {"type": "file", "oid": entry.blob_oid, "size": entry.size, "path": path}
        if entry.lfs_sha256:
            item["lfs"] = {"oid": entry.lfs_sha256, "size": entry.size, "pointerSize": len(lfs_pointer(entry.lfs_sha256, entry.size))}
        return item

    @staticmethod
    def _folder_json(path: str, files: dict[str, FileEntry]) -> dict:
        inside = sorted(f"{p}:{e.blob_oid}" for p, e in files.items() if p.startswith(path + "/"))
        return {"type": "directory", "oid": hashlib.sha1("\n".join(inside).encode()).hexdigest(), "size": 0, "path": path}

    def _tree(self, repo_type, repo_id, revision, path, recursive, user):
        with self.hub.lock:
            repo = self._readable(repo_type, repo_id, user)
            files = self._commit_at(repo, revision).files
            prefix = f"{path}/" if path else ""
            if path and not any(p.startswith(prefix) for p in files):
                raise HubError(404, f"Entry not found: {path}", "EntryNotFound")
            out, folders = [], set()
            for file_path in sorted(files):
                if not file_path.startswith(prefix):
                    continue
                rel = file_path[len(prefix):].split("/")
                for depth in range(1, len(rel)):
                    if recursive or depth == 1:
                        folders.add(prefix + "/".join(rel[:depth]))
                if recursive or len(rel) == 1:
                    out.append(self._entry_json(file_path, files[file_path]))
            out += [self._folder_json(f, files) for f in sorted(folders)]
        return 200, {}, out

    def _paths_info(self, repo_type, repo_id, revision, paths, user):
        with self.hub.lock:
            files = self._commit_at(self._readable(repo_type, repo_id, user), revision).files
            out = []
            for path in paths:
                if path in files:
                    out.append(self._entry_json(path, files[path]))
                elif any(p.startswith(path.rstrip("/") + "/") for p in files):
                    out.append(self._folder_json(path.rstrip("/"), files))
        return 200, {}, out

    def _preupload(self, repo_type, repo_id, revision, payload, user, create_pr):
        with self.hub.lock:
            repo = self._readable(repo_type, repo_id, user)
            if not create_pr:
                self._check_write(repo, user)
            elif user is None:
                raise HubError(401, "You must be authenticated to open a pull request")
            files = self._commit_at(repo, revision).files
            out = []
            for item in payload.get("files", []):
                sample = base64.b64decode(item.get("sample", ""))
                entry = files.get(item["path"])
                out.append({
                    "path": item["path"],
                    "uploadMode": hub_upload_mode(item["path"], int(item["size"]), sample, self._gitattributes(files)),
                    "shouldIgnore": False,
                    "oid": entry.oid_for_preupload if entry else None,
                })
        return 200, {}, {"files": out}

    def _commit(self, repo_type, repo_id, revision, body, user, create_pr):
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            raise HubError(400, "The first line of a commit payload must be its header")
        header = lines[0]["value"]
        if not header.get("summary"):
            raise HubError(400, "A commit needs a summary")
        with self.hub.lock:
            repo = self._readable(repo_type, repo_id, user)
            if create_pr:
                if user is None:
                    raise HubError(401, "You must be authenticated to open a pull request")
            else:
                self._check_write(repo, user)
            base = self._commit_at(repo, revision)
            if header.get("parentCommit") and not create_pr and not base.oid.startswith(header["parentCommit"]):
                raise HubError(412, "A commit has happened since. Please refresh and try again.")
            if header.get("parentCommit") and create_pr:
                base = self._commit_at(repo, header["parentCommit"])
            files = dict(base.files)
            for line in lines[1:]:  # build the whole new tree first: all or nothing
                key, value = line.get("key"), line.get("value", {})
                path = value.get("path", "")
                if not path or path.startswith("/") or ".." in path.split("/"):
                    raise HubError(400, f"Invalid path {path!r}")
                if key == "file":
                    content = base64.b64decode(value["content"])
                    if hub_upload_mode(path, len(content), content[:512], self._gitattributes(base.files)) == "lfs":
                        raise HubError(400, f"Your push was rejected because {path} must be stored with LFS (binary or larger than 10 MiB)")
                    files[path] = FileEntry(len(content), git_blob_oid(content))
                    self.hub.blobs[files[path].blob_oid] = content
                elif key == "lfsFile":
                    sha = value["oid"]
                    if sha not in repo.lfs_objects:
                        raise HubError(422, f"LFS object {sha} for {path} was never uploaded to {repo.repo_id}")
                    size = len(self.hub.lfs[sha])
                    files[path] = FileEntry(size, git_blob_oid(lfs_pointer(sha, size)), sha)
                elif key == "deletedFile":
                    if path not in files:
                        raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
                    del files[path]
                elif key == "deletedFolder":
                    folder = path.rstrip("/") + "/"
                    doomed = [p for p in files if p.startswith(folder)]
                    if not doomed:
                        raise HubError(404, f"A folder with this name doesn't exist: {path}", "EntryNotFound")
                    for p in doomed:
                        del files[p]
                else:
                    raise HubError(400, f"Unknown commit operation {key!r}")
            author = user.name if user else "anonymous"
            commit = self.hub._new_commit(repo, base, files, header["summary"], header.get("description", ""), author)
            pr_url = None
            if create_pr:
                number = len(repo.pull_requests) + 1
                repo.refs[f"refs/pr/{number}"] = commit.oid
                pr_url = f"{self._repo_url(repo_type, repo_id)}/discussions/{number}"
            else:
                repo.refs[revision] = commit.oid
        return 200, {}, {
            "success": True,
            "commitOid": commit.oid,
            "commitUrl": f"{self._repo_url(repo_type, repo_id)}/commit/{commit.oid}",
            "hookOutput": "",
            "pullRequestUrl": pr_url,
        }

    def _create_branch(self, repo_type, repo_id, branch, payload, user):
        with self.hub.lock:
            repo = self._readable(repo_type, repo_id, user)
            self._check_write(repo, user)
            if branch in repo.refs:
                raise HubError(409, f"Branch {branch} already exists")
            repo.refs[branch] = self._commit_at(repo, payload.get("startingPoint") or "main").oid
        return 200, {}, {}

    def _commits(self, repo_type, repo_id, revision, user):
        with self.hub.lock:
            repo = self._readable(repo_type, repo_id, user)
            self._commit_at(repo, revision)
            history = repo.history(revision)
        return 200, {}, [
            {"id": c.oid, "title": c.title, "message": c.message, "authors": [{"user": c.author}], "date": c.date}
            for c in history
        ]

    def _refs(self, repo_type, repo_id, user, include_prs: bool):
        with self.hub.lock:
            repo = self._readable(repo_type, repo_id, user)
            branches = [{"name": n, "ref": f"refs/heads/{n}", "targetCommit": o} for n, o in repo.refs.items() if not n.startswith("refs/")]
            prs = [{"name": r, "ref": r, "targetCommit": repo.refs[r]} for r in repo.pull_requests]
        out = {"branches": branches, "converts": [], "tags": []}
        if include_prs:
            out["pullRequests"] = prs
        return 200, {}, out

    # ---- LFS -------------------------------------------------------------------------------------
    def _lfs_batch(self, repo_type, repo_id, payload, user):
        if payload.get("operation") != "upload":
            raise HubError(400, "Only the upload operation is implemented")
        with self.hub.lock:
            repo = self._readable(repo_type, repo_id, user)
            if user is None:
                raise HubError(401, "You must be authenticated to upload")
            # uploads are allowed to any authenticated reader (they may be for a pull request);
            # the commit endpoint checks write access
            objects = []
            for obj in payload.get("objects", []):
                sha, size = obj["oid"], int(obj["size"])
                if sha in repo.lfs_objects and len(self.hub.lfs[sha]) == size:
                    objects.append({"oid": sha, "size": size})
                    continue
                signature = secrets.token_urlsafe(16)
                self.hub.upload_urls[signature] = (sha, size, repo)
                objects.append({
                    "oid": sha,
                    "size": size,
                    "authenticated": True,
                    "actions": {
                        "upload": {"href": f"{self.hub.cdn_url}/upload/{sha}?X-Signature={signature}"},
                        "verify": {"href": f"{self.hub.url}/{TYPE_PREFIX[repo_type]}{repo.repo_id}.git/info/lfs/objects/verify"},
                    },
                })
        return 200, {"Content-Type": "application/vnd.git-lfs+json"}, {"transfer": "basic", "objects": objects}

    def _lfs_verify(self, repo_type, repo_id, payload, user):
        with self.hub.lock:
            repo = self._readable(repo_type, repo_id, user)
            content = self.hub.lfs.get(payload.get("oid"))
            if payload.get("oid") not in repo.lfs_objects or content is None or len(content) != payload.get("size"):
                raise HubError(404, f"LFS object {payload.get('oid')} not found")
        return 200, {}, {}

    def _cdn(self, method, raw_path, query, body):
        if self.headers.get("Authorization"):
            with self.hub.lock:
                self.hub.cdn_auth_seen += 1
        parts = raw_path.strip("/").split("/")
        signature = query.get("X-Signature", [""])[0]
        if method == "PUT" and len(parts) == 2 and parts[0] == "upload":
            with self.hub.lock:
                expected = self.hub.upload_urls.get(signature)
                if expected is None or expected[0] != parts[1]:
                    raise HubError(403, "Invalid or expired signature")
                if hashlib.sha256(body).hexdigest() != parts[1] or len(body) != expected[1]:
                    raise HubError(400, "Uploaded content does not match the announced sha256/size")
                self.hub.lfs[parts[1]] = body
                expected[2].lfs_objects.add(parts[1])
                del self.hub.upload_urls[signature]
            return 200, {"ETag": f'"{hashlib.md5(body).hexdigest()}"'}, b""
        if method in ("GET", "HEAD") and len(parts) == 2 and parts[0] == "blob":
            with self.hub.lock:
                content = self.hub.lfs.get(parts[1])
            if content is None or signature != _download_signature(parts[1]):
                raise HubError(403, "Invalid or expired signature")
            return self._ranged(content, {"ETag": f'"{parts[1]}"'}, method)
        raise HubError(404, f"Not found on storage: {method} {raw_path}")

    # ---- downloads -------------------------------------------------------------------------------
    def _resolve(self, repo_type, repo_id, revision, path, user):
        with self.hub.lock:
            repo = self._readable(repo_type, repo_id, user)
            commit = self._commit_at(repo, revision)
            entry = commit.files.get(path)
            if entry is None:
                raise HubError(404, f"Entry not found: {path}", "EntryNotFound")
            headers = {"X-Repo-Commit": commit.oid, "Accept-Ranges": "bytes"}
            if entry.lfs_sha256:
                location = f"{self.hub.cdn_url}/blob/{entry.lfs_sha256}?X-Signature={_download_signature(entry.lfs_sha256)}"
                headers.update({
                    "Location": location,
                    "ETag": f'"{entry.blob_oid}"',
                    "X-Linked-Etag": f'"{entry.lfs_sha256}"',
                    "X-Linked-Size": entry.size,
                })
                return 302, headers, b""
            content = self.hub.blobs[entry.blob_oid]
        headers["ETag"] = f'"{entry.blob_oid}"'
        return self._ranged(content, headers, "GET")

    def _ranged(self, content: bytes, headers: dict, method: str):
        headers = {**headers, "Content-Type": "application/octet-stream"}
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if match:
            start = int(match.group(1))
            end = int(match.group(2)) if match.group(2) else len(content) - 1
            headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
            return 206, headers, content[start : end + 1]
        return 200, headers, content


def _fault_answer(status: int, role: str) -> tuple[object, dict]:
    """What an injected error looks like: the Hub answers JSON; the storage origin answers S3-style XML."""
    if role == "cdn":
        code, text = ("AccessDenied", "Access Denied") if status == 403 else ("InternalError", "We encountered an internal error. Please try again.")
        body = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{text}</Message></Error>'
        return body.encode(), {"Content-Type": "application/xml"}
    if status >= 500:
        return {"error": "Internal Error - We're working hard to fix this as soon as possible!"}, {}
    return {"error": f"Injected error {status}"}, {"X-Error-Message": f"Injected error {status}"}


def _download_signature(sha256: str) -> str:
    return hashlib.sha256(f"download:{sha256}".encode()).hexdigest()[:32]


def _front_matter(text: str) -> dict | None:
    import yaml

    match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", text, re.S)
    if not match:
        return None
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def _metadata_errors(meta, repo_type: str) -> list[str]:
    """A subset of the Hub's metadata validation: the parts a card or Space README can get wrong."""
    if not isinstance(meta, dict):
        return ["The YAML metadata must be a mapping"]
    errors = []
    if repo_type == "space":
        if meta.get("sdk") not in SPACE_SDKS:
            errors.append(f'"sdk" must be one of {list(SPACE_SDKS)}, got {meta.get("sdk")!r}')
        if "sdk_version" in meta and not isinstance(meta["sdk_version"], str):
            errors.append('"sdk_version" must be a string')
        if "app_file" in meta and not isinstance(meta["app_file"], str):
            errors.append('"app_file" must be a string')
    for key in ("models", "datasets", "tags"):
        value = meta.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)) and not isinstance(value, str):
            errors.append(f'"{key}" must be a string or a list of strings')
    index = meta.get("model-index")
    if index is not None:
        if not isinstance(index, list):
            return errors + ['"model-index" must be a list']
        for i, model in enumerate(index):
            if not isinstance(model, dict) or not model.get("name"):
                errors.append(f'"model-index[{i}].name" is required')
                continue
            for j, result in enumerate(model.get("results") or []):
                where = f"model-index[{i}].results[{j}]"
                if not isinstance((result.get("task") or {}).get("type"), str):
                    errors.append(f'"{where}.task.type" is required')
                dataset = result.get("dataset") or {}
                if not (isinstance(dataset.get("name"), str) and isinstance(dataset.get("type"), str)):
                    errors.append(f'"{where}.dataset.name" and ".type" are required')
                for k, metric in enumerate(result.get("metrics") or []):
                    if not isinstance(metric.get("type"), str) or "value" not in metric:
                        errors.append(f'"{where}.metrics[{k}]" needs "type" and "value"')
    return errors


if __name__ == "__main__":
    import sys

    with HubServer() as server:
        user = sys.argv[1] if len(sys.argv) > 1 else "alice"
        token = server.add_user(user)
        print(f"HF_ENDPOINT={server.url} HF_TOKEN={token} HF_HUB_DISABLE_XET=1 HF_HUB_DISABLE_TELEMETRY=1")
        print("Ctrl-C to stop", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
