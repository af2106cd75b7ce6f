"""`nerkit publish` as one function: pre-flight, train, evaluate, card, push.

The Hub is checked before training so a bad token fails in seconds. Under torchrun every process
trains; only rank 0 talks to the Hub, evaluates, writes the card and pushes. Hub is the last stage,
so it may call training, evaluation and the card.

A repo the run created is deleted again when the run stops before its one commit: on an error, on
Ctrl-C, and on SIGTERM or SIGHUP (a CI timeout, `kill`, a closed terminal), which would otherwise end
the process with no Python cleanup at all.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from nercore.errors import UserError
from toolkit.hub.model_folder import plan_model_folder
from toolkit.hub.plan import check_dry_run_dir
from toolkit.hub.push import HubOptions, push_plan
from toolkit.card.context import CardOptions  # the card's one options class, checked when made
from toolkit.runtime import process_rank


def publish_model(config, load_data: Callable[[], object], options: HubOptions, card: CardOptions = CardOptions(),
                  *, evaluate_split: str | None = None, bootstrap: int = 1000, max_eval_sentences: int | None = None,
                  include_onnx: bool = True) -> int:
    """Train `config` on the data `load_data()` returns, evaluate, render the card, push the folder.

    An `onnx/` folder already in the output folder is pushed too unless `include_onnx` is False.
    `evaluate_split` None scores `test`, or `config.eval_split` when the data has no test split; a
    split named explicitly must exist (checked before training).

    The final evaluation scores the first `max_eval_sentences` sentences of the split (all when None)
    with `bootstrap` resamples for the confidence intervals (0: none).
    """
    if bootstrap < 0:
        raise UserError(f"--bootstrap {bootstrap}: expected 0 (no confidence intervals) or a number of resamples, e.g. 1000.")
    if max_eval_sentences is not None and max_eval_sentences < 1:
        raise UserError(f"--max-eval-sentences {max_eval_sentences}: expected a positive number of sentences.")
    if options.dry_run:
        check_dry_run_dir(options.dry_run, output_dir=config.output_dir)
    rank = process_rank()
    session = None
    if rank == 0 and not options.dry_run:  # the token and the namespace first: no local work is wasted on them
        session = options.preflight("model", create=False)

    from toolkit.training import check_output_dir

    data = load_data()  # the local inputs next, before any repo exists: a mistyped --dataset creates nothing
    evaluate_split = _evaluation_split(evaluate_split, config.eval_split, list(data.splits))
    check_output_dir(config)
    _check_base_model(config.model, config.revision)
    try:
        with _signals_raise():  # from the repo's creation on: a stopped run deletes it, as a failed one does
            if session is not None:
                options.create(session)
                print(f"pre-flight ok: {session.user} can push to {options.repo_id}; training now")
            return _train_evaluate_push(config, data, options, card, session, rank, evaluate_split=evaluate_split,
                                        bootstrap=bootstrap, max_eval_sentences=max_eval_sentences,
                                        include_onnx=include_onnx)
    except BaseException as err:
        if session is not None and session.created:
            _remove_empty_repo(session, err)
        raise


def _evaluation_split(asked: str | None, eval_split: str, splits: list[str]) -> str:
    """The split the card reports, decided before training: a mistyped --evaluate-split must not cost a training run."""
    if asked is None:
        if "test" in splits or eval_split not in splits:
            asked = "test"
        else:
            print(f"nerkit publish: the dataset has no 'test' split; the card reports {eval_split!r} (--eval-split)")
            return eval_split
    if asked not in splits:
        raise UserError(f"--evaluate-split {asked}: the dataset has no such split (it has: {', '.join(splits)}). "
                        f"Pass --evaluate-split with one of them.")
    return asked


# Signals that end the process without any Python cleanup unless handled (SIGINT raises KeyboardInterrupt).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """While inside, SIGTERM/SIGHUP raise SystemExit(128 + signal), so `except BaseException` cleans up as
    for an error and the exit status is the one the signal would have given. A signal the process was told
    to ignore (nohup) stays ignored; off the main thread, where handlers cannot be set, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame) -> None:
        raise SystemExit(128 + signum)

    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    for sig, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(sig, stop)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def _check_base_model(model: str, revision: str | None = None) -> None:
    """The base model's config can be read (a local folder, or a Hub id: one small download)."""
    from transformers import AutoConfig

    try:
        AutoConfig.from_pretrained(model, revision=revision)
    except Exception as exc:  # OSError (missing, offline), ValueError (unknown architecture)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"--model {model!r:.120}: its config cannot be read ({first[:300]}). Pass a Hub model id such "
                        "as bert-base-cased or a folder written by save_pretrained.") from None


def _remove_empty_repo(session, err: BaseException) -> None:
    """The run created the repo and stopped before its one commit: delete the empty repo, and say so.

    A repo that already holds more than `.gitattributes` (a signal after the commit landed) is kept."""
    try:
        files = session.api.list_repo_files(session.repo_id, repo_type=session.repo_type)
        if set(files) - {".gitattributes"}:
            print(f"nerkit publish: stopped after the push reached {session.repo_id}; the repo is kept.",
                  file=sys.stderr, flush=True)
            return
        session.api.delete_repo(session.repo_id, repo_type=session.repo_type)
        note = f"nerkit publish: the run failed before pushing, so the empty repo {session.repo_id} it had created was deleted."
    except Exception as exc:  # noqa: BLE001 - the run's own error is the one to raise
        note = (f"nerkit publish: the run failed before pushing and left the empty repo {session.repo_id} it created "
                f"({type(exc).__name__} when deleting it); delete it at "
                f"https://huggingface.co/{session.repo_id}/settings or push to it later with nerkit push.")
    if isinstance(err, UserError) and err.args:
        err.args = (f"{err.args[0]}\n{note}", *err.args[1:])
    else:
        print(note, file=sys.stderr, flush=True)


def _train_evaluate_push(config, data, options, card, session, rank, *, evaluate_split, bootstrap,
                         max_eval_sentences, include_onnx) -> int:
    from toolkit.training import train

    result = train(config, data)
    if rank != 0:
        print(f"nerkit publish: process rank {rank}: training done; rank 0 evaluates and pushes")
        return 0
    output_dir = Path(result.output_dir)
    evaluate_and_card(output_dir, data, evaluate_split, config, options.repo_id, card, bootstrap=bootstrap,
                      max_sentences=max_eval_sentences)
    plan = plan_model_folder(output_dir, repo_id=options.repo_id, include_onnx=include_onnx)
    return push_plan(plan, options, session=session)


def evaluate_and_card(output_dir: Path, data, split: str, config, repo_id: str, card: CardOptions,
                      *, bootstrap: int = 1000, max_sentences: int | None = None) -> Path:
    """Score `split` into the run folder, then render the card (README.md) from it; returns its path.

    A model whose headline score is below the card's floor gets a loud warning here and a line on its card.
    """
    from toolkit.card import render_card
    from toolkit.card.facts import below_floor
    from toolkit.evaluate import EvalConfig, evaluate_model
    from toolkit.evaluate.span_scores import GoldRecords

    raw = getattr(data, "raw", None)  # span data: every strategy on the exported texts, as `nerkit evaluate` scores it
    records = GoldRecords.of(raw.splits[split], max_sentences) if raw is not None and split in raw.splits else None
    results = evaluate_model(EvalConfig(model=str(output_dir), split=split, output_dir=output_dir,
                                        batch_size=config.eval_batch_size, max_length=config.max_length,
                                        max_samples=max_sentences, progress=False, strategies="all",
                                        bootstrap=bootstrap), data, records=records)
    below = below_floor(results)
    if below:
        bar = "!" * 100
        print(f"{bar}\nnerkit publish: WARNING: this model does not work: its {below}. The card says so in its "
              f"first paragraph. Train longer or on more data before anyone uses it.\n{bar}", file=sys.stderr, flush=True)
    return render_card(output_dir, replace(card, repo_id=repo_id))
