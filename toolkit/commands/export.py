"""`nerkit export`: write a run folder's model as ONNX (fp32 and int8) for ONNX Runtime and transformers.js."""

from __future__ import annotations

import argparse

from toolkit.commands._parser import add_command

EXAMPLES = """\
examples:
  nerkit export runs/bert-conll
  nerkit export model --no-quantize        # fp32 only (an earlier int8 file is kept)
  nerkit export model --int8-only          # int8 only (the Space's bundled model)
  nerkit export runs/bert-conll --no-quantize --clean   # fp32 only, and remove an earlier int8 file

writes into RUN_DIR/onnx/ (the layout transformers.js and the Hub expect):
  model.onnx              fp32, dynamic batch and sequence axes
  model_quantized.onnx    int8 dynamic quantization of the linear layers and embeddings

Files it does not write are never deleted: with --no-quantize or --int8-only an earlier export's
other file stays (listed in the output); --clean removes it and its eval_results.<backend>.json.

Both are optimized for ONNX Runtime (fused Attention, SkipLayerNormalization, BiasGelu: contrib
ops that onnxruntime, onnxruntime-web and onnxruntime-node run); --no-optimize keeps standard ops.

Both are first checked against the torch model on sample texts; when the fp32 logits differ by
more than 1e-4, or a text's logits alone differ from the same text's in a padded batch (fp32:
beyond 1e-4; int8: at all, as nerkit runs it, one row at a time), nothing is written.
Needs the optional extra: pip install -e ".[onnx]".
Then: `nerkit evaluate --model RUN_DIR --backend onnx-int8 ...` measures the int8 model's F1, and
the Space (NER_BACKEND=auto) runs the ONNX files on CPU.
"""


DESCRIPTION = """\
Export a token-classification model folder to onnx/model.onnx (fp32) and onnx/model_quantized.onnx
(int8), checked against torch before anything is written."""


def register(subparsers) -> None:
    parser = add_command(subparsers, "export", help="export a run folder's model to ONNX (fp32 + int8)",
                         description=DESCRIPTION, epilog=EXAMPLES, func=run_export)
    parser.add_argument("run_dir", metavar="RUN_DIR", help="the run folder (the --output-dir of `nerkit train`) or any model folder")
    parser.add_argument("--no-quantize", dest="quantize", action="store_false", help="write the fp32 file only")
    parser.add_argument("--int8-only", dest="keep_fp32", action="store_false",
                        help="write the int8 file only (fp32 is still exported and checked, then dropped)")
    parser.add_argument("--no-optimize", dest="optimize", action="store_false",
                        help="standard ONNX ops only: skip ONNX Runtime's Attention/LayerNorm/Gelu fusions "
                             "(portable to any ONNX runtime; slower on ONNX Runtime)")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset version (default: 17)")
    parser.add_argument("--clean", action="store_true",
                        help="also remove the ONNX file this export does not write (an earlier export's, e.g. "
                             "model_quantized.onnx under --no-quantize) and its eval_results.<backend>.json; "
                             "by default they are kept and listed")


def run_export(args: argparse.Namespace) -> int:
    from toolkit.export import export_and_report

    print(export_and_report(args.run_dir, opset=args.opset, quantize=args.quantize, keep_fp32=args.keep_fp32,
                              optimize=args.optimize, clean=args.clean))
    return 0
