"""Engine window length for a model trained with document context: end-to-end F1 over whole
documents, one window length per row, side by side in one run (same model, split, documents).

Each document's sentences, one per line, go through the engine as one text (as a pasted article
reaches the Space) and the spans are matched per sentence (`evaluate_model_strategies`). The
windows overlap by half a window (the rule's overlap for context models). The rule the engine
uses by default, 4N text tokens for a model trained with N per side, is the row `4N`.

    python bench/context_window.py --model RUN_FOLDER --dataset ../shared/data/conll2003
    python bench/context_window.py --model RUN_FOLDER --dataset DATA --windows 64,96,128,512 --split validation
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--model", required=True, help="a model folder trained with --context-tokens")
    parser.add_argument("--dataset", required=True, help="data with documents (CoNLL with -DOCSTART-, ...)")
    parser.add_argument("--split", default="test")
    parser.add_argument("--windows", default="64,96,128,512", help="sub-tokens per window, specials included")
    parser.add_argument("--strategies", default="first,average,word")
    args = parser.parse_args(argv)

    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from nercore.context import model_context
    from toolkit.data import load_raw_splits
    from toolkit.evaluate.strategies import evaluate_model_strategies

    split = load_raw_splits(args.dataset).splits[args.split]
    if split.documents is None:
        sys.exit(f"{args.dataset} {args.split}: no documents; this bench needs data with documents.")
    model = AutoModelForTokenClassification.from_pretrained(args.model).eval()
    setting = model_context(model.config)
    if not setting.enabled:
        sys.exit(f"{args.model} was trained without document context; the window rule does not apply to it.")
    names = args.strategies.split(",")
    print(f"{args.model}: trained with {setting.tokens} sub-tokens per side; rule window {4 * setting.tokens} "
          f"text tokens; {args.split}: {len(split.tokens)} sentences in {len(set(split.documents))} documents")
    print(f"{'window':>8} " + " ".join(f"{n:>9}" for n in names) + "   seconds")
    figures = {}
    for length in [int(w) for w in args.windows.split(",")]:
        began = time.perf_counter()
        scores = evaluate_model_strategies(model, AutoTokenizer.from_pretrained(args.model), split.tokens, split.tags,
                                           strategies=names, max_length=length, documents=split.documents)
        print(f"{length:>8} " + " ".join(f"{100 * scores[n]['f1']:>9.2f}" for n in names)
              + f"   {time.perf_counter() - began:7.0f}", flush=True)
        figures[f"window_{length}"] = {n: round(100 * scores[n]["f1"], 2) for n in names}  # specials included
    from _results import record

    record("context_window", figures, notes=f"{args.model}, {args.split}: F1 (%) by window length, specials included")


if __name__ == "__main__":
    main()
