"""Fixtures for the publish tests: a Hub-compatible server, its users, a run folder to push, and
runners that start `nerkit` (or any client code) in a subprocess pointed at the server.

Why subprocesses: huggingface_hub reads HF_ENDPOINT (and HF_HUB_DISABLE_XET, HF_HUB_OFFLINE, ...)
once, at import time, and other test files import it first in this process. A fresh process per
CLI call gets a clean environment: the test server as endpoint, a temporary HF_HOME (no stored
login, no cache from the machine), and no torchrun variables.

Import the fixtures you use into the test module: `from hub_fixtures import hub, nerkit, ...`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import string
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import REPO_ROOT
from hub_server import HubServer
from tiny_models import CONLL_LABELS

CLEARED_ENV_PREFIXES = ("HF_", "HUGGING_FACE_", "HUGGINGFACE_")
CLEARED_ENV = {"RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
               "TRANSFORMERS_OFFLINE", "DO_NOT_TRACK", "DISABLE_TELEMETRY"}


def fake_token() -> str:
    """Shaped like a real user access token: hf_ + 34 letters and digits."""
    alphabet = string.ascii_letters + string.digits
    return "hf_" + "".join(secrets.choice(alphabet) for _ in range(34))


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Users:
    alice: str  # write token; member of org "acme"
    bob: str  # write token
    reader: str  # read-only token of user "carol"


@pytest.fixture(scope="session")
def hub_server():
    server = HubServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def hub_users(hub_server) -> Users:
    return Users(
        alice=hub_server.add_user("alice", orgs=("acme",), token=fake_token()),
        bob=hub_server.add_user("bob", token=fake_token()),
        reader=hub_server.add_user("carol", role="read", token=fake_token()),
    )


@pytest.fixture
def hub(hub_server, hub_users):
    """The session's server with no faults armed; fails the test if the server hit a bug of its own."""
    hub_server.clear_faults()
    yield hub_server
    hub_server.clear_faults()
    unhandled, hub_server.unhandled[:] = list(hub_server.unhandled), []
    assert not unhandled, f"test Hub server errors: {unhandled}"


def client_env(hub: HubServer | None, hf_home: Path, token: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLEARED_ENV_PREFIXES) and k not in CLEARED_ENV}
    env.update(
        PYTHONPATH=os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        HF_ENDPOINT=hub.url if hub else "http://127.0.0.1:9",  # port 9 (discard): nothing answers
        HF_HUB_DISABLE_XET="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_UPDATE_CHECK="1",
        HF_HOME=str(hf_home),
        PYTHONUNBUFFERED="1",
        OMP_NUM_THREADS="1",
    )
    if token:
        env["HF_TOKEN"] = token
    env.update(extra)
    return env


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


# `nerkit` with huggingface_hub's retry back-off (1, 2, 4, 8, 8 s) not sleeping, for fault tests that exhaust
# its 5 retries. Only the waiting changes: every request and retry still happens.
NO_BACKOFF = """
import sys, time, types
import huggingface_hub.utils._http as http
http.time = types.SimpleNamespace(**{**{n: getattr(time, n) for n in dir(time) if not n.startswith("_")},
                                     "sleep": lambda seconds: None})
from toolkit.cli import main
sys.exit(main(sys.argv[1:]))
"""


class Nerkit:
    """`nerkit ...` in a subprocess against the test server, with HF_HOME in a temporary folder."""

    def __init__(self, hub: HubServer, hf_home: Path, cwd: Path, token: str | None):
        self.hub, self.hf_home, self.cwd, self.token = hub, hf_home, cwd, token

    def __call__(self, *args: str, token: str | None | bool = True, timeout: float = 300, hub=True,
                 no_backoff: bool = False, **env: str) -> Run:
        token = self.token if token is True else (token or None)
        environ = client_env(self.hub if hub else None, self.hf_home, token, **env)
        entry = ["-c", NO_BACKOFF] if no_backoff else ["-m", "toolkit.cli"]
        proc = subprocess.run([sys.executable, *entry, *map(str, args)], cwd=self.cwd, env=environ,
                              capture_output=True, text=True, timeout=timeout)
        return Run(proc.returncode, proc.stdout, proc.stderr)

    def python(self, code: str, *, token: str | None | bool = True, timeout: float = 300, cwd: Path | None = None,
               **env: str) -> dict:
        """Run client code (real huggingface_hub/transformers) in a subprocess; it prints one JSON line last."""
        token = self.token if token is True else (token or None)
        proc = subprocess.run([sys.executable, "-c", code], cwd=cwd or self.cwd,
                              env=client_env(self.hub, self.hf_home, token, **env),
                              capture_output=True, text=True, timeout=timeout)
        assert proc.returncode == 0, f"client code failed:\n{proc.stdout}\n{proc.stderr}"
        return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture
def nerkit(hub, hub_users, tmp_path) -> Nerkit:
    hf_home = tmp_path / "hf-home"
    hf_home.mkdir()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    return Nerkit(hub, hf_home, cwd, hub_users.alice)


# ---- a run folder, as training + evaluation + card leave it ---------------------------------------
PER_TYPE = {
    "LOC": {"precision": 0.9123, "recall": 0.8877, "f1": 0.8998, "support": 1668},
    "MISC": {"precision": 0.7012, "recall": 0.7244, "f1": 0.7126, "support": 702},
    "ORG": {"precision": 0.8431, "recall": 0.8598, "f1": 0.8514, "support": 1661},
    "PER": {"precision": 0.9502, "recall": 0.9611, "f1": 0.9556, "support": 1617},
}


def card_text(eval_results: dict, repo_name: str = "tiny-ner") -> str:
    import yaml

    per_type = eval_results["modes"]["default"]["per_type"]
    dataset = {"name": "CoNLL-2003", "type": "eriktks/conll2003", "split": "test"}
    results = [{
        "task": {"type": "token-classification", "name": "Token Classification"},
        "dataset": dataset,
        "metrics": [{"type": key, "value": eval_results["overall"][key], "name": key.title()}
                    for key in ("precision", "recall", "f1", "accuracy")],
    }]
    for entity, scores in sorted(per_type.items()):
        results.append({
            "task": {"type": "token-classification", "name": "Token Classification"},
            "dataset": dataset,
            "metrics": [{"type": key, "value": scores[key], "name": f"{entity} {key}", "config": entity}
                        for key in ("precision", "recall", "f1")],
        })
    meta = {"library_name": "transformers", "pipeline_tag": "token-classification", "license": "apache-2.0",
            "tags": ["token-classification", "ner"], "model-index": [{"name": repo_name, "results": results}]}
    return f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n\n# {repo_name}\n\n![per-entity F1](per_entity_f1.png)\n"


def build_run_folder(model_dir: Path, out: Path) -> Path:
    """A complete output folder around a tiny model, with the leftovers a real run leaves behind.

    Its card is rendered by `nerkit card` without --repo-id, so every push to a repo re-renders it.
    """
    shutil.copytree(model_dir, out)
    absolute = str(out.resolve())
    home_data = str(Path.home() / "data" / "conll2003" / "train.txt")
    (out / "labels.json").write_text(json.dumps({"labels": CONLL_LABELS, "label_column": "ner_tags",
                                                 "scheme": "IOB2", "source_scheme": "IOB1"}))
    (out / "data_info.json").write_text(json.dumps({
        "source": {"kind": "conll", "name": "conll2003", "files": {"train": {"path": "train.txt", "bytes": 3283418}}},
        "labels": CONLL_LABELS, "scheme": "IOB2", "splits": {"train": {"sentences": 40}},
    }, indent=2))
    (out / "training_args.json").write_text(json.dumps({
        "config": {"model": "/opt/models/bert-tiny", "output_dir": absolute, "learning_rate": 5e-4},
        "trainer": {"output_dir": f"{absolute}/checkpoints", "logging_dir": f"{absolute}/runs/Nov22",
                    "hub_token": "<HUB_TOKEN>", "seed": 1},
    }, indent=2))
    (out / "training_log.json").write_text(json.dumps({"epochs": [{"epoch": 1, "eval_f1": 0.5}], "best_epoch": 1}))
    (out / "run_info.json").write_text(json.dumps({
        "command": f"nerkit train --model /opt/models/bert-tiny --dataset {home_data} --output-dir {absolute}",
        "seed": 1, "hardware": {"device": "cpu"}, "versions": {"nerkit": "0.1.0"},
    }, indent=2))
    eval_results = {
        "schema_version": 1, "model": absolute, "split": "test", "task": "entities", "num_sentences": 40,
        "overall": {"precision": 0.8811, "recall": 0.8843, "f1": 0.8827, "accuracy": 0.9781},
        "modes": {"default": {"per_type": PER_TYPE,
                              "micro avg": {"precision": 0.8811, "recall": 0.8843, "f1": 0.8827, "support": 5648},
                              "macro avg": {"precision": 0.8517, "recall": 0.8583, "f1": 0.8549, "support": 5648}}},
    }
    (out / "eval_results.json").write_text(json.dumps(eval_results, indent=2))
    (out / "predictions_test.conll").write_text("EU B-ORG B-ORG\nrejects O O\n\n")
    (out / "errors_test.txt").write_text("# EU rejects German call\n")
    render_card_for(out)  # README.md + per_entity_f1.png, rendered without --repo-id
    # training leftovers that must never be pushed
    checkpoint = out / "checkpoints" / "checkpoint-10"
    checkpoint.mkdir(parents=True)
    shutil.copy(out / "model.safetensors", checkpoint / "model.safetensors")
    (checkpoint / "optimizer.pt").write_bytes(os.urandom(2048))
    (checkpoint / "trainer_state.json").write_text(json.dumps({"best_model_checkpoint": str(checkpoint)}))
    (out / "training_args.bin").write_bytes(b"\x80\x04pickled" + absolute.encode())
    (out / "runs").mkdir()
    (out / "runs" / "events.out.tfevents.1700000000.host").write_bytes(os.urandom(512))
    (out / ".cache").mkdir()
    (out / ".cache" / "notes.txt").write_text("local cache")
    return out


@pytest.fixture(scope="session")
def run_folder(tiny_bert, tmp_path_factory) -> Path:
    """A read-only run folder; copy it (`fresh_run`) before changing anything in it."""
    return build_run_folder(tiny_bert, tmp_path_factory.mktemp("runs") / "tiny-ner")


@pytest.fixture
def fresh_run(run_folder, tmp_path) -> Path:
    """A private copy of the run folder (local paths inside it point at the copy)."""
    out = tmp_path / "run" / "tiny-ner"
    out.parent.mkdir()
    shutil.copytree(run_folder, out)
    for name in ("training_args.json", "run_info.json", "eval_results.json"):
        path = out / name
        path.write_text(path.read_text().replace(str(run_folder.resolve()), str(out.resolve())))
    render_card_for(out)  # the card quotes the recorded command, whose paths now point at the copy
    return out


def render_card_for(folder: Path, repo_id: str | None = None) -> None:
    """`nerkit card FOLDER [--repo-id REPO]` as the fixture renders it, quietly."""
    import logging

    from toolkit.card import CardOptions, render_card

    logger = logging.getLogger("toolkit")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        render_card(folder, CardOptions(repo_id=repo_id, license="apache-2.0"))
    finally:
        logger.setLevel(level)


# Pushed files a run folder must hold / must never hold.
PUSHED = {"README.md", "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
          "labels.json", "data_info.json", "training_args.json", "training_log.json", "run_info.json",
          "eval_results.json", "per_entity_f1.png"}
NEVER_PUSHED = ("checkpoints/", "training_args.bin", "predictions_test.conll", "errors_test.txt", "runs/", ".cache/")
