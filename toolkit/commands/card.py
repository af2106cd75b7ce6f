"""`nerkit card`: write the model card (README.md + F1 chart) into a trained, evaluated run folder."""

from __future__ import annotations

import argparse

from toolkit.commands._parser import add_command

EXAMPLES = """\
examples:
  # after `nerkit train ... --output-dir runs/bert-conll` and `nerkit evaluate --model runs/bert-conll ...`
  nerkit card runs/bert-conll

  # name the Hub repo (used in the usage snippet and model-index) and the licence
  nerkit card runs/bert-conll --repo-id USER/bert-conll --license apache-2.0

  # trained from a local folder: link the Hub id of that base model in the card's metadata
  nerkit card runs/minilm --base-model sentence-transformers/all-MiniLM-L6-v2

The card is rebuilt from the JSON files in the folder only (eval_results.json is required;
training_log.json, data_info.json, run_info.json ... add their sections when present), with no
network access. Sections without data are left out with a warning.
"""


DESCRIPTION = (
    "Render the model card (README.md and its charts: per_entity_f1.png, confusion_matrix.png, "
    "reliability.png) of a run folder from its evaluation and training records."
)


def register(subparsers) -> None:
    parser = add_command(subparsers, "card", help="write README.md (the model card) into a run folder",
                         description=DESCRIPTION, epilog=EXAMPLES, func=run)
    parser.add_argument("output_dir", metavar="OUTPUT_DIR", help="the run folder (the --output-dir of `nerkit train`)")
    parser.add_argument(
        "--repo-id", default=None, help="Hub repo id USER/NAME shown in the usage snippet (default: the folder's name)"
    )
    parser.add_argument("--language", default="en", help="language code(s) of the data, comma-separated (default: en)")
    parser.add_argument("--license", default=None, help="licence id for the model, e.g. apache-2.0, mit, other")
    parser.add_argument(
        "--base-model",
        default=None,
        metavar="HUB_ID",
        help="Hub id of the base model, when training started from a local folder",
    )
    parser.add_argument(
        "--widget-text",
        dest="widget_texts",
        action="append",
        default=None,
        metavar="TEXT",
        help="a widget example (repeatable); replaces the sentences picked from the evaluated split, "
        "e.g. when the data's licence does not allow quoting it",
    )


def run(args: argparse.Namespace) -> int:
    from dataclasses import fields

    from toolkit.card import CardOptions, build_card

    # Each flag's dest is a CardOptions field, so a new option is one field plus one flag.
    rendered = build_card(args.output_dir, CardOptions(**{f.name: getattr(args, f.name) for f in fields(CardOptions)}))
    readme = rendered.write(args.output_dir)
    charts = [name for name, png in rendered.images.items() if png is not None]
    chart = "".join(f" and {name}" for name in charts)
    left_out = f" ({len(rendered.warnings)} warning(s) above)" if rendered.warnings else ""
    print(f"wrote {readme}{chart}{left_out}")
    return 0
