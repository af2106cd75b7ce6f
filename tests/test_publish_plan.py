"""The tree `nerkit push`/`publish-space` would send, computed offline: what goes in, what stays
out, local paths, tokens, LFS predictions, the Space files. No server needed."""

from __future__ import annotations

import ast
import json
import os
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

from conftest import REPO_ROOT
from hub_fixtures import NEVER_PUSHED, PUSHED, fake_token, fresh_run, run_folder  # noqa: F401 - fixtures
from toolkit.hub.errors import scrub
from toolkit.hub.model_folder import plan_model_folder
from toolkit.hub.plan import format_plan, predict_lfs, write_tree
from nercore.strategies import PIPELINE_STRATEGY_NAMES
from toolkit.hub.space_bundle import GENERATED_APP, plan_space, with_default_model
from toolkit.ids import check_repo_id
from toolkit.runtime import process_rank
from nercore.errors import UserError


def test_plan_keeps_the_model_and_reports_and_leaves_out_leftovers(run_folder):
    plan = plan_model_folder(run_folder)
    assert {f.path for f in plan.files} == PUSHED
    excluded = dict(plan.excluded)
    for path in NEVER_PUSHED:
        assert path in excluded, path
    assert "evaluation-set" in excluded["predictions_test.conll"]
    assert excluded["checkpoints/"] == "training checkpoints"
    listing = format_plan(plan, "heading")
    assert "model.safetensors" in listing and "LFS (*.safetensors)" in listing
    assert "checkpoints/  (training checkpoints)" in listing


def test_plan_rewrites_local_paths(fresh_run):
    plan = plan_model_folder(fresh_run)
    assert set(plan.rewritten) >= {"training_args.json", "run_info.json", "eval_results.json"}
    local = [str(fresh_run.resolve()), str(fresh_run.parent.resolve()), str(Path.home()), "/opt/models"]
    for planned in plan.files:
        if planned.path.endswith((".json", ".md")):
            text = planned.read().decode()
            for prefix in local:
                assert prefix not in text, (planned.path, prefix)
    args = json.loads(plan.file("training_args.json").read())
    assert args["config"]["output_dir"] == "."
    assert args["trainer"]["logging_dir"] == "./runs/Nov22"
    assert args["config"]["model"] == ".../models/bert-tiny"  # an absolute path elsewhere keeps its last two parts
    command = json.loads(plan.file("run_info.json").read())["command"]
    # toolkit.paths: the run folder is ".", any other absolute path (home ones too) its last two parts
    assert command == "nerkit train --model .../models/bert-tiny --dataset .../conll2003/train.txt --output-dir ."
    # the folder itself is never touched
    assert str(fresh_run.resolve()) in (fresh_run / "training_args.json").read_text()
    # untouched files are read from disk, not copied into memory
    assert plan.file("model.safetensors").source == fresh_run / "model.safetensors"


def test_the_bundled_model_can_move_to_any_repo(tmp_path):
    """Issue 18: `nerkit push <copy of ./model> --repo-id someuser/my-ner` was refused because the card no
    longer matched a render from the folder's path-rewritten run files."""
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(REPO_ROOT / "model", copy, ignore=shutil.ignore_patterns("onnx"))
    plan = plan_model_folder(copy, repo_id="someuser/my-ner")
    card = plan.file("README.md").read().decode()
    assert 'model="someuser/my-ner"' in card and "nerkit/minilm-l6-conll2003" not in card
    assert any(note.startswith("README.md: re-rendered for someuser/my-ner") for note in plan.notes)


def test_lfs_prediction_follows_the_hub_rules():
    assert predict_lfs("model.safetensors", 10, b"{}") == "*.safetensors"
    assert predict_lfs("pytorch_model.bin", 10, b"x") == "*.bin"
    assert predict_lfs("runs/events.out.tfevents.1", 10, b"x") == "*tfevents*"
    assert predict_lfs("per_entity_f1.png", 30_000, b"\x89PNG\r\n\x1a\n\0\0") is None
    assert predict_lfs("big.png", 150_000, b"\x89PNG\r\n\x1a\n\0\0") == "binary >= 100 kB"
    assert predict_lfs("vocab.txt", 200_000, b"hello world") is None
    assert predict_lfs("tokenizer.json", 11 * 1024 * 1024, b"{") == ">= 10 MiB"
    # a multi-byte UTF-8 character cut by the end of the 512-byte sample is still text
    assert predict_lfs("notes.md", 200_000, ("é" * 300).encode()[:512]) is None


@pytest.mark.parametrize(
    "remove, expected",
    [
        ("README.md", "nerkit card"),
        ("config.json", "no config.json"),
        ("model.safetensors", "no weights"),
        ("tokenizer.json tokenizer_config.json", "no tokenizer files"),
    ],
)
def test_incomplete_folders_are_refused(fresh_run, remove, expected):
    for name in remove.split():
        (fresh_run / name).unlink()
    with pytest.raises(UserError, match=expected):
        plan_model_folder(fresh_run)


def test_bad_card_yaml_is_refused_with_its_line(fresh_run):
    (fresh_run / "README.md").write_text("---\nlicense: mit\ntags: [ner\n---\n# card\n")
    with pytest.raises(UserError, match=r"README.md line \d+, column \d+: the YAML metadata does not parse"):
        plan_model_folder(fresh_run)


def test_missing_folder_and_bad_repo_id(tmp_path):
    with pytest.raises(UserError, match="no such folder"):
        plan_model_folder(tmp_path / "nope")
    for bad in ("noslash", "a/b/c", "alice/", "alice/bad name", "alice/a--b"):
        with pytest.raises(UserError, match="expected NAMESPACE/NAME"):
            check_repo_id(bad)
    assert check_repo_id("alice/bert-conll.v2") == "alice/bert-conll.v2"


def test_a_token_in_the_tree_stops_the_dry_run(fresh_run, tmp_path, monkeypatch):
    token = fake_token()
    monkeypatch.setenv("HF_TOKEN", token)
    (fresh_run / "training_log.json").write_text(json.dumps({"note": f"token={token}"}))
    plan = plan_model_folder(fresh_run)
    with pytest.raises(UserError, match="contains your Hugging Face token") as err:
        write_tree(plan, tmp_path / "preview")
    assert token not in str(err.value)
    assert not (tmp_path / "preview").exists(), "nothing is written"
    # someone else's token (or any hf_... secret) is refused too
    monkeypatch.setenv("HF_TOKEN", fake_token())
    with pytest.raises(UserError, match="looks like a Hugging Face token"):
        write_tree(plan_model_folder(fresh_run), tmp_path / "preview")


def test_write_tree_writes_exactly_the_plan(run_folder, tmp_path):
    plan = plan_model_folder(run_folder)
    dest = write_tree(plan, tmp_path / "preview")
    written = {p.relative_to(dest).as_posix(): p.read_bytes() for p in dest.rglob("*") if p.is_file()}
    assert written == {f.path: f.read() for f in plan.files}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no staging folder left behind"
    with pytest.raises(UserError, match="not empty"):
        write_tree(plan, dest)
    with pytest.raises(UserError, match="inside the folder being published"):
        write_tree(plan, run_folder / "preview")


def test_process_rank(monkeypatch):
    for var in ("RANK", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    assert process_rank() == 0
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert process_rank() == 1
    monkeypatch.setenv("RANK", "0")  # the global rank wins over the rank within a node
    assert process_rank() == 0
    monkeypatch.setenv("RANK", "x")
    with pytest.raises(UserError, match="RANK='x'"):
        process_rank()


def test_scrub_hides_tokens():
    token = fake_token()
    assert scrub(f"401 for Bearer {token}", token) == "401 for Bearer hf_***"
    assert scrub(f"other {fake_token()} here", None) == "other hf_*** here"
    assert scrub("nothing secret", token) == "nothing secret"


# ---- the Space -------------------------------------------------------------------------------------
def test_space_plan_holds_app_package_requirements_and_yaml():
    plan = plan_space("alice/tiny-ner")
    paths = {f.path for f in plan.files}
    assert {"app.py", "requirements.txt", "README.md"} <= paths
    local_modules = {p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / "space").glob("*.py")}
    assert local_modules and local_modules <= paths
    assert not any("__pycache__" in p for p in paths)
    assert (REPO_ROOT / "space" / "requirements.txt").is_file()  # the checkout's own, for running space/ by hand…
    assert [p for p in paths if p.endswith("requirements.txt")] == ["requirements.txt"]  # …is not shipped beside it
    meta = yaml.safe_load(plan.file("README.md").read().decode().split("---")[1])
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py" and meta["models"] == ["alice/tiny-ner"]
    assert meta["sdk_version"] == version("gradio")
    assert len(meta["short_description"]) <= 60
    requirements = plan.file("requirements.txt").read().decode().splitlines()
    major = version("gradio").split(".")[0]
    assert f"gradio>={major}.0,<{int(major) + 1}" in requirements
    assert any(r.startswith("transformers>=") for r in requirements)
    assert "mcp>=1.21,<2" in requirements, "Gradio's MCP server (app.py launches with mcp_server=True)"
    assert "onnxruntime>=1.17" in requirements, "ONNX on CPU when the model ships onnx/"
    assert [r.split(">")[0] for r in requirements].count("onnxruntime") == 1, "not listed again from space/'s imports"
    readme = plan.file("README.md").read().decode()
    names = " / ".join(PIPELINE_STRATEGY_NAMES)
    assert f"the {len(PIPELINE_STRATEGY_NAMES)} `pipeline` aggregation strategies ({names}) side by side" in readme
    assert "plus nerkit's `word` view" in readme
    assert meta["python_version"] == f"{sys.version_info.major}.{sys.version_info.minor}", "the Python tested here"
    app = plan.file("app.py").read().decode()
    assert 'os.environ.setdefault("NER_MODEL", "alice/tiny-ner")' in app
    ast.parse(app)
    original = (REPO_ROOT / "app.py").read_text()
    added = [line for line in app.splitlines() if line not in original.splitlines()]
    # the prelude: `import os` (unless app.py has it), two comment lines, the setdefault; the rest is the checkout's
    expected = [] if "import os" in original.splitlines() else ["import os"]
    assert added[:-3] == expected and added[-1] == 'os.environ.setdefault("NER_MODEL", "alice/tiny-ner")', added


@pytest.mark.parametrize("hardware", ["cpu", "gpu"])
def test_space_requirements_install_the_tested_torch_build_for_the_hardware(hardware):
    """CPU hardware gets PyTorch's CPU wheels (no CUDA build, no ~3 GB of nvidia wheels); GPU the default build."""
    plan = plan_space("alice/tiny-ner", hardware=hardware)
    requirements = plan.file("requirements.txt").read().decode().splitlines()
    torch_pin = f"torch=={version('torch').split('+')[0]}"
    assert torch_pin in requirements
    cpu_index = "--extra-index-url https://download.pytorch.org/whl/cpu"
    if hardware == "cpu":
        assert requirements.index(cpu_index) < requirements.index(torch_pin)
    else:
        assert not [r for r in requirements if "download.pytorch.org" in r]
    meta = yaml.safe_load(plan.file("README.md").read().decode().split("---")[1])
    assert meta["suggested_hardware"] == {"cpu": "cpu-basic", "gpu": "t4-small"}[hardware]
    assert meta["sdk_version"] == version("gradio")
    assert meta["python_version"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    with pytest.raises(UserError, match="--hardware tpu: expected one of cpu, gpu"):
        plan_space("alice/tiny-ner", hardware="tpu")


def test_default_model_goes_after_docstring_and_future_imports():
    source = '"""Doc."""\nfrom __future__ import annotations\n\nimport gradio\n'
    out = with_default_model(source, "a/b")
    body = ast.parse(out).body
    assert isinstance(body[0], ast.Expr) and body[1].module == "__future__"
    assert ast.unparse(body[3]) == "os.environ.setdefault('NER_MODEL', 'a/b')"
    assert with_default_model("import gradio\n", "a/b").startswith("\nimport os\n")


def test_space_code_importing_toolkit_is_refused(tmp_path):
    (tmp_path / "space").mkdir()
    (tmp_path / "space" / "__init__.py").write_text("")
    (tmp_path / "nercore").mkdir()
    (tmp_path / "nercore" / "__init__.py").write_text("")
    (tmp_path / "space" / "ui.py").write_text("import os\nfrom toolkit import publish\n")
    (tmp_path / "app.py").write_text("from space.ui import build_demo\n")
    with pytest.raises(UserError, match=r"ui.py line 2: imports `toolkit`"):
        plan_space("alice/x", source_dir=tmp_path)


def test_space_plan_without_app_py_generates_one(tmp_path, caplog):
    (tmp_path / "space").mkdir()
    (tmp_path / "space" / "__init__.py").write_text("")
    (tmp_path / "nercore").mkdir()
    (tmp_path / "nercore" / "__init__.py").write_text("")
    plan = plan_space("alice/x", source_dir=tmp_path)
    app = plan.file("app.py").read().decode()
    assert "from space.app import demo, main" in app and '"NER_MODEL", "alice/x"' in app
    assert "app.py not found" in caplog.text
    with pytest.raises(UserError, match="no Python files"):
        plan_space("alice/x", source_dir=tmp_path / "nothing")
    with pytest.raises(UserError, match="--model: expected NAMESPACE/NAME"):
        plan_space("./local-folder", source_dir=tmp_path)


def test_generated_app_does_what_the_checkouts_app_does():
    """For an install without app.py: the same code as app.py (analytics off, limits, MCP server), docstring aside."""
    def code(source: str) -> str:
        body = ast.parse(source).body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]
        return "\n".join(ast.unparse(node) for node in body)

    assert code(GENERATED_APP) == code((REPO_ROOT / "app.py").read_text(encoding="utf-8"))


def test_space_requirements_add_other_third_party_imports(tmp_path):
    (tmp_path / "nercore").mkdir()
    (tmp_path / "nercore" / "__init__.py").write_text("")
    (tmp_path / "space").mkdir()
    (tmp_path / "space" / "__init__.py").write_text("import json\nimport yaml\nimport seqeval.metrics\n")
    plan = plan_space("alice/x", source_dir=tmp_path)
    requirements = plan.file("requirements.txt").read().decode()
    assert f"seqeval>={version('seqeval')}" in requirements
    assert "PyYAML" not in requirements  # comes with huggingface_hub/transformers


def test_environment_is_untouched_by_planning(run_folder):
    before = dict(os.environ)
    plan_model_folder(run_folder)
    plan_space("alice/x")
    assert dict(os.environ) == before


def test_dry_run_push_sends_onnx_unless_no_onnx(fresh_run, tmp_path, capsys):
    from toolkit.cli import main

    onnx = fresh_run / "onnx"
    onnx.mkdir()
    (onnx / "model.onnx").write_bytes(b"\x08\x07\x12\x00" + os.urandom(150_000))
    (onnx / "model_quantized.onnx").write_bytes(b"\x08\x07\x12\x00" + os.urandom(50_000))
    plan = plan_model_folder(fresh_run)
    assert {"onnx/model.onnx", "onnx/model_quantized.onnx"} <= {f.path for f in plan.files}
    assert all(plan.file(p).lfs for p in ("onnx/model.onnx", "onnx/model_quantized.onnx"))

    assert main(["push", str(fresh_run), "--repo-id", "a/b", "--dry-run", str(tmp_path / "with")]) == 0
    listing = capsys.readouterr().out
    assert "onnx/model.onnx" in listing and "onnx/model_quantized.onnx" in listing and "LFS (*.onnx)" in listing
    assert (tmp_path / "with" / "onnx" / "model.onnx").read_bytes() == (onnx / "model.onnx").read_bytes()

    assert main(["push", str(fresh_run), "--repo-id", "a/b", "--no-onnx", "--dry-run", str(tmp_path / "without")]) == 0
    listing = capsys.readouterr().out
    kept = listing.split("Left out:")[0]
    assert "onnx/" not in kept and "onnx/model.onnx  (--no-onnx)" in listing
    assert not (tmp_path / "without" / "onnx").exists() and (tmp_path / "without" / "model.safetensors").is_file()
