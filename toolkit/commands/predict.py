"""`nerkit predict`: run a token-classification model over a corpus and write JSON Lines."""

from __future__ import annotations

import argparse

from toolkit.commands._parser import add_command

EXAMPLES = """\
examples:
  # plain text, one document per line; the "first" strategy
  nerkit predict --model runs/bert-conll --input corpus.txt --output corpus.ner.jsonl
  # every strategy (the pipeline's five and any nerkit view) from one forward pass per text
  nerkit predict --model runs/bert-conll --input corpus.txt --output out.jsonl --strategies all
  # JSON Lines whose text sits in "body"; ids from "doc_id" are copied into the records
  nerkit predict --model dslim/bert-base-NER --input news.jsonl --text-field body --id-field doc_id \\
      --output news.ner.jsonl --strategies first,max
  # only the entities the model is sure of (precision over recall)
  nerkit predict --model runs/bert-conll --input corpus.txt --output confident.jsonl --min-score 0.9
  # pre-annotations to correct in Label Studio (import tasks.json; regions sorted by score there)
  nerkit predict --model runs/my-ner --input corpus.txt --output tasks.json --to label-studio
  # ... or for doccano (JSONL import) or Prodigy (ner.manual / db-in); one strategy each
  nerkit predict --model runs/my-ner --input corpus.txt --output doccano.jsonl --to doccano --min-score 0.5
  # CoNLL column files: each sentence's tokens joined with spaces
  nerkit predict --model runs/bert-conll --input ../shared/data/conll2003/test.txt --output test.jsonl
  # a save_to_disk folder or a Hub dataset: a text column, or a tokens column joined with spaces
  nerkit predict --model runs/bert-conll --input conll2003 --split test --output test.jsonl
  # interrupted? the same command with --resume continues after the last complete record
  nerkit predict --model runs/bert-conll --input corpus.txt --output corpus.ner.jsonl --resume
  # several processes or GPUs: each takes a shard, rank 0 writes one file in input order
  torchrun --standalone --nproc_per_node=2 -m toolkit.cli predict --model runs/bert-conll \\
      --input corpus.txt --output corpus.ner.jsonl

input kinds (--format auto decides by the path):
  text      any other file: one document per line (blank lines are empty documents)
  jsonl     .jsonl/.json: one object per line with --text-field (a string, or a list of tokens);
            a Label Studio tasks file or export: every task's data.<--text-field>, labelled
            or not (so does --format label-studio)
  conll     .conll/.iob/.tsv, or a file starting with -DOCSTART-: token columns, blank line between sentences
  dataset   a save_to_disk folder, or a Hub dataset id (--split, --dataset-config, --dataset-revision)
  brat      a folder of NAME.txt (+ NAME.ann) files: every .txt, annotated or not, NAME as its id
{registry}
output: one JSON object per input record, in input order:
  {"index": 0, "id": "...", "text": "...", "entities": {"first": [
      {"entity_group": "PER", "score": 0.998, "word": "Barack Obama", "start": 0, "end": 12}]}}
  "id" appears when the input has one; "none" gives the pipeline's token-level dicts
  ("entity" with B-/I-, "index"); scores are plain floats, offsets index "text".
  The file is written as OUTPUT.partial and renamed when complete; bad input writes nothing.
  With --to TOOL, OUTPUT is that tool's import file instead (docs/annotations.md): Label Studio
  tasks with scored predictions (one per strategy), doccano {"text", "label"} lines or Prodigy
  {"text", "spans"} lines; offsets as each tool counts them (Python str positions; doccano:
  UTF-16 units, as its editor selects them).
"""


def register(subparsers) -> None:
    from nercore.strategies import names
    from toolkit.data.registry import READERS
    from nercore.backends import table as backend_table
    from toolkit.predict import DEFAULT_STRATEGY
    from toolkit.predict.annotation_tools import TOOLS
    from toolkit.predict.inputs import COVERED, formats  # read when the parser is built: a new reader is a choice

    def how(reader) -> str:
        return "each record's own text" if reader.spans else "tokens joined with spaces"

    others = "".join(f"  {r.kind:<9} {'/'.join(e for e in r.extensions if e)}: {r.help} ({how(r)})\n"
                     for r in READERS if r.kind not in COVERED and r.kind != "brat")  # brat: listed above

    parser = add_command(
        subparsers, "predict", help="run a model over a corpus and write JSON Lines",
        description="Run a token-classification model over a corpus: batched, long texts in overlapping windows, "
        "every chosen aggregation strategy from one forward pass per text, resumable, one JSONL record per input.",
        epilog=EXAMPLES.replace("{registry}", others), func=run_predict,
    )
    parser.add_argument("--model", required=True, help="model folder or Hub id")
    parser.add_argument("--revision", default=None, help="model revision on the Hub")
    parser.add_argument("--input", required=True, help="a text/JSONL/CoNLL file, a brat or save_to_disk folder, or a Hub dataset id")
    parser.add_argument("--output", required=True, help="the JSONL file to write")
    parser.add_argument("--format", default="auto", choices=formats(), help="input kind (default: from the path)")
    parser.add_argument("--strategies", default=DEFAULT_STRATEGY, metavar="LIST",
                        help=f"aggregation strategies: one, a comma-separated list, or all ({', '.join(names())}); "
                        f"default: {DEFAULT_STRATEGY}")
    fields = parser.add_argument_group("JSONL and dataset inputs")
    fields.add_argument("--text-field", default="text", help="field or column holding the text (default: text)")
    fields.add_argument("--tokens-field", default="tokens",
                        help="used when there is no text field: tokens joined with spaces (default: tokens)")
    fields.add_argument("--id-field", default="id", help="field or column copied into each record as id (default: id)")
    fields.add_argument("--document-field", default=None, metavar="NAME",
                        help="JSONL field naming each record's document: records of one document are read together, "
                        "each in its neighbours' context (default: document_id, doc_id, document or doc when present; "
                        "CoNLL input: -DOCSTART-)")
    fields.add_argument("--split", default=None, help="dataset split (needed when there are several)")
    fields.add_argument("--dataset-config", default=None, help="Hub dataset configuration name")
    fields.add_argument("--dataset-revision", default=None, help="Hub dataset revision")
    run = parser.add_argument_group("running")
    run.add_argument("--batch-size", type=int, default=32, help="windows per forward pass (default: 32)")
    run.add_argument("--stride", type=int, default=None, help="window overlap in tokens for long texts (default: a quarter window)")
    run.add_argument("--max-length", type=int, default=None, help="tokens per window (default: the model's limit)")
    run.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"), help="default: auto")
    run.add_argument("--backend", default=backend_table.TORCH, choices=backend_table.names(),
                     help="inference backend (default: torch)")
    run.add_argument("--min-score", type=float, default=None, metavar="S",
                     help="keep only entities scored at least S (0-1), e.g. 0.9 for precision over recall")
    run.add_argument("--resume", action="store_true", help="keep the records already written, verified against the input")
    run.add_argument("--to", default=None, choices=TOOLS, metavar="TOOL",
                     help=f"write OUTPUT as pre-annotations to import into an annotation tool: {', '.join(TOOLS)} "
                     "(default: nerkit's own JSONL)")
    run.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")


def run_predict(args: argparse.Namespace) -> int:
    from toolkit.predict import InputSpec, PredictConfig, predict_corpus
    from toolkit.runtime import is_main_process

    spec = InputSpec(args.input, args.format, args.text_field, args.tokens_field, args.id_field, args.split,
                     args.dataset_config, args.dataset_revision, args.document_field)
    config = PredictConfig(
        args.model, spec, args.output, strategies=args.strategies, batch_size=args.batch_size, stride=args.stride,
        max_length=args.max_length, device=args.device, backend=args.backend, revision=args.revision,
        resume=args.resume, progress=args.progress, min_score=args.min_score,
    )
    if args.to:
        from toolkit.predict.annotation_tools import predict_to_tool

        summary = predict_to_tool(config, args.to)
    else:
        summary = predict_corpus(config)
    if is_main_process():
        print(summary.text())
    return 0
