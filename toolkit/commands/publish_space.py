"""`nerkit publish-space`: package the Gradio app as a Hub Space that loads a given model."""

from __future__ import annotations

import argparse

from toolkit.commands._hub_args import add_hub_arguments, hub_options
from toolkit.commands._parser import add_command

DESCRIPTION = """\
Create (or update) a Gradio Space repo holding app.py (set to load MODEL by default; a
NER_MODEL variable in the Space settings overrides it), the space/ package, requirements.txt
and a README.md with the Space metadata (sdk: gradio, sdk_version = the installed gradio,
app_file: app.py, python_version = this Python, models: [MODEL]). All files go in one commit;
an unchanged Space makes no commit. On --hardware cpu (the default, free hardware) requirements.txt
installs PyTorch's CPU build from its CPU wheel index; --hardware gpu installs the default CUDA build.
requirements.txt also installs mcp (the app launches with Gradio's MCP server on) and onnxruntime
(the Space runs the model on ONNX Runtime on CPU when the model repo ships onnx/ from `nerkit export`).
"""

EXAMPLES = """\
examples:
  nerkit publish-space --repo-id alice/bert-conll-demo --model alice/bert-conll
  nerkit publish-space --repo-id alice/bert-conll-demo --model alice/bert-conll --private
  nerkit publish-space --repo-id alice/bert-conll-demo --model alice/bert-conll --dry-run /tmp/space-preview
  nerkit publish-space --repo-id alice/demo --model alice/bert-conll --source-dir ~/src/nerkit
  nerkit publish-space --repo-id alice/demo-gpu --model alice/bert-conll --hardware gpu
"""


def register(subparsers) -> None:
    parser = add_command(subparsers, "publish-space", help="package the Gradio app as a Hub Space for a model",
                         description=DESCRIPTION, epilog=EXAMPLES, func=run)
    parser.add_argument("--model", required=True, metavar="USER/NAME",
                        help="Hub model the Space loads by default, e.g. alice/bert-conll")
    parser.add_argument("--title", default=None, help="Space title (default: '<model name> NER demo')")
    parser.add_argument("--source-dir", default=None, metavar="DIR",
                        help="folder holding app.py and space/ (default: the installed nerkit)")
    parser.add_argument("--hardware", default="cpu", choices=["cpu", "gpu"],
                        help="hardware the Space runs on: cpu installs PyTorch's CPU build (default: cpu)")
    add_hub_arguments(parser, repo_kind="Space")


def run(args: argparse.Namespace) -> int:
    from toolkit.hub.push import publish_space

    return publish_space(args.model, hub_options(args), source_dir=args.source_dir, title=args.title,
                         hardware=args.hardware)
